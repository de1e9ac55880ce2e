"""Signing in and out, sessions and access tokens, and who a request is.

A browser session is a random secret in an HttpOnly cookie, with a CSRF token for its forms; it ends
after ``triage.session_idle_minutes`` unused or ``triage.session_max_hours`` after sign-in. An access
token (``NOMINAL_USER_TOKEN`` for the CLI or an API client) lasts ``triage.token_days``. The store
keeps only a hash of either secret. Repeated failed sign-ins for a name, or from an address, are
refused for a while (across processes: the attempts are in the store).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from nominal.clock import utcnow
from nominal.config import TriageConfig
from nominal.store import audit
from nominal.store import users as store
from nominal.store.audit import AuditEntry
from nominal.vocab import AuditAction, Role

from .actors import Actor
from .errors import NotSignedIn, TooManyAttempts
from .passwords import verify_password

BROWSER, TOKEN = "browser", "token"


@dataclass(frozen=True)
class SignedIn:
    """A new session: ``secret`` goes to the cookie or NOMINAL_USER_TOKEN and is never stored."""

    actor: Actor
    secret: str
    csrf_token: str | None
    expires_at: datetime


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_name(name: str) -> str:
    return name.strip().lower()[:128]


def sign_in(
    engine: Engine,
    name: str,
    password: str,
    client_address: str | None,
    settings: TriageConfig,
    kind: str = BROWSER,
) -> SignedIn:
    """A session for ``name`` if ``password`` is theirs; NotSignedIn (saying nothing of which was
    wrong) if not; TooManyAttempts after repeated failures."""
    name = normalise_name(name)
    since = utcnow() - timedelta(minutes=settings.sign_in_pause_minutes)
    by_name, by_address = store.failed_attempts(engine, name, client_address, since)
    if by_name >= settings.sign_in_failures or by_address >= settings.sign_in_failures_per_address:
        raise TooManyAttempts(
            f"too many failed sign-ins: try again in {settings.sign_in_pause_minutes} minutes, or ask an admin"
        )
    user = store.user_by_name(engine, name)
    hashed = store.password_hash(engine, user.id) if user is not None else None
    if user is None or not user.active or not verify_password(hashed, password):
        store.record_attempt(engine, name, client_address, succeeded=False)
        refused = AuditEntry(
            AuditAction.SIGN_IN_REFUSED,
            "user",
            None if user is None else str(user.id),
            client_address=client_address,
        )
        audit.record(engine, refused)
        raise NotSignedIn("the name or password is not right, or the account is disabled")
    store.record_attempt(engine, name, client_address, succeeded=True)
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32) if kind == BROWSER else None
    now = utcnow()
    expires = now + (timedelta(days=settings.token_days) if kind == TOKEN else _idle(settings))
    entry = AuditEntry(
        AuditAction.SIGN_IN, "user", str(user.id), user_id=user.id, client_address=client_address, detail={"kind": kind}
    )
    session_id = store.open_session(engine, user.id, kind, token_hash(secret), expires, client_address, csrf, entry)
    actor = Actor(user.id, user.name, user.display_name, Role(user.role), session_id, client_address)
    return SignedIn(actor, secret, csrf, expires)


def _idle(settings: TriageConfig) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    kind: str
    csrf_token: str | None


def authenticate(
    engine: Engine, secret: str | None, client_address: str | None, settings: TriageConfig
) -> Authenticated:
    """Who holds ``secret`` (a session cookie or an access token); NotSignedIn if nobody, or their
    session has ended. A browser session in use is kept alive up to its absolute limit."""
    if not secret:
        raise NotSignedIn("sign in first")
    found = store.session_by_token(engine, token_hash(secret))
    if found is None:
        raise NotSignedIn("your session has ended: sign in again")
    if found.kind == BROWSER:
        started = store.session_started(engine, found.id) or utcnow()
        limit = started + timedelta(hours=settings.session_max_hours)
        store.extend_session(engine, found.id, min(utcnow() + _idle(settings), limit))
    user = found.user
    actor = Actor(user.id, user.name, user.display_name, Role(user.role), found.id, client_address)
    return Authenticated(actor, found.kind, found.csrf_token)


def sign_out(engine: Engine, actor: Actor) -> None:
    if actor.session_id is not None:
        store.close_session(engine, actor.session_id, actor.audit(AuditAction.SIGN_OUT, "user", actor.user_id))


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))
