"""Reading the audit log (supervisors and admins); reading it is itself audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from nominal.store import audit
from nominal.store import users as user_store
from nominal.store.audit import AuditRow
from nominal.vocab import AuditAction

from .actors import Actor
from .errors import InvalidInput, NotFound
from .roles import Permission


def search(
    engine: Engine,
    actor: Actor,
    *,
    user: str | None = None,
    person_id: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """Audit rows by user, person and date (``until`` inclusive), newest first."""
    actor.require(Permission.READ_AUDIT)
    user_id = None
    if user:
        found = user_store.user_by_name(engine, user.strip().lower())
        if found is None:
            raise NotFound(f"no user named {user.strip().lower()!r}")
        user_id = found.id
    if action is not None and action not in AuditAction.__members__.values():
        raise InvalidInput(f"action is one of {', '.join(AuditAction)}")
    start = dt.datetime.combine(since, dt.time(), dt.UTC) if since else None
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC) if until else None
    rows = audit.search(
        engine,
        user_id=user_id,
        person_id=person_id,
        since=start,
        until=end,
        action=action,
        before_id=before_id,
        limit=min(max(limit, 1), 1000),
    )
    audit.record(
        engine,
        actor.audit(AuditAction.VIEW_AUDIT, "audit_log", person_id=person_id, user=user_id, results=len(rows)),
    )
    return rows
