"""Managing users (admins): add, disable, change role or password; and the first admin.

The very first user of a store can be added without signing in, and must be an admin (the person
setting nominal up); from then on only an admin adds or changes users, and the last admin who can
sign in cannot be disabled or demoted.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine

from nominal.store import users as store
from nominal.store.audit import AuditEntry
from nominal.store.users import UserView
from nominal.vocab import AuditAction, Role

from .actors import Actor
from .auth import normalise_name
from .errors import AlreadyExists, Forbidden, InvalidInput, NotFound
from .passwords import hash_password
from .roles import Permission

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


def add_user(
    engine: Engine, actor: Actor | None, name: str, display_name: str, role: Role | str, password: str | None
) -> UserView:
    """A new user. ``actor`` None: the store's first user, who must be an admin."""
    name = normalise_name(name)
    if not NAME.match(name):
        raise InvalidInput("a user name is 2 to 63 lower-case letters, digits, dots, hyphens or underscores")
    role = Role(role)
    if actor is None:
        if store.count_users(engine):
            raise Forbidden("only an admin adds users: sign in as one (--user NAME)")
        if role is not Role.ADMIN:
            raise InvalidInput("the first user must be an admin (--role admin)")
        if not password:
            raise InvalidInput("the first admin needs a password")
        audit = AuditEntry(AuditAction.USER_ADMIN, "user", detail={"change": "added", "role": role, "first": True})
    else:
        actor.require(Permission.MANAGE_USERS)
        audit = actor.audit(AuditAction.USER_ADMIN, "user", change="added", role=str(role))
    hashed = hash_password(password) if password else None
    try:
        user_id = store.add_user(engine, name, display_name.strip() or name, role, hashed, audit)
    except store.DuplicateUser as exc:
        raise AlreadyExists(str(exc)) from None
    found = store.user(engine, user_id)
    assert found is not None
    return found


def _target(engine: Engine, name: str) -> UserView:
    found = store.user_by_name(engine, normalise_name(name))
    if found is None:
        raise NotFound(f"no user named {normalise_name(name)!r}")
    return found


def _not_the_last_admin(engine: Engine, user: UserView) -> None:
    if user.role == Role.ADMIN and user.active and user.can_sign_in and store.count_users(engine, Role.ADMIN) <= 1:
        raise Forbidden("this is the last admin who can sign in: make another admin first")


def disable(engine: Engine, actor: Actor, name: str) -> UserView:
    actor.require(Permission.MANAGE_USERS)
    user = _target(engine, name)
    _not_the_last_admin(engine, user)
    audit = actor.audit(AuditAction.USER_ADMIN, "user", user.id, change="disabled")
    store.change_user(engine, user.id, audit, active=False)
    return _target(engine, name)


def enable(engine: Engine, actor: Actor, name: str) -> UserView:
    actor.require(Permission.MANAGE_USERS)
    user = _target(engine, name)
    store.change_user(
        engine, user.id, actor.audit(AuditAction.USER_ADMIN, "user", user.id, change="enabled"), active=True
    )
    return _target(engine, name)


def set_role(engine: Engine, actor: Actor, name: str, role: Role | str) -> UserView:
    actor.require(Permission.MANAGE_USERS)
    user, role = _target(engine, name), Role(role)
    if role is not Role.ADMIN:
        _not_the_last_admin(engine, user)
    audit = actor.audit(AuditAction.USER_ADMIN, "user", user.id, change="role", role=str(role))
    store.change_user(engine, user.id, audit, role=role)
    return _target(engine, name)


def set_password(engine: Engine, actor: Actor, name: str, password: str) -> UserView:
    """An admin sets anyone's password; anyone may change their own. Their sessions end."""
    user = _target(engine, name)
    if user.id != actor.user_id:
        actor.require(Permission.MANAGE_USERS)
    audit = actor.audit(AuditAction.USER_ADMIN, "user", user.id, change="password")
    store.change_user(engine, user.id, audit, password_hash=hash_password(password))
    return _target(engine, name)


def list_users(engine: Engine, actor: Actor) -> list[UserView]:
    actor.require(Permission.MANAGE_USERS)
    return store.users(engine)
