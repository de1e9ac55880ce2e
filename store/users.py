"""Users, their sessions and tokens, and sign-in attempts: the store's side of who is signed in.

Who may do what is not decided here (``nominal.triage.roles``); these are plain reads and writes,
each in its own transaction, with the audit row of an administrative change written in the same one.
Passwords arrive hashed and tokens as hashes: nothing here ever holds a secret in clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from nominal.clock import utcnow
from nominal.errors import NominalError
from nominal.store.audit import AuditEntry, append
from nominal.store.db import session_scope
from nominal.store.models import SignInAttempt, User, UserSession


class DuplicateUser(NominalError):
    """A user of that name exists already."""


@dataclass(frozen=True)
class UserView:
    """A user as the service sees one (never the password hash)."""

    id: int
    name: str
    display_name: str
    role: str
    active: bool
    can_sign_in: bool
    created_at: datetime
    last_sign_in_at: datetime | None


def _view(user: User) -> UserView:
    return UserView(
        id=user.id,
        name=user.name,
        display_name=user.display_name,
        role=user.role,
        active=user.active,
        can_sign_in=user.password_hash is not None,
        created_at=user.created_at,
        last_sign_in_at=user.last_sign_in_at,
    )


def add_user(
    engine: Engine,
    name: str,
    display_name: str,
    role: str,
    password_hash: str | None,
    audit: AuditEntry,
) -> int:
    """A new active user; DuplicateUser if the name is taken."""
    try:
        with session_scope(engine) as session:
            user = User(
                name=name,
                display_name=display_name,
                role=role,
                password_hash=password_hash,
                active=True,
                created_by_id=audit.user_id,
            )
            session.add(user)
            session.flush()
            append(session, audit.about(object_id=str(user.id)))
            return user.id
    except IntegrityError:
        raise DuplicateUser(f"a user named {name!r} exists already") from None


def change_user(
    engine: Engine,
    user_id: int,
    audit: AuditEntry,
    *,
    role: str | None = None,
    active: bool | None = None,
    password_hash: str | None = None,
) -> None:
    """Set a user's role, active flag or password (whichever are given), with the audit row; a
    disabled user's sessions and tokens end at once."""
    values: dict[str, object] = {}
    if role is not None:
        values["role"] = role
    if active is not None:
        values["active"] = active
    if password_hash is not None:
        values["password_hash"] = password_hash
    with session_scope(engine) as session:
        session.execute(update(User).where(User.id == user_id).values(**values))
        if active is False or password_hash is not None:
            session.execute(
                update(UserSession)
                .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        append(session, audit)


def user(engine: Engine, user_id: int) -> UserView | None:
    with session_scope(engine) as session:
        found = session.get(User, user_id)
        return _view(found) if found else None


def user_by_name(engine: Engine, name: str) -> UserView | None:
    with session_scope(engine) as session:
        found = session.scalars(select(User).where(User.name == name)).first()
        return _view(found) if found else None


def password_hash(engine: Engine, user_id: int) -> str | None:
    with session_scope(engine) as session:
        return session.scalar(select(User.password_hash).where(User.id == user_id))


def users(engine: Engine) -> list[UserView]:
    with session_scope(engine) as session:
        return [_view(u) for u in session.scalars(select(User).order_by(User.name))]


def count_users(engine: Engine, role: str | None = None) -> int:
    """How many users can sign in (active, with a password), of ``role`` if given."""
    query = select(func.count()).select_from(User).where(User.active.is_(True), User.password_hash.is_not(None))
    if role is not None:
        query = query.where(User.role == role)
    with session_scope(engine) as session:
        return int(session.scalar(query) or 0)


# --- sessions and tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionView:
    id: int
    user: UserView
    kind: str
    csrf_token: str | None
    expires_at: datetime
    client_address: str | None


def open_session(
    engine: Engine,
    user_id: int,
    kind: str,
    token_hash: str,
    expires_at: datetime,
    client_address: str | None,
    csrf_token: str | None,
    audit: AuditEntry,
) -> int:
    """A new session or token for a user who has just proved who they are (audited: sign-in)."""
    now = utcnow()
    with session_scope(engine) as session:
        row = UserSession(
            token_hash=token_hash,
            user_id=user_id,
            kind=kind,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
            client_address=client_address,
        )
        session.add(row)
        session.execute(update(User).where(User.id == user_id).values(last_sign_in_at=now))
        session.flush()
        append(session, audit.about(session_id=row.id))
        return row.id


def session_by_token(engine: Engine, token_hash: str) -> SessionView | None:
    """The live session whose token hashes to ``token_hash``: not revoked, not expired, its user active."""
    now = utcnow()
    with session_scope(engine) as session:
        found = session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == token_hash,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
                User.active.is_(True),
            )
        ).first()
        if found is None:
            return None
        row, owner = found
        return SessionView(row.id, _view(owner), row.kind, row.csrf_token, row.expires_at, row.client_address)


def extend_session(engine: Engine, session_id: int, expires_at: datetime) -> None:
    """A browser session in use is kept alive (sliding expiry, never beyond its absolute limit)."""
    with session_scope(engine) as session:
        session.execute(
            update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow(), expires_at=expires_at)
        )


def close_session(engine: Engine, session_id: int, audit: AuditEntry) -> None:
    with session_scope(engine) as session:
        session.execute(update(UserSession).where(UserSession.id == session_id).values(revoked_at=utcnow()))
        append(session, audit)


def session_started(engine: Engine, session_id: int) -> datetime | None:
    with session_scope(engine) as session:
        return session.scalar(select(UserSession.created_at).where(UserSession.id == session_id))


# --- sign-in attempts --------------------------------------------------------------------------


def record_attempt(engine: Engine, name: str, client_address: str | None, succeeded: bool) -> None:
    with session_scope(engine) as session:
        session.add(SignInAttempt(name=name, client_address=client_address, succeeded=succeeded, at=utcnow()))


def failed_attempts(engine: Engine, name: str, client_address: str | None, since: datetime) -> tuple[int, int]:
    """Failed sign-ins since ``since``: (for this name, from this address)."""
    failed = (
        select(func.count())
        .select_from(SignInAttempt)
        .where(SignInAttempt.succeeded.is_(False), SignInAttempt.at >= since)
    )
    with session_scope(engine) as session:
        by_name = session.scalar(failed.where(SignInAttempt.name == name)) or 0
        by_address = session.scalar(failed.where(SignInAttempt.client_address == client_address)) or 0
    return int(by_name), int(by_address)
