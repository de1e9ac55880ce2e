"""The audit log (DPA 2018 Part 3 s.62): append a row, search the rows. Nothing here updates or
deletes one, and the database refuses it too (revision 0006's triggers).

A change and its audit row go in one transaction: the store's write functions take an
``AuditEntry`` and append it in their own session (``append``); a read that must be audited (a
person's full record viewed, a search, an export) calls ``record``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from nominal.clock import utcnow
from nominal.store.db import session_scope
from nominal.store.models import AUDIT_ACTIONS, AuditLog, User


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which object, why and from where. ``user_id`` None: the system itself.
    ``detail`` holds ids and counts only, never a name, date of birth or identifier."""

    action: str
    object_type: str
    object_id: str | None = None
    user_id: int | None = None
    person_id: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    session_id: int | None = None
    client_address: str | None = None

    def about(self, **changes: Any) -> AuditEntry:
        """The same entry with some fields set (e.g. the id of the row just created)."""
        return dataclasses.replace(self, **changes)


def append(session: Session, entry: AuditEntry) -> None:
    if entry.action not in AUDIT_ACTIONS:
        raise ValueError(f"audit action {entry.action!r} is not one of {', '.join(AUDIT_ACTIONS)}")
    session.add(
        AuditLog(
            at=utcnow(),
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            user_id=entry.user_id,
            person_id=entry.person_id,
            reason=entry.reason,
            detail=dict(entry.detail),
            session_id=entry.session_id,
            client_address=entry.client_address,
        )
    )


def record(engine: Engine, entry: AuditEntry) -> None:
    """Append one row in a transaction of its own."""
    with session_scope(engine) as session:
        append(session, entry)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    user_id: int | None
    user_name: str | None
    action: str
    object_type: str
    object_id: str | None
    person_id: str | None
    reason: str | None
    detail: dict[str, Any]
    session_id: int | None
    client_address: str | None


def search(
    engine: Engine,
    *,
    user_id: int | None = None,
    person_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """The audit rows that match, newest first; ``before_id`` pages to older rows."""
    query = select(AuditLog, User.name).outerjoin(User, User.id == AuditLog.user_id)
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    if person_id is not None:
        query = query.where(AuditLog.person_id == person_id)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if until is not None:
        query = query.where(AuditLog.at < until)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    query = query.order_by(AuditLog.id.desc()).limit(limit)
    with session_scope(engine) as session:
        return [
            AuditRow(
                row.id,
                row.at,
                row.user_id,
                name,
                row.action,
                row.object_type,
                row.object_id,
                row.person_id,
                row.reason,
                dict(row.detail or {}),
                row.session_id,
                row.client_address,
            )
            for row, name in session.execute(query)
        ]
