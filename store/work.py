"""The triage service's writes: an exception's workflow, comments, and officers' decisions.

Each function is one transaction that also writes the change's history (``exception_events``) and
its audit row. An exception changes only from the version the officer saw: a change against an
older version raises StaleRow and changes nothing. Who may make a change is decided by the
service (``nominal.triage``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, Engine, select, update
from sqlalchemy.orm import Session

from nominal.clock import utcnow
from nominal.errors import NominalError
from nominal.store.audit import AuditEntry, append
from nominal.store.db import session_scope
from nominal.store.models import (
    DECISION_KINDS,
    EXCEPTION_EVENT_ACTIONS,
    EXCEPTION_STATUSES,
    Comment,
    Decision,
    ExceptionEvent,
    ExceptionRecord,
)


class StaleRow(NominalError):
    """The row changed since it was read (someone else got there first)."""


class _Keep:
    """Leave the column as it is."""


KEEP = _Keep()


@dataclass(frozen=True)
class ExceptionChange:
    """One step in an exception's workflow, made by ``user_id`` from ``version``."""

    exception_id: int
    version: int
    action: str  # EXCEPTION_EVENT_ACTIONS
    user_id: int
    status: str | None = None  # None: unchanged
    assignee_id: int | None | _Keep = KEEP
    resolution: str | None | _Keep = KEEP
    resolved_at: datetime | None | _Keep = KEEP
    note: str | None = None


def change_exception(
    engine: Engine, change: ExceptionChange, audit: AuditEntry, *, withdraw_dismissals: bool = False
) -> int:
    """Apply ``change`` if the exception is still at its version; returns the new version. With
    ``withdraw_dismissals`` (a reopening), officers' dismissals of it stop holding on later nights."""
    with session_scope(engine) as session:
        version = _apply(session, change)
        if withdraw_dismissals:
            fingerprint = select(ExceptionRecord.fingerprint).where(ExceptionRecord.id == change.exception_id)
            session.execute(
                update(Decision)
                .where(
                    Decision.kind == "dismiss",
                    Decision.active.is_(True),
                    Decision.exception_fingerprint == fingerprint.scalar_subquery(),
                )
                .values(
                    active=False,
                    withdrawn_at=utcnow(),
                    withdrawn_by_id=change.user_id,
                    withdrawal_reason=f"exception reopened: {change.note or ''}".strip(),
                )
                .execution_options(synchronize_session=False)
            )
        append(session, audit)
        return version


def _apply(session: Session, change: ExceptionChange) -> int:
    if change.action not in EXCEPTION_EVENT_ACTIONS:
        raise ValueError(f"exception action {change.action!r} is not one of {', '.join(EXCEPTION_EVENT_ACTIONS)}")
    if change.status is not None and change.status not in EXCEPTION_STATUSES:
        raise ValueError(f"exception status {change.status!r} is not one of {', '.join(EXCEPTION_STATUSES)}")
    row = session.get(ExceptionRecord, change.exception_id)
    if row is None:
        raise LookupError(f"no exception {change.exception_id}")
    before_status, before_assignee = row.status, row.assignee_id
    values: dict[str, object] = {"version": change.version + 1}
    if change.status is not None:
        values["status"] = change.status
    for column in ("assignee_id", "resolution", "resolved_at"):
        value = getattr(change, column)
        if not isinstance(value, _Keep):
            values[column] = value
    result = session.execute(
        update(ExceptionRecord)
        .where(ExceptionRecord.id == change.exception_id, ExceptionRecord.version == change.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise StaleRow(
            f"exception {change.exception_id} was changed by someone else since you opened it "
            f"(version {row.version}, not {change.version}): reload it and try again"
        )
    assignee = values.get("assignee_id", before_assignee)
    session.add(
        ExceptionEvent(
            exception_id=change.exception_id,
            at=utcnow(),
            user_id=change.user_id,
            action=change.action,
            from_status=before_status,
            to_status=change.status or before_status,
            assignee_id=assignee if isinstance(assignee, int) else None,
            note=change.note,
        )
    )
    return change.version + 1


def comment(
    engine: Engine,
    user_id: int,
    text: str,
    audit: AuditEntry,
    *,
    exception_id: int | None = None,
    person_id: str | None = None,
) -> int:
    """A comment on an exception (also a step in its history) or on a person; returns its id."""
    if (exception_id is None) == (person_id is None):
        raise ValueError("a comment is on one exception or one person")
    now = utcnow()
    with session_scope(engine) as session:
        row = Comment(exception_id=exception_id, person_id=person_id, user_id=user_id, text=text, at=now)
        session.add(row)
        if exception_id is not None:
            status = session.scalar(select(ExceptionRecord.status).where(ExceptionRecord.id == exception_id))
            if status is None:
                raise LookupError(f"no exception {exception_id}")
            session.add(
                ExceptionEvent(
                    exception_id=exception_id,
                    at=now,
                    user_id=user_id,
                    action="commented",
                    from_status=status,
                    to_status=status,
                    note=text,
                )
            )
        session.flush()
        append(session, audit.about(object_id=str(exception_id or person_id), detail={"comment_id": row.id}))
        return row.id


@dataclass(frozen=True)
class DecisionInput:
    """An officer's decision (``decisions``): link or keep apart two records, accept a record's value
    for its person's golden record, or dismiss an exception."""

    kind: str  # DECISION_KINDS
    feed: str
    source_key: str
    reason: str
    decided_by_id: int
    other_feed: str | None = None
    other_source_key: str | None = None
    exception_fingerprint: str | None = None
    exception_id: int | None = None  # the exception it settles
    field: str | None = None
    value: str | None = None


def decide(engine: Engine, decision: DecisionInput, audit: AuditEntry, settles: ExceptionChange | None = None) -> int:
    """Record a decision, honoured by every later night; with ``settles``, the exception it settles
    moves on in the same transaction (and not at all if it changed meanwhile). Returns its id."""
    d = decision
    if d.kind not in DECISION_KINDS:
        raise ValueError(f"decision kind {d.kind!r} is not one of {', '.join(DECISION_KINDS)}")
    if d.kind in ("link", "do_not_link") and not (d.other_feed and d.other_source_key):
        raise ValueError(f"a {d.kind} decision names two records")
    if d.kind == "accept_value" and not d.field:
        raise ValueError("an accept_value decision names the field")
    if d.kind == "dismiss" and not d.exception_fingerprint:
        raise ValueError("a dismiss decision names the exception")
    with session_scope(engine) as session:
        row = Decision(
            kind=d.kind,
            feed_a=d.feed,
            source_key_a=d.source_key,
            feed_b=d.other_feed,
            source_key_b=d.other_source_key,
            exception_fingerprint=d.exception_fingerprint,
            exception_id=d.exception_id,
            field=d.field,
            value=d.value,
            reason=d.reason,
            decided_by_id=d.decided_by_id,
            decided_at=utcnow(),
        )
        session.add(row)
        session.flush()
        if settles is not None:
            _apply(session, settles)
        append(session, audit.about(object_type="decision", object_id=str(row.id)))
        return row.id


def withdraw(engine: Engine, decision_id: int, user_id: int, reason: str, audit: AuditEntry) -> None:
    """Withdraw a decision: later nights no longer honour it. Its record stays, with who, when, why."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Decision)
            .where(Decision.id == decision_id, Decision.active.is_(True))
            .values(active=False, withdrawn_at=utcnow(), withdrawn_by_id=user_id, withdrawal_reason=reason)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:
            raise StaleRow(f"decision {decision_id} is not in force (withdrawn already, or no such decision)")
        append(session, audit)
