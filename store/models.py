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
    DecisionKind,
    DeliveryStatus,
    ExceptionKind,
    ExceptionStatus,
    LinkedBy,
    PersonEventKind,
    PersonStatus,
    Priority,
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
    """Open work for data officers; the same problem on consecutive nights is one row (fingerprint)."""

    __tablename__ = "exceptions"
    __table_args__ = (
        Index("ix_exceptions_status_severity", "status", "severity"),
        Index("ix_exceptions_feed_source_key", "feed", "source_key"),
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
    assignee: Mapped[str | None] = mapped_column(String(NAME))
    data_hash: Mapped[str | None] = mapped_column(String(HASH))
    first_seen_run_id: Mapped[int] = mapped_column(Integer)
    last_seen_run_id: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class Decision(Base):
    """An officer's decision, read back by matching and publish on every later run."""

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
    decided_by: Mapped[str] = mapped_column(String(NAME))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


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
    """Who read or changed what, and when (DPA 2018 s.62 logging)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object_type_object_id", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(NAME), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(KEY))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


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
