"""The exception queue and the work on one exception: list, show, assign, start, resolve, dismiss,
reopen, comment, accept a value for the golden record.

Every rule is here or in ``roles``/``workflow``; the API, the web pages and the CLI only call these
functions. Viewers see the queue with values masked; showing an exception's records unmasked is
audited, as is every change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from nominal.clock import utcnow
from nominal.masking import mask_identifier
from nominal.store import audit, views, work
from nominal.store import users as user_store
from nominal.store.views import CommentView, DecisionView, Event, ExceptionRow, QueueFilter
from nominal.store.work import DecisionInput, ExceptionChange, StaleRow
from nominal.tables import GOLDEN_FIELDS
from nominal.vocab import (
    OPEN_STATUSES,
    AuditAction,
    DecisionKind,
    ExceptionAction,
    ExceptionKind,
    ExceptionStatus,
    Role,
)

from .actors import Actor
from .errors import Forbidden, InvalidInput, NotAllowedNow, NotFound, StaleVersion
from .masks import mask_record
from .roles import Permission
from .rules import RuleWords
from .workflow import NEEDS, NEEDS_A_NOTE, Action, actions_for, next_status

CASEWORKERS = (Role.OFFICER, Role.SUPERVISOR)
EVENT_OF = {
    Action.ASSIGN: ExceptionAction.ASSIGNED,
    Action.UNASSIGN: ExceptionAction.UNASSIGNED,
    Action.START: ExceptionAction.STARTED,
    Action.RESOLVE: ExceptionAction.RESOLVED,
    Action.DISMISS: ExceptionAction.DISMISSED,
    Action.REOPEN: ExceptionAction.REOPENED,
}


@dataclass(frozen=True)
class ExceptionItem:
    """An exception as a queue or a page shows it: record keys masked, whoever looks."""

    id: int
    reference: str
    kind: str
    severity: str
    priority: str | None
    rule: str
    feed: str | None
    record: str | None  # the record's key, masked
    row: int | None
    person_id: str | None
    field: str | None
    other_feed: str | None
    other_record: str | None
    detail: str
    status: str
    assignee: str | None
    assignee_id: int | None
    first_seen: dt.date
    age_days: int
    last_seen: dt.date
    resolution: str | None
    version: int


def item(row: ExceptionRow, now: dt.datetime | None = None) -> ExceptionItem:
    now = now or utcnow()
    return ExceptionItem(
        id=row.id,
        reference=row.reference,
        kind=row.kind,
        severity=row.severity,
        priority=row.priority,
        rule=row.rule,
        feed=row.feed,
        record=mask_identifier(row.source_key) if row.source_key else None,
        row=row.row,
        person_id=row.person_id,
        field=row.field,
        other_feed=row.other_feed,
        other_record=mask_identifier(row.other_source_key) if row.other_source_key else None,
        detail=row.detail,
        status=row.status,
        assignee=row.assignee,
        assignee_id=row.assignee_id,
        first_seen=row.first_seen_at.date(),
        age_days=row.age_days(now),
        last_seen=row.last_seen_at.date(),
        resolution=row.resolution,
        version=row.version,
    )


def queue_filter(
    engine: Engine,
    actor: Actor,
    *,
    statuses: list[str] | tuple[str, ...] = (),
    feed: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    rule: str | None = None,
    field: str | None = None,
    assignee: str | None = None,
    min_age: int | None = None,
    max_age: int | None = None,
    person_id: str | None = None,
) -> QueueFilter:
    """A queue's filter from what a user asks for: ``assignee`` 'me', 'none' or a user's name;
    no statuses: the live ones (open, assigned, in progress)."""
    wanted = tuple(statuses) or tuple(OPEN_STATUSES)
    unknown = [s for s in wanted if s not in ExceptionStatus.__members__.values()]
    if unknown:
        raise InvalidInput(f"status is one of {', '.join(ExceptionStatus)}")
    if (min_age is not None and min_age < 0) or (max_age is not None and max_age < 0):
        raise InvalidInput("an age is a number of days, 0 or more")
    assignee_id = None
    if assignee == "me":
        assignee_id = actor.user_id
    elif assignee not in (None, "", "none"):
        found = user_store.user_by_name(engine, assignee.strip().lower())
        assignee_id = found.id if found else -1  # nobody of that name: nothing is assigned to them
    return QueueFilter(
        statuses=wanted,
        feed=feed or None,
        kind=kind or None,
        severity=severity or None,
        rule=rule or None,
        field=field or None,
        assignee_id=assignee_id,
        unassigned=assignee == "none",
        min_age_days=min_age,
        max_age_days=max_age,
        person_id=person_id or None,
    )


@dataclass(frozen=True)
class QueuePage:
    items: list[ExceptionItem]
    next_cursor: str | None
    counts: dict[str, int]  # by kind, for the filter in use (whatever kind it asks for)


def queue(
    engine: Engine,
    actor: Actor,
    filters: QueueFilter,
    *,
    after: str | None = None,
    limit: int = 50,
    sort: str = "oldest",
) -> QueuePage:
    actor.require(Permission.VIEW_QUEUE)
    if sort not in views.SORTS:
        raise InvalidInput(f"sort is one of {', '.join(views.SORTS)}")
    if not 1 <= limit <= 500:
        raise InvalidInput("a page holds 1 to 500 exceptions")
    try:
        page = views.queue(engine, filters, after=after, limit=limit, sort=sort)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    now = utcnow()
    return QueuePage([item(r, now) for r in page.rows], page.next_cursor, views.queue_counts(engine, filters))


@dataclass(frozen=True)
class ExceptionDetail:
    item: ExceptionItem
    rule_text: str
    records: list[dict[str, Any]]  # the record(s) involved, masked unless the actor may see records
    masked: bool
    history: list[Event]
    comments: list[CommentView]
    decisions: list[DecisionView]
    actions: list[str]  # what this actor may do to it now
    golden_fields: list[str] = field(default_factory=list)  # fields whose value the record may be accepted for


def _row(engine: Engine, exception_id: int) -> ExceptionRow:
    row = views.exception(engine, exception_id)
    if row is None:
        raise NotFound(f"no exception {exception_id}")
    return row


def _keys(row: ExceptionRow) -> list[tuple[str, str]]:
    keys = [(row.feed, row.source_key), (row.other_feed, row.other_source_key)]
    return [(f, k) for f, k in keys if f and k]


def show(engine: Engine, actor: Actor, exception_id: int, words: RuleWords) -> ExceptionDetail:
    """One exception with its records, history, comments and decisions, and the actions open to the actor."""
    actor.require(Permission.VIEW_QUEUE)
    row = _row(engine, exception_id)
    keys = _keys(row)
    found = views.records(engine, keys)
    records = [found[k] for k in keys if k in found]
    unmasked = actor.may(Permission.VIEW_RECORDS)
    if records and unmasked:
        view = actor.audit(AuditAction.VIEW_EXCEPTION, "exception", row.id, person_id=row.person_id)
        audit.record(engine, view)
    golden = [row.field] if row.kind == ExceptionKind.CONFLICT and row.field in GOLDEN_FIELDS else []
    return ExceptionDetail(
        item=item(row),
        rule_text=words.describe(row.kind, row.rule, row.field),
        records=records if unmasked else [mask_record(r) for r in records],
        masked=not unmasked,
        history=views.history(engine, row.id),
        comments=views.comments(engine, exception_id=row.id),
        decisions=views.decisions(engine, exception_id=row.id),
        actions=available_actions(actor, row),
        golden_fields=golden if unmasked else [],
    )


def available_actions(actor: Actor, row: ExceptionRow) -> list[str]:
    """The actions the actor may take on ``row`` as it is (what a page shows as buttons)."""
    out = []
    out = [
        str(action)
        for action in actions_for(row.status)
        if actor.may(NEEDS[action]) and not _someone_elses(actor, row, action)
    ]
    live = row.status in OPEN_STATUSES and actor.may(Permission.DECIDE)
    if live and row.kind == ExceptionKind.CONFLICT and row.field in GOLDEN_FIELDS:
        out.append("accept_value")
    if live and row.kind == ExceptionKind.MATCH_REVIEW:
        out += ["link", "do_not_link"]
    return out


def _someone_elses(actor: Actor, row: ExceptionRow, action: Action) -> bool:
    """Whether ``row`` is assigned to someone else and ``action`` would take it from them without
    the right to (only a supervisor starts, resolves or dismisses another's work)."""
    theirs = row.assignee_id not in (None, actor.user_id)
    taking = action in (Action.START, Action.RESOLVE, Action.DISMISS, Action.UNASSIGN)
    return theirs and taking and not actor.may(Permission.ASSIGN_ANYONE)


def act(
    engine: Engine,
    actor: Actor,
    exception_id: int,
    version: int,
    action: Action | str,
    note: str | None = None,
    assignee: str | None = None,
) -> ExceptionItem:
    """Take ``action`` on the exception, from the ``version`` the actor saw."""
    action = Action(action)
    row = _row(engine, exception_id)
    note = (note or "").strip() or None
    if action is Action.COMMENT:
        comment(engine, actor, exception_id, note or "")
        return item(_row(engine, exception_id))
    actor.require(NEEDS[action])
    if action in NEEDS_A_NOTE and not note:
        raise InvalidInput(f"say why you {action} it (a note is needed)")
    status = next_status(action, row.status)
    if row.version != version:
        raise StaleVersion(
            f"exception {row.reference} was changed by someone else since you opened it: reload it and try again"
        )
    if _someone_elses(actor, row, action):
        raise Forbidden(f"it is assigned to {row.assignee}: ask them or a supervisor")
    change = _change(engine, actor, row, action, status, note, assignee)
    entry = actor.audit(
        AuditAction.CHANGE_STATUS,
        "exception",
        row.id,
        person_id=row.person_id,
        reason=note,
        step=str(action),
        from_status=row.status,
        to_status=str(status),
    )
    try:
        if action is Action.DISMISS:
            dismissal = DecisionInput(
                kind=DecisionKind.DISMISS,
                feed=row.feed or "",
                source_key=row.source_key or "",
                reason=note or "",
                decided_by_id=actor.user_id,
                exception_fingerprint=row.fingerprint,
                exception_id=row.id,
                value=_data_hash(engine, row),
            )
            work.decide(engine, dismissal, entry, settles=change)
        else:
            work.change_exception(engine, change, entry, withdraw_dismissals=action is Action.REOPEN)
    except StaleRow as exc:
        raise StaleVersion(str(exc)) from None
    return item(_row(engine, exception_id))


def _data_hash(engine: Engine, row: ExceptionRow) -> str:
    return views.data_hash(engine, row.id) or ""


def _change(
    engine: Engine,
    actor: Actor,
    row: ExceptionRow,
    action: Action,
    status: ExceptionStatus,
    note: str | None,
    assignee: str | None,
) -> ExceptionChange:
    now = utcnow()
    base = ExceptionChange(row.id, row.version, EVENT_OF[action], actor.user_id, status=status, note=note)
    if action is Action.ASSIGN:
        return replace(base, assignee_id=_assignee(engine, actor, assignee))
    if action is Action.UNASSIGN:
        return replace(base, assignee_id=None)
    if action is Action.START:
        return replace(base, assignee_id=row.assignee_id or actor.user_id)
    if action in (Action.RESOLVE, Action.DISMISS):
        return replace(base, assignee_id=row.assignee_id or actor.user_id, resolution=note, resolved_at=now)
    if action is Action.REOPEN:
        return replace(base, resolution=None, resolved_at=None)
    raise NotAllowedNow(f"{action} is not a change of status")


def _assignee(engine: Engine, actor: Actor, name: str | None) -> int:
    """The user an exception is assigned to: oneself, or (supervisors) any active officer or supervisor."""
    if not name or name.strip().lower() in (actor.name, "me"):
        if actor.role not in CASEWORKERS:
            raise Forbidden(f"a {actor.role} does not take casework")
        return actor.user_id
    actor.require(Permission.ASSIGN_ANYONE)
    target = user_store.user_by_name(engine, name.strip().lower())
    if target is None or not target.active:
        raise NotFound(f"no active user named {name.strip().lower()!r}")
    if target.role not in CASEWORKERS:
        raise InvalidInput(f"{target.name} is a {target.role}: only officers and supervisors take casework")
    return target.id


@dataclass(frozen=True)
class Outcome:
    """One exception's result in an action on several."""

    id: int
    ok: bool
    message: str | None = None


def act_on_many(
    engine: Engine,
    actor: Actor,
    items: list[tuple[int, int]],
    action: Action | str,
    note: str | None = None,
    assignee: str | None = None,
) -> list[Outcome]:
    """The same action on several exceptions (id, version): each succeeds or fails on its own."""
    if len(items) > 500:
        raise InvalidInput("at most 500 exceptions at a time")
    out = []
    for exception_id, version in items:
        try:
            act(engine, actor, exception_id, version, action, note, assignee)
            out.append(Outcome(exception_id, True))
        except (Forbidden, NotFound, NotAllowedNow, StaleVersion, InvalidInput) as exc:
            out.append(Outcome(exception_id, False, str(exc)))
    return out


def comment(engine: Engine, actor: Actor, exception_id: int, text: str) -> int:
    actor.require(Permission.WORK)
    text = text.strip()
    if not text:
        raise InvalidInput("a comment needs some words")
    row = _row(engine, exception_id)
    entry = actor.audit(AuditAction.COMMENT, "exception", row.id, person_id=row.person_id)
    return work.comment(engine, actor.user_id, text, entry, exception_id=row.id)


def accept_value(engine: Engine, actor: Actor, exception_id: int, version: int, reason: str) -> ExceptionItem:
    """Publish this conflict's record's value of its field for the person, whatever survivorship says;
    the conflict is resolved, and later nights keep the value while the record holds it."""
    actor.require(Permission.DECIDE)
    row = _row(engine, exception_id)
    if row.kind != ExceptionKind.CONFLICT or row.field not in GOLDEN_FIELDS or not (row.feed and row.source_key):
        raise NotAllowedNow("only a conflict over a golden field has a value to accept")
    if not reason.strip():
        raise InvalidInput("say why this value is the right one")
    record = views.records(engine, [(row.feed, row.source_key)]).get((row.feed, row.source_key))
    if record is None:
        raise NotFound("the record is no longer delivered")
    value = record.get(row.field)
    text = value.isoformat()[:10] if isinstance(value, dt.date) else (None if value is None else str(value))
    decision = DecisionInput(
        kind=DecisionKind.ACCEPT_VALUE,
        feed=row.feed,
        source_key=row.source_key,
        reason=reason.strip(),
        decided_by_id=actor.user_id,
        exception_id=row.id,
        field=row.field,
        value=text,
    )
    settles = settle(actor, row, version, f"value accepted: {reason.strip()}")
    entry = actor.audit(
        AuditAction.DECIDE, "exception", row.id, person_id=row.person_id, reason=reason, kind="accept_value"
    )
    try:
        work.decide(engine, decision, entry, settles=settles)
    except StaleRow as exc:
        raise StaleVersion(str(exc)) from None
    return item(_row(engine, exception_id))


def settle(actor: Actor, row: ExceptionRow, version: int, resolution: str) -> ExceptionChange:
    """The step that resolves an exception a decision settles."""
    if row.status not in OPEN_STATUSES:
        raise NotAllowedNow(f"exception {row.reference} is {row.status} already")
    if row.version != version:
        raise StaleVersion(f"exception {row.reference} was changed by someone else since you opened it: reload it")
    return ExceptionChange(
        exception_id=row.id,
        version=version,
        action=ExceptionAction.RESOLVED,
        user_id=actor.user_id,
        status=ExceptionStatus.RESOLVED,
        assignee_id=row.assignee_id or actor.user_id,
        resolution=resolution,
        resolved_at=utcnow(),
        note=resolution,
    )


def next_for(engine: Engine, actor: Actor, filters: QueueFilter, skip: list[int] | None = None) -> ExceptionItem | None:
    """The next exception for the actor: theirs first, then nobody's, oldest first."""
    actor.require(Permission.WORK)
    found = views.next_exception(engine, filters, actor.user_id, skip or [])
    return item(found) if found else None
