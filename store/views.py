"""What the triage service reads: the queue, one exception with its history, a review pair, a
person, search, and the runs. Plain values (dataclasses and dicts) come back; masking and who may
see what are the service's (``nominal.triage``), so every value here is as stored.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, Engine, Text, and_, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from nominal.clock import utcnow
from nominal.store.db import session_scope
from nominal.store.models import (
    Comment,
    Decision,
    ExceptionEvent,
    ExceptionRecord,
    NightExceptionCount,
    NightMatchCount,
    Person,
    PersonEvent,
    PersonLink,
    ReviewPair,
    Run,
    SourceRecord,
    User,
)
from nominal.tables import GOLDEN_FIELDS, SOURCE_FIELDS
from nominal.text import name_anagram, name_sound
from nominal.vocab import OPEN_STATUSES

# --- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """Which exceptions a queue shows. Values only, never personal data (they travel in URLs)."""

    statuses: tuple[str, ...] = tuple(OPEN_STATUSES)
    feed: str | None = None
    kind: str | None = None
    severity: str | None = None
    rule: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    field: str | None = None
    min_age_days: int | None = None  # first seen at least this many days ago
    max_age_days: int | None = None
    person_id: str | None = None

    def conditions(self, now: datetime, without: str | None = None) -> list[ColumnElement[bool]]:
        e = ExceptionRecord
        found: list[ColumnElement[bool]] = []
        if self.statuses:
            found.append(e.status.in_(self.statuses))
        named = (("feed", e.feed), ("kind", e.kind), ("severity", e.severity), ("rule", e.rule), ("field", e.field))
        for name, column in named:
            value = getattr(self, name)
            if value is not None and name != without:
                found.append(column == value)
        if self.assignee_id is not None:
            found.append(e.assignee_id == self.assignee_id)
        if self.unassigned:
            found.append(e.assignee_id.is_(None))
        if self.min_age_days is not None:
            found.append(e.first_seen_at <= now - timedelta(days=self.min_age_days))
        if self.max_age_days is not None:
            found.append(e.first_seen_at > now - timedelta(days=self.max_age_days + 1))
        if self.person_id is not None:
            found.append(e.person_id == self.person_id)
        return found


@dataclass(frozen=True)
class ExceptionRow:
    id: int
    fingerprint: str
    kind: str
    severity: str
    priority: str | None
    rule: str
    feed: str | None
    source_key: str | None
    row: int | None
    person_id: str | None
    field: str | None
    other_feed: str | None
    other_source_key: str | None
    detail: str
    status: str
    assignee_id: int | None
    assignee: str | None  # the assignee's display name
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    version: int

    @property
    def reference(self) -> str:
        """The short reference printed in the night's reports."""
        return self.fingerprint[:12]

    def age_days(self, now: datetime) -> int:
        return max(0, (now.date() - self.first_seen_at.date()).days)


SORTS = ("oldest", "newest")


@dataclass(frozen=True)
class Page:
    rows: list[ExceptionRow]
    next_cursor: str | None  # opaque: pass back as ``after`` for the next page


def _exception_query() -> Any:
    assignee = aliased(User)
    return select(ExceptionRecord, assignee.display_name).outerjoin(
        assignee, assignee.id == ExceptionRecord.assignee_id
    )


def _row(e: ExceptionRecord, assignee: str | None) -> ExceptionRow:
    return ExceptionRow(
        e.id,
        e.fingerprint,
        e.kind,
        e.severity,
        e.priority,
        e.rule,
        e.feed,
        e.source_key,
        e.row,
        e.person_id,
        e.field,
        e.other_feed,
        e.other_source_key,
        e.detail,
        e.status,
        e.assignee_id,
        assignee,
        e.first_seen_at,
        e.last_seen_at,
        e.resolved_at,
        e.resolution,
        e.version,
    )


def _cursor(row: ExceptionRow) -> str:
    raw = f"{row.first_seen_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, id_ = text.partition("|")
        return datetime.fromisoformat(at), int(id_)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("the page cursor is not one this service made") from None


def queue(
    engine: Engine, filters: QueueFilter, *, after: str | None = None, limit: int = 50, sort: str = "oldest"
) -> Page:
    """A page of exceptions, oldest first by default; keyset paging stays fast however deep.

    PostgreSQL walks the (status, first_seen_at, id) index in order for one status, but for several it
    reads and sorts every live exception (about 200 ms at 200,000): so one ordered query per status,
    each of at most a page, merged here."""
    if len(filters.statuses) <= 1:
        return _queue_one_status(engine, filters, after, limit, sort)
    pages = [
        _queue_one_status(engine, replace(filters, statuses=(status,)), after, limit, sort)
        for status in filters.statuses
    ]
    rows = sorted((r for p in pages for r in p.rows), key=lambda r: (r.first_seen_at, r.id), reverse=sort == "newest")
    more = len(rows) > limit or any(p.next_cursor for p in pages)
    rows = rows[:limit]
    return Page(rows, _cursor(rows[-1]) if more and rows else None)


def _queue_one_status(engine: Engine, filters: QueueFilter, after: str | None, limit: int, sort: str) -> Page:
    e = ExceptionRecord
    now = utcnow()
    query = _exception_query().where(*filters.conditions(now))
    newest = sort == "newest"
    if after:
        at, id_ = _uncursor(after)
        key = tuple_(e.first_seen_at, e.id)
        query = query.where(key < tuple_(at, id_) if newest else key > tuple_(at, id_))
    order = (e.first_seen_at.desc(), e.id.desc()) if newest else (e.first_seen_at, e.id)
    query = query.order_by(*order).limit(limit + 1)
    with session_scope(engine) as session:
        rows = [_row(r, name) for r, name in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _cursor(rows[-1]) if more and rows else None)


def queue_counts(engine: Engine, filters: QueueFilter) -> dict[str, int]:
    """How many exceptions of each kind the filter finds (whatever kind it asks for)."""
    query = (
        select(ExceptionRecord.kind, func.count())
        .where(*filters.conditions(utcnow(), without="kind"))
        .group_by(ExceptionRecord.kind)
    )
    with session_scope(engine) as session:
        return {str(kind): int(n) for kind, n in session.execute(query)}


def next_exception(engine: Engine, filters: QueueFilter, user_id: int, skip: Sequence[int] = ()) -> ExceptionRow | None:
    """The next exception for a user: theirs first (assigned or started), then nobody's, oldest first."""
    e = ExceptionRecord
    now = utcnow()
    base = _exception_query().where(*filters.conditions(now))
    if skip:
        base = base.where(e.id.not_in(list(skip)))
    with session_scope(engine) as session:
        for mine in (e.assignee_id == user_id, e.assignee_id.is_(None)):
            found = session.execute(base.where(mine).order_by(e.first_seen_at, e.id).limit(1)).first()
            if found is not None:
                return _row(*found)
    return None


def exception(engine: Engine, exception_id: int) -> ExceptionRow | None:
    with session_scope(engine) as session:
        found = session.execute(_exception_query().where(ExceptionRecord.id == exception_id)).first()
        return _row(*found) if found else None


def data_hash(engine: Engine, exception_id: int) -> str | None:
    """What the exception is about as the night last saw it (a dismissal holds while it is unchanged)."""
    with session_scope(engine) as session:
        return session.scalar(select(ExceptionRecord.data_hash).where(ExceptionRecord.id == exception_id))


def exception_by_reference(engine: Engine, reference: str) -> list[ExceptionRow]:
    """The exceptions whose fingerprint starts with ``reference`` (a report's 12 characters): one, or
    none, or (ambiguous) more."""
    with session_scope(engine) as session:
        query = _exception_query().where(ExceptionRecord.fingerprint.startswith(reference)).limit(2)
        return [_row(r, name) for r, name in session.execute(query)]


@dataclass(frozen=True)
class Event:
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    user: str | None  # display name; None: a night
    run_id: int | None
    assignee: str | None
    note: str | None


@dataclass(frozen=True)
class CommentView:
    id: int
    at: datetime
    user: str
    text: str


@dataclass(frozen=True)
class DecisionView:
    id: int
    kind: str
    feed_a: str
    source_key_a: str
    feed_b: str | None
    source_key_b: str | None
    field: str | None
    value: str | None
    reason: str
    decided_by: str
    decided_by_id: int
    decided_at: datetime
    active: bool
    applied_run_id: int | None
    withdrawn_by: str | None
    withdrawn_at: datetime | None
    withdrawal_reason: str | None
    exception_id: int | None


def history(engine: Engine, exception_id: int) -> list[Event]:
    """Every step of an exception across nights and hands, oldest first."""
    who, assignee = aliased(User), aliased(User)
    query = (
        select(ExceptionEvent, who.display_name, assignee.display_name)
        .outerjoin(who, who.id == ExceptionEvent.user_id)
        .outerjoin(assignee, assignee.id == ExceptionEvent.assignee_id)
        .where(ExceptionEvent.exception_id == exception_id)
        .order_by(ExceptionEvent.at, ExceptionEvent.id)
    )
    with session_scope(engine) as session:
        return [
            Event(e.at, e.action, e.from_status, e.to_status, name, e.run_id, assigned, e.note)
            for e, name, assigned in session.execute(query)
        ]


def comments(engine: Engine, *, exception_id: int | None = None, person_id: str | None = None) -> list[CommentView]:
    query = select(Comment, User.display_name).join(User, User.id == Comment.user_id)
    if exception_id is not None:
        query = query.where(Comment.exception_id == exception_id)
    if person_id is not None:
        query = query.where(Comment.person_id == person_id)
    with session_scope(engine) as session:
        return [
            CommentView(c.id, c.at, name, c.text) for c, name in session.execute(query.order_by(Comment.at, Comment.id))
        ]


def decisions(
    engine: Engine,
    *,
    records: Sequence[tuple[str, str]] = (),
    exception_id: int | None = None,
    decision_id: int | None = None,
) -> list[DecisionView]:
    """Decisions about any of ``records`` (feed, key), or settling ``exception_id``, newest first."""
    by, withdrawn = aliased(User), aliased(User)
    d = Decision
    wanted: list[ColumnElement[bool]] = []
    if records:
        pairs = [tuple_(d.feed_a, d.source_key_a).in_(records), tuple_(d.feed_b, d.source_key_b).in_(records)]
        wanted.append(or_(*pairs))
    if exception_id is not None:
        wanted.append(d.exception_id == exception_id)
    if decision_id is not None:
        wanted.append(d.id == decision_id)
    if not wanted:
        return []
    query = (
        select(d, by.display_name, withdrawn.display_name)
        .join(by, by.id == d.decided_by_id)
        .outerjoin(withdrawn, withdrawn.id == d.withdrawn_by_id)
        .where(or_(*wanted))
        .order_by(d.decided_at.desc(), d.id.desc())
    )
    with session_scope(engine) as session:
        return [
            DecisionView(
                r.id,
                r.kind,
                r.feed_a,
                r.source_key_a,
                r.feed_b,
                r.source_key_b,
                r.field,
                r.value,
                r.reason,
                name,
                r.decided_by_id,
                r.decided_at,
                r.active,
                r.applied_run_id,
                withdrawer,
                r.withdrawn_at,
                r.withdrawal_reason,
                r.exception_id,
            )
            for r, name, withdrawer in session.execute(query)
        ]


# --- records, review pairs and persons -------------------------------------------------------------

# a source record as the service sees it: its key, person, canonical values, row, raw and extra fields
RECORD_FIELDS = ("feed", "source_key", "person_id", *SOURCE_FIELDS, "row", "raw", "extra")


def _record(r: SourceRecord) -> dict[str, Any]:
    return {name: getattr(r, name) for name in RECORD_FIELDS}


def records(engine: Engine, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The source records with these (feed, key), as last published."""
    if not keys:
        return {}
    with session_scope(engine) as session:
        found = session.scalars(
            select(SourceRecord).where(tuple_(SourceRecord.feed, SourceRecord.source_key).in_(keys))
        )
        return {(r.feed, r.source_key): _record(r) for r in found}


def person_records(engine: Engine, person_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each person's current source records, with how each was linked."""
    if not person_ids:
        return {}
    query = (
        select(SourceRecord, PersonLink.linked_by, PersonLink.linked_on, PersonLink.match_probability)
        .join(PersonLink, and_(PersonLink.feed == SourceRecord.feed, PersonLink.source_key == SourceRecord.source_key))
        .where(PersonLink.person_id.in_(list(person_ids)))
        .order_by(SourceRecord.feed, SourceRecord.source_key)
    )
    out: dict[str, list[dict[str, Any]]] = {p: [] for p in person_ids}
    with session_scope(engine) as session:
        for r, linked_by, linked_on, probability in session.execute(query):
            record = _record(r)
            record.update(linked_by=linked_by, linked_on=linked_on, match_probability=probability)
            out.setdefault(r.person_id or "", []).append(record)
    return out


@dataclass(frozen=True)
class ReviewView:
    id: int
    run_id: int
    feed_a: str
    source_key_a: str
    feed_b: str
    source_key_b: str
    person_id_a: str | None
    person_id_b: str | None
    reason: str
    match_probability: float
    match_weight: float
    explanation: str | None
    evidence: list[dict[str, Any]]
    model_version: str | None
    exception_fingerprint: str | None


def review_pair(engine: Engine, fingerprint: str) -> ReviewView | None:
    """Tonight's review pair that the review exception ``fingerprint`` asks about."""
    with session_scope(engine) as session:
        r = session.scalars(select(ReviewPair).where(ReviewPair.exception_fingerprint == fingerprint)).first()
        return None if r is None else _review(r)


def _review(r: ReviewPair) -> ReviewView:
    return ReviewView(
        r.id,
        r.run_id,
        r.feed_a,
        r.source_key_a,
        r.feed_b,
        r.source_key_b,
        r.person_id_a,
        r.person_id_b,
        r.reason,
        r.match_probability,
        r.match_weight,
        r.explanation,
        list(r.evidence or []),
        r.model_version,
        r.exception_fingerprint,
    )


def review_pairs_among(engine: Engine, keys: Sequence[tuple[str, str]]) -> list[ReviewView]:
    """Tonight's review pairs with a record among ``keys`` (for a person's graph of records)."""
    if not keys:
        return []
    with session_scope(engine) as session:
        found = session.scalars(
            select(ReviewPair).where(
                or_(
                    tuple_(ReviewPair.feed_a, ReviewPair.source_key_a).in_(keys),
                    tuple_(ReviewPair.feed_b, ReviewPair.source_key_b).in_(keys),
                )
            )
        )
        return [_review(r) for r in found]


@dataclass(frozen=True)
class PersonEventView:
    at: datetime
    run_id: int
    kind: str
    old_person_ids: list[str]
    new_person_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class PersonView:
    person_id: str
    status: str
    status_reason: str | None
    golden: dict[str, Any]
    lineage: dict[str, Any]
    first_seen_run_id: int
    last_seen_run_id: int
    records: list[dict[str, Any]] = field(default_factory=list)
    events: list[PersonEventView] = field(default_factory=list)


def person(engine: Engine, person_id: str) -> PersonView | None:
    """A person's golden record and lineage, linked records, and merge/split history."""
    with session_scope(engine) as session:
        p = session.get(Person, person_id)
        if p is None:
            return None
        lineage = p.lineage if isinstance(p.lineage, dict) else json.loads(p.lineage or "{}")
        events = _person_events(session, person_id)
        view = PersonView(
            p.person_id,
            p.status,
            p.status_reason,
            {name: getattr(p, name) for name in GOLDEN_FIELDS},
            lineage,
            p.first_seen_run_id,
            p.last_seen_run_id,
            events=events,
        )
    return PersonView(**{**view.__dict__, "records": person_records(engine, [person_id]).get(person_id, [])})


def _person_events(session: Session, person_id: str) -> list[PersonEventView]:
    # a person's ids are kept in a JSON list; their text form contains the quoted id
    mentioned = cast(PersonEvent.old_person_ids, Text).contains(f'"{person_id}"')
    query = (
        select(PersonEvent)
        .where(or_(PersonEvent.new_person_id == person_id, mentioned))
        .order_by(PersonEvent.created_at, PersonEvent.id)
    )
    return [
        PersonEventView(
            e.created_at,
            e.run_id,
            e.kind,
            list(e.old_person_ids or []),
            e.new_person_id,
            e.detail if isinstance(e.detail, dict) else {},
        )
        for e in session.scalars(query)
    ]


def person_exceptions(engine: Engine, person_id: str, limit: int = 200) -> list[ExceptionRow]:
    """The exceptions about a person or any of their records, open ones first, newest first."""
    with session_scope(engine) as session:
        keys = [
            (f, k)
            for f, k in session.execute(
                select(PersonLink.feed, PersonLink.source_key).where(PersonLink.person_id == person_id)
            )
        ]
        about = [ExceptionRecord.person_id == person_id]
        if keys:
            about.append(tuple_(ExceptionRecord.feed, ExceptionRecord.source_key).in_(keys))
        live = ExceptionRecord.status.in_(list(OPEN_STATUSES))
        query = (
            _exception_query()
            .where(or_(*about))
            .order_by(live.desc(), ExceptionRecord.last_seen_at.desc(), ExceptionRecord.id.desc())
            .limit(limit)
        )
        return [_row(r, name) for r, name in session.execute(query)]


# --- search ---------------------------------------------------------------------------------------

IDENTIFIER_COLUMNS = ("pnc_id", "cro_number", "noms_number", "crn", "ni_number")


@dataclass(frozen=True)
class SearchHit:
    person_id: str | None
    feed: str
    source_key: str
    forenames: str | None
    surname: str | None
    date_of_birth: date | None
    matched_on: str  # name, date_of_birth, pnc_id …
    score: float  # 100: exact


def search(
    engine: Engine,
    *,
    surname: str | None = None,
    forenames: str | None = None,
    date_of_birth: date | None = None,
    identifier: str | None = None,
    limit: int = 50,
) -> list[SearchHit]:
    """Source records by name (fuzzy: the surname's sound, ranked by similarity of the whole name),
    date of birth, any identifier, or a combination; best first."""
    r = SourceRecord
    conditions: list[ColumnElement[bool]] = []
    matched_on = []
    if identifier:
        value = identifier.strip().upper()
        conditions.append(
            or_(*(getattr(r, c) == value for c in IDENTIFIER_COLUMNS), r.source_key == identifier.strip())
        )
        matched_on.append("identifier")
    if date_of_birth is not None:
        conditions.append(r.date_of_birth == date_of_birth)
        matched_on.append("date_of_birth")
    sound = name_sound(surname) if surname else None
    if surname:
        if sound is None:
            return []
        # the same sound, or the same letters (a typo that swaps two letters changes the sound)
        conditions.append(or_(r.surname_sound == sound, r.surname_anagram == name_anagram(surname)))
        matched_on.append("name")
    if not conditions:
        return []
    columns = (r.person_id, r.feed, r.source_key, r.forenames, r.surname, r.date_of_birth)
    # enough candidates to rank: a common surname's sound holds thousands of records
    query = select(*columns).where(*conditions).limit(20_000 if surname else limit)
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    if not rows:
        return []
    if surname:
        wanted = f"{surname} {forenames or ''}".strip().upper()
        names = [f"{s or ''} {(f or '') if forenames else ''}".strip() for _, _, _, f, s, _ in rows]
        scores = process.cdist([wanted], names, scorer=fuzz.WRatio)[0]
    else:
        scores = [100.0] * len(rows)
    ranked = sorted(zip(rows, scores), key=lambda item: (-item[1], item[0][1], item[0][2]))[:limit]
    on = "+".join(matched_on)
    return [SearchHit(p, f, k, fn, sn, dob, on, float(score)) for (p, f, k, fn, sn, dob), score in ranked]


# --- runs and the night's figures ------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    id: int
    kind: str
    as_of: date
    status: str
    started_at: datetime
    finished_at: datetime | None
    message: str | None
    counts: dict[str, Any]


def runs(engine: Engine, limit: int = 30, kind: str | None = None) -> list[RunView]:
    query = select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)
    if kind:
        query = query.where(Run.kind == kind)
    with session_scope(engine) as session:
        return [
            RunView(r.id, r.kind, r.as_of, r.status, r.started_at, r.finished_at, r.message, dict(r.counts or {}))
            for r in session.scalars(query)
        ]


def night_exception_counts(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    n = NightExceptionCount
    with session_scope(engine) as session:
        rows = session.scalars(select(n).where(n.run_id == run_id).order_by(n.feed, n.kind, n.severity, n.status))
        return [
            {c: getattr(row, c) for c in ("feed", "kind", "severity", "status", "count", "opened", "closed")}
            for row in rows
        ]


def night_match_counts(engine: Engine, run_id: int) -> dict[str, int] | None:
    with session_scope(engine) as session:
        row = session.get(NightMatchCount, run_id)
        if row is None:
            return None
        return {c.name: getattr(row, c.name) for c in NightMatchCount.__table__.columns if c.name != "run_id"}
