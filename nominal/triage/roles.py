"""Who may do what: the roles, the permissions, and the one table that joins them.

Every action of the triage service asks ``require(actor, Permission.X)`` first; the JSON API, the
web pages and the CLI never decide this themselves. Deny by default: a permission no role lists is
held by nobody.
"""

from __future__ import annotations

from enum import StrEnum

from nominal.vocab import Role

from .errors import Forbidden


class Permission(StrEnum):
    VIEW_QUEUE = "view_queue"  # the queue and dashboards, values masked
    VIEW_RECORDS = "view_records"  # full (unmasked) records, persons and review pairs
    SEARCH = "search"  # search people by name, date of birth or identifier
    WORK = "work"  # start, resolve, dismiss, comment, accept a value
    DECIDE = "decide"  # link / do-not-link two records; withdraw one's own decision
    ASSIGN_SELF = "assign_self"
    ASSIGN_ANYONE = "assign_anyone"
    REOPEN = "reopen"
    WITHDRAW_ANY = "withdraw_any"  # withdraw another officer's decision
    READ_AUDIT = "read_audit"
    MANAGE_USERS = "manage_users"
    EXPORT = "export"  # download a masked CSV or a night's report


_OFFICER = {
    Permission.VIEW_QUEUE,
    Permission.VIEW_RECORDS,
    Permission.SEARCH,
    Permission.WORK,
    Permission.DECIDE,
    Permission.ASSIGN_SELF,
    Permission.EXPORT,
}
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW_QUEUE, Permission.EXPORT}),
    Role.OFFICER: frozenset(_OFFICER),
    Role.SUPERVISOR: frozenset(
        _OFFICER | {Permission.ASSIGN_ANYONE, Permission.REOPEN, Permission.WITHDRAW_ANY, Permission.READ_AUDIT}
    ),
    Role.ADMIN: frozenset({Permission.VIEW_QUEUE, Permission.READ_AUDIT, Permission.MANAGE_USERS}),
}


def allowed(role: Role | str, permission: Permission) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def require(role: Role | str, permission: Permission) -> None:
    """Nothing if ``role`` holds ``permission``; Forbidden naming what is missing if not."""
    if not allowed(role, permission):
        raise Forbidden(f"a {role} may not {permission.replace('_', ' ')}")
