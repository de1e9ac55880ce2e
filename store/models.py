"""The store's schema: one class per table, names fixed by the architecture (other tools read them).

Portable on purpose, so the same models run on SQLite and PostgreSQL:
- Enumerations are plain strings with their allowed values in ``nominal.vocab`` (``RUN_KINDS`` …), not
  CHECK constraints or database enums, so that adding a value needs no migration.
  ``store.writes`` checks values on the way in.
- JSON columns use ``sqlalchemy.JSON``. Assign a new value to change one; in-place mutation of
  the loaded dict or list is not tracked.
- Timestamps are timezone-aware UTC on the way in and out (``UTCDateTime``).

Changing this module means a new Alembic revision in ``store/migrations/versions`` (docs/store.md);
tests/test_store.py fails while the models and the migrations differ.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from nominal.clock import utcnow
from nominal.vocab import (
    AuditAction,
    DecisionKind,
    DeliveryStatus,
    ExceptionAction,
    ExceptionKind,
    ExceptionStatus,
    LinkedBy,
    PersonEventKind,
    PersonStatus,
    Priority,
    Role,
    RunKind,
    RunStatus,
    Severity,
)

# The closed vocabularies (nominal.vocab) as the tuples of text the store accepts.
RUN_KINDS = tuple(RunKind)
RUN_STATUSES = tuple(RunStatus)
DELIVERY_STATUSES = tuple(DeliveryStatus)
PERSON_STATUSES = tuple(PersonStatus)
LINKED_BY = tuple(LinkedBy)
PERSON_EVENT_KINDS = tuple(PersonEventKind)
EXCEPTION_KINDS = tuple(ExceptionKind)
SEVERITIES = tuple(Severity)
EXCEPTION_STATUSES = tuple(ExceptionStatus)
EXCEPTION_PRIORITIES = tuple(Priority)
DECISION_KINDS = tuple(DecisionKind)
ROLES = tuple(Role)
SESSION_KINDS = ("browser", "token")
EXCEPTION_EVENT_ACTIONS = tuple(ExceptionAction)
AUDIT_ACTIONS = tuple(AuditAction)

# Constraint names are spelled out by convention, so that migrations can name what they alter
# and both backends carry the same names.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths are generous: SQLite ignores them but PostgreSQL enforces them.
FEED = 64
FIELD = 64  # a canonical field name
KEY = 128
PERSON_ID = 16
IDENTIFIER = 16
CODE = 32
HASH = 64  # sha256 as hex
NAME = 128


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is aware UTC in Python on both backends.

    SQLite keeps no zone, so values are converted to UTC before they are written and read back
    as UTC. A naive datetime is refused: it is almost always local time by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} for the store: use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model here is mapped to one Table (none to a join or a select): said for the type checker,
    # as DeclarativeBase declares __table__ as any FromClause.
    __table__: ClassVar[Table]


class Run(Base):
    """One run of a stage or of the whole nightly sync."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_as_of_kind", "as_of", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(CODE))  # RUN_KINDS
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(CODE), default="running")  # RUN_STATUSES
    feeds: Mapped[list[str]] = mapped_column(JSON, default=list)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)  # masked text only
    host: Mapped[str | None] = mapped_column(String(255))


class Delivery(Base):
    """One extract offered by a feed, and what ingest did with it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_feed_sha256", "feed", "sha256"),
        Index("ix_deliveries_feed_as_of", "feed", "as_of"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    feed: Mapped[str] = mapped_column(String(FEED))
    as_of: Mapped[date] = mapped_column(Date)
    # NULL when a delivery was rejected before its file could be found or read
    source: Mapped[str | None] = mapped_column(String(512))  # file name, table or URL
    sha256: Mapped[str | None] = mapped_column(String(HASH))
    rows: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(CODE))  # DELIVERY_STATUSES
    archive_path: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(Text)  # masked text only
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the source's column names in order, to report schema drift between deliveries (revision 0002)
    columns: Mapped[list[str] | None] = mapped_column(JSON)


class Person(Base):
    """One reconciled person: the golden record, with the lineage of every field."""

    __tablename__ = "persons"
    __table_args__ = (Index("ix_persons_surname_date_of_birth", "surname", "date_of_birth"),)

    person_id: Mapped[str] = mapped_column(String(PERSON_ID), primary_key=True)  # P + 9 digits
    status: Mapped[str] = mapped_column(String(CODE), default="active", index=True)  # PERSON_STATUSES
    status_reason: Mapped[str | None] = mapped_column(Text)
    forenames: Mapped[str | None] = mapped_column(String(200))
    surname: Mapped[str | None] = mapped_column(String(NAME))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))
    pnc_id: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    cro_number: Mapped[str | None] = mapped_column(String(IDENTIFIER))
    noms_number: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    crn: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    ni_number: Mapped[str | None] = mapped_column(String(IDENTIFIER))
    postcode: Mapped[str | None] = mapped_column(String(IDENTIFIER))
    address: Mapped[str | None] = mapped_column(Text)
    mappa_category: Mapped[int | None] = mapped_column(SmallInteger)
    mappa_level: Mapped[int | None] = mapped_column(SmallInteger)
    risk_level: Mapped[str | None] = mapped_column(String(CODE))
    custody_status: Mapped[str | None] = mapped_column(String(CODE))
    # revision 0003: the agencies' other statuses that the golden record and the discrepancy rules use
    supervision_status: Mapped[str | None] = mapped_column(String(CODE))
    registration_type: Mapped[str | None] = mapped_column(String(CODE))
    registration_start: Mapped[date | None] = mapped_column(Date)
    notification_due: Mapped[date | None] = mapped_column(Date)
    release_date: Mapped[date | None] = mapped_column(Date)
    # field -> [feed, source_key, extract_date, run_id] (revision 0003: a list, compact for millions of persons)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # a fingerprint of the published values, so a night rewrites only the persons that changed
    content_hash: Mapped[str | None] = mapped_column(String(HASH))
    first_seen_run_id: Mapped[int] = mapped_column(Integer)
    last_seen_run_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PersonLink(Base):
    """Which person a source record belongs to; every current source record has exactly one."""

    __tablename__ = "person_links"

    feed: Mapped[str] = mapped_column(String(FEED), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    match_probability: Mapped[float | None] = mapped_column(Float)
    linked_by: Mapped[str] = mapped_column(String(CODE))  # LINKED_BY
    linked_on: Mapped[str | None] = mapped_column(String(FIELD))  # the identifier field when linked_by is identifier
    # the source record's content as last published (publish.publication.record_content_hashes)
    record_hash: Mapped[int | None] = mapped_column(BigInteger)
    run_id: Mapped[int] = mapped_column(Integer)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonEvent(Base):
    """A change to the set of persons: created, merged, split or retired."""

    __tablename__ = "person_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(CODE))  # PERSON_EVENT_KINDS
    old_person_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    new_person_id: Mapped[str | None] = mapped_column(String(PERSON_ID), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExceptionRecord(Base):
    """Work for data officers; the same problem on consecutive nights is one row (fingerprint).

    The night writes what it finds (found again, last seen, row, detail, data hash) and resolves or
    reopens by the data; officers own the workflow columns (status, assignee, resolution) through the
    triage service, and every change of either is an ``exception_events`` row. ``version`` goes up
    with every status or assignee change, so a change made against an older version is refused.
    """

    __tablename__ = "exceptions"
    __table_args__ = (
        Index("ix_exceptions_status_severity", "status", "severity"),
        Index("ix_exceptions_feed_source_key", "feed", "source_key"),
        # the queue: live statuses, oldest first, filtered by kind, feed or assignee, pages by id (revision 0006)
        Index("ix_exceptions_status_first_seen_at_id", "status", "first_seen_at", "id"),
        Index("ix_exceptions_kind_status_first_seen_at", "kind", "status", "first_seen_at"),
        Index("ix_exceptions_feed_status_first_seen_at", "feed", "status", "first_seen_at"),
        Index("ix_exceptions_assignee_id_status", "assignee_id", "status"),
        Index("ix_exceptions_rule_status", "rule", "status"),
        Index("ix_exceptions_other_feed_other_source_key", "other_feed", "other_source_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(HASH), unique=True)
    kind: Mapped[str] = mapped_column(String(CODE))  # EXCEPTION_KINDS
    severity: Mapped[str] = mapped_column(String(CODE))  # SEVERITIES
    rule: Mapped[str] = mapped_column(String(KEY))
    feed: Mapped[str | None] = mapped_column(String(FEED))
    source_key: Mapped[str | None] = mapped_column(String(KEY))
    person_id: Mapped[str | None] = mapped_column(String(PERSON_ID), index=True)
    field: Mapped[str | None] = mapped_column(String(FIELD))
    detail: Mapped[str] = mapped_column(Text)  # masked text only
    status: Mapped[str] = mapped_column(String(CODE), default="open")  # EXCEPTION_STATUSES
    # revision 0003: where in the delivery, how urgent, and the other record of a pair or a disagreement
    row: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[str | None] = mapped_column(String(CODE))  # EXCEPTION_PRIORITIES
    other_feed: Mapped[str | None] = mapped_column(String(FEED))
    other_source_key: Mapped[str | None] = mapped_column(String(KEY))
    data_hash: Mapped[str | None] = mapped_column(String(HASH))
    first_seen_run_id: Mapped[int] = mapped_column(Integer)
    last_seen_run_id: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    # revision 0006: the officer it is assigned to (a user, never free text) and the row's version
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ExceptionEvent(Base):
    """One step in an exception's history, by an officer (``user_id``) or by a night (``run_id``):
    opened, assigned, started, resolved, dismissed, reopened, resolved by source (revision 0006)."""

    __tablename__ = "exception_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exception_id: Mapped[int] = mapped_column(ForeignKey("exceptions.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    run_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(CODE))  # EXCEPTION_EVENT_ACTIONS
    from_status: Mapped[str | None] = mapped_column(String(CODE))
    to_status: Mapped[str | None] = mapped_column(String(CODE))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)  # an officer's words; masked text from a night


class Comment(Base):
    """An officer's note on an exception or on a person (revision 0006)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(String(PERSON_ID), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class Decision(Base):
    """An officer's decision, read back by matching and publish on every later run until withdrawn."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_feed_a_source_key_a", "feed_a", "source_key_a"),
        Index("ix_decisions_feed_b_source_key_b", "feed_b", "source_key_b"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(CODE))  # DECISION_KINDS
    feed_a: Mapped[str] = mapped_column(String(FEED))
    source_key_a: Mapped[str] = mapped_column(String(KEY))
    feed_b: Mapped[str | None] = mapped_column(String(FEED))
    source_key_b: Mapped[str | None] = mapped_column(String(KEY))
    exception_fingerprint: Mapped[str | None] = mapped_column(String(HASH), index=True)
    field: Mapped[str | None] = mapped_column(String(FIELD))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # revision 0006: who decided (a user), the review exception it settles, the run that first
    # applied it, and its withdrawal (by whom, when, why)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"))
    applied_run_id: Mapped[int | None] = mapped_column(Integer)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class QualityMetric(Base):
    """Completeness and validity per run, feed and field (field NULL: the feed as a whole)."""

    __tablename__ = "quality_metrics"
    __table_args__ = (Index("ix_quality_metrics_feed_field", "feed", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    feed: Mapped[str] = mapped_column(String(FEED))
    field: Mapped[str | None] = mapped_column(String(FIELD))
    completeness_rate: Mapped[float | None] = mapped_column(Float)
    validity_rate: Mapped[float | None] = mapped_column(Float)
    rows_checked: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # feed-level rows (field NULL), revision 0002
    rows: Mapped[int | None] = mapped_column(Integer)
    error_rate: Mapped[float | None] = mapped_column(Float)
    gate_passed: Mapped[bool | None] = mapped_column(Boolean)


class AuditLog(Base):
    """Who read or changed what, when, why and from where (DPA 2018 Part 3 s.62 logging).

    Append-only: nominal never updates or deletes a row, and from revision 0006 a trigger refuses
    UPDATE and DELETE on both backends. ``user_id`` is NULL for the system's own acts (collection by
    ingest, alteration by publish, combination by matching, erasure). No personal data goes in:
    objects are named by id (person id, exception id, run id), never by a name or identifier.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object_type_object_id", "object_type", "object_id"),
        Index("ix_audit_log_user_id_at", "user_id", "at"),
        Index("ix_audit_log_person_id_at", "person_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64))  # AUDIT_ACTIONS
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(KEY))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # revision 0006: who (a user; NULL: the system), the person concerned, why, and from where
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    person_id: Mapped[str | None] = mapped_column(String(PERSON_ID))
    reason: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[int | None] = mapped_column(Integer)
    client_address: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    """Someone who signs in to triage: an officer, supervisor, viewer or admin (revision 0006).

    ``password_hash`` is argon2; NULL for an account that cannot sign in (a name carried over from
    before users existed, or one an admin has not yet given a password).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)  # the sign-in name, lower case
    display_name: Mapped[str] = mapped_column(String(NAME))
    role: Mapped[str] = mapped_column(String(CODE))  # ROLES
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in session (browser) or an access token (CLI, API client) that expires (revision 0006).

    Only a hash of the secret is kept; the secret itself lives in the browser's cookie or the user's
    ``NOMINAL_USER_TOKEN``.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(HASH), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(CODE))  # browser | token
    csrf_token: Mapped[str | None] = mapped_column(String(HASH))  # for a browser session's forms
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_address: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInAttempt(Base):
    """Every sign-in attempt, so that repeated failures for a name or from an address are slowed
    down across processes (revision 0006). The name is kept as typed (lower case), never a password."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_name_at", "name", "at"),
        Index("ix_sign_in_attempts_client_address_at", "client_address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    client_address: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class ReviewPair(Base):
    """Tonight's pairs in the review band, with everything a review needs (revision 0006): both
    records' keys and persons, the probability and match weight, each comparison's level and weight,
    the model that scored them, and the review exception that asks an officer about them."""

    __tablename__ = "review_pairs"
    __table_args__ = (
        Index("ux_review_pairs_pair", "feed_a", "source_key_a", "feed_b", "source_key_b", unique=True),
        Index("ix_review_pairs_feed_b_source_key_b", "feed_b", "source_key_b"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    feed_a: Mapped[str] = mapped_column(String(FEED))
    source_key_a: Mapped[str] = mapped_column(String(KEY))
    feed_b: Mapped[str] = mapped_column(String(FEED))
    source_key_b: Mapped[str] = mapped_column(String(KEY))
    person_id_a: Mapped[str | None] = mapped_column(String(PERSON_ID))
    person_id_b: Mapped[str | None] = mapped_column(String(PERSON_ID))
    reason: Mapped[str] = mapped_column(String(CODE))
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str | None] = mapped_column(Text)  # in words, values masked
    # [{"comparison", "level", "label", "weight"}, …] for every comparison of the pair
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    model_version: Mapped[str | None] = mapped_column(String(HASH))
    exception_fingerprint: Mapped[str | None] = mapped_column(String(HASH), index=True)


class SourceRecord(Base):
    """Every current source record's canonical values, as last published (revision 0006): one row
    per feed and key, replaced when the record changes and removed when it is no longer delivered.
    Shown in full only to officers; ``surname_sound`` serves the fuzzy name search."""

    __tablename__ = "source_records"

    feed: Mapped[str] = mapped_column(String(FEED), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    person_id: Mapped[str | None] = mapped_column(String(PERSON_ID), index=True)
    pnc_id: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    cro_number: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    noms_number: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    crn: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    ni_number: Mapped[str | None] = mapped_column(String(IDENTIFIER), index=True)
    forenames: Mapped[str | None] = mapped_column(String(200))
    surname: Mapped[str | None] = mapped_column(String(NAME))
    aliases: Mapped[str | None] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date, index=True)
    sex: Mapped[str | None] = mapped_column(String(8))
    postcode: Mapped[str | None] = mapped_column(String(IDENTIFIER))
    address: Mapped[str | None] = mapped_column(Text)
    mappa_category: Mapped[int | None] = mapped_column(SmallInteger)
    mappa_level: Mapped[int | None] = mapped_column(SmallInteger)
    risk_level: Mapped[str | None] = mapped_column(String(CODE))
    record_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extract_date: Mapped[date | None] = mapped_column(Date)
    row: Mapped[int | None] = mapped_column(Integer)  # in its delivery
    # the identifiers exactly as sent, and the feed's own fields (``extra:`` in its mapping)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    surname_sound: Mapped[str | None] = mapped_column(String(16), index=True)
    surname_anagram: Mapped[str | None] = mapped_column(String(64), index=True)
    record_hash: Mapped[int | None] = mapped_column(BigInteger)
    run_id: Mapped[int] = mapped_column(Integer)


class NightExceptionCount(Base):
    """Per night, the exceptions by feed, kind, severity and status as the night left them, with how
    many of each it opened and closed (revision 0006): what the dashboards chart."""

    __tablename__ = "night_exception_counts"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    feed: Mapped[str] = mapped_column(String(FEED), primary_key=True)  # "" for exceptions of no one feed
    kind: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    severity: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    status: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    opened: Mapped[int] = mapped_column(Integer)  # first found tonight
    closed: Mapped[int] = mapped_column(Integer)  # resolved by source tonight


class NightMatchCount(Base):
    """Per night, how the records came together (revision 0006)."""

    __tablename__ = "night_match_counts"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    records: Mapped[int] = mapped_column(Integer)
    persons: Mapped[int] = mapped_column(Integer)
    links_identifier: Mapped[int] = mapped_column(Integer)  # records linked by a shared identifier
    links_model: Mapped[int] = mapped_column(Integer)  # … by the model's probability
    links_officer: Mapped[int] = mapped_column(Integer)  # … by an officer's decision
    singles: Mapped[int] = mapped_column(Integer)  # records alone in their person
    review_pairs: Mapped[int] = mapped_column(Integer)
    needs_attention: Mapped[int] = mapped_column(Integer)  # persons
    created: Mapped[int] = mapped_column(Integer)
    merged: Mapped[int] = mapped_column(Integer)
    split: Mapped[int] = mapped_column(Integer)
    retired: Mapped[int] = mapped_column(Integer)


class RunStage(Base):
    """How long each stage of a night took (revision 0006), written when the night publishes."""

    __tablename__ = "run_stages"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(CODE), primary_key=True)  # ingest_validate, match, publish …
    seconds: Mapped[float] = mapped_column(Float)


class NightFeedCombination(Base):
    """Per night, how many persons appear in each combination of feeds (revision 0006)."""

    __tablename__ = "night_feed_combinations"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    feeds: Mapped[str] = mapped_column(String(200), primary_key=True)  # "police+prison", names sorted
    persons: Mapped[int] = mapped_column(Integer)


class RunLock(Base):
    """One run at a time (revision 0003): a night holds the row named ``nightly`` while it runs.

    The primary key makes a second holder impossible on every backend; a lock whose process has
    died on this host is taken over, so a killed run never blocks the next night.
    """

    __tablename__ = "run_locks"

    name: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    as_of: Mapped[date | None] = mapped_column(Date)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
