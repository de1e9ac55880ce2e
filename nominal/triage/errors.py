"""What the triage service refuses, each mapped to one HTTP status by the API and to one exit code
by the CLI. Messages name what was refused and why, never a person's data."""

from __future__ import annotations

from nominal.errors import NominalError


class TriageError(NominalError):
    """Base of the service's refusals."""

    status_code = 400


class NotSignedIn(TriageError):
    """No valid session or token: sign in (again)."""

    status_code = 401


class Forbidden(TriageError):
    """The user's role does not allow the action."""

    status_code = 403


class NotFound(TriageError):
    status_code = 404


class StaleVersion(TriageError):
    """Someone else changed the item since it was read: reload it and try again."""

    status_code = 409


class AlreadyExists(TriageError):
    """Something of that name exists already (a user)."""

    status_code = 409


class NotAllowedNow(TriageError):
    """The action does not apply to the item as it is (e.g. resolving an exception already resolved)."""

    status_code = 409


class TooManyAttempts(TriageError):
    """Sign-in refused for a while after repeated failures."""

    status_code = 429


class InvalidInput(TriageError):
    status_code = 422
