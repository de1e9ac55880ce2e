"""The store on SQLite and PostgreSQL: migrations, models, writes, reads, URLs and errors."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, inspect, select, text
from sqlalchemy.exc import IntegrityError

from nominal.errors import NominalError
from nominal.store import queries, writes
from nominal.store.db import (
    DEFAULT_URL,
    StoreSchemaError,
    StoreUnavailable,
    current_revision,
    dispose_engines,
    downgrade,
    engine_for,
    ensure_schema,
    head_revision,
    mask_url,
    session_scope,
    upgrade,
)
from nominal.store.models import AuditLog, Base, Delivery, Person, PersonEvent, Run

TABLES = {
    "runs",
    "deliveries",
    "persons",
    "person_links",
    "person_events",
    "exceptions",
    "run_locks",
    "decisions",
    "quality_metrics",
    "audit_log",
    # revision 0006: the triage service
    "users",
    "user_sessions",
    "sign_in_attempts",
    "exception_events",
    "comments",
    "review_pairs",
    "source_records",
    "night_exception_counts",
    "night_match_counts",
    "night_feed_combinations",
    "run_stages",
}


def table_names(url: str) -> set[str]:
    return set(inspect(engine_for(url)).get_table_names())


def schema_differences(url: str, metadata: MetaData) -> list:
    with engine_for(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata)


# --- migrations -------------------------------------------------------------------------------


def test_models_name_the_architecture_tables():
    assert set(Base.metadata.tables) == TABLES


def test_upgrade_creates_every_table(store_url):
    assert table_names(store_url) == set()
    upgrade(store_url)
    assert table_names(store_url) == TABLES | {"alembic_version"}
    assert current_revision(store_url) == head_revision()


def test_upgrade_twice_is_a_no_op(store_url):
    upgrade(store_url)
    run_id = writes.start_run(engine_for(store_url), "ingest", date(2026, 11, 23), ["police"])
    upgrade(store_url)
    assert current_revision(store_url) == head_revision()
    assert [run.id for run in queries.last_runs(engine_for(store_url))] == [run_id]


def test_downgrade_to_base_and_back(store_url):
    upgrade(store_url)
    downgrade(store_url, "base")
    assert table_names(store_url) == {"alembic_version"}
    assert current_revision(store_url) is None
    upgrade(store_url)
    assert table_names(store_url) == TABLES | {"alembic_version"}


def test_migrations_create_exactly_the_models_schema(store_url):
    upgrade(store_url)
    assert schema_differences(store_url, Base.metadata) == []


def test_the_schema_comparison_sees_a_difference(store_url):
    """A control for the test above: a new column, a longer string and a relaxed NOT NULL are reported."""
    upgrade(store_url)
    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    runs = changed.tables["runs"]
    runs.append_column(Column("added", Integer, nullable=True))
    runs.c.kind.type = String(40)
    runs.c.as_of.nullable = True
    differences = schema_differences(store_url, changed)
    kinds = sorted(diff[0] if isinstance(diff, tuple) else diff[0][0] for diff in differences)
    assert kinds == ["add_column", "modify_nullable", "modify_type"]


def test_0005_moves_the_identifier_of_a_link_into_linked_on_and_back(store_url):
    """``identifier:pnc_id`` in linked_by becomes ``identifier`` plus ``linked_on = pnc_id``; down, it is put back."""
    upgrade(store_url, "0004")
    rows = [("K1", "identifier:pnc_id"), ("K2", "identifier:cro_number"), ("K3", "model"), ("K4", "single")]
    with engine_for(store_url).begin() as connection:
        connection.execute(
            Person.__table__.insert(), [{"person_id": "P000000001", "first_seen_run_id": 1, "last_seen_run_id": 1}]
        )
        for key, linked_by in rows:
            connection.execute(
                text(
                    "INSERT INTO person_links (feed, source_key, person_id, linked_by, run_id, linked_at) "
                    "VALUES ('police', :key, 'P000000001', :linked_by, 1, CURRENT_TIMESTAMP)"
                ),
                {"key": key, "linked_by": linked_by},
            )

    upgrade(store_url)
    assert [(r.source_key, r.linked_by, r.linked_on) for r in _link_rows(store_url)] == [
        ("K1", "identifier", "pnc_id"),
        ("K2", "identifier", "cro_number"),
        ("K3", "model", None),
        ("K4", "single", None),
    ]
    downgrade(store_url, "0004")
    assert [(r.source_key, r.linked_by) for r in _link_rows(store_url)] == rows
    assert "linked_on" not in {c["name"] for c in inspect(engine_for(store_url)).get_columns("person_links")}


def _link_rows(url: str) -> list:
    with engine_for(url).connect() as connection:
        return list(connection.execute(text("SELECT * FROM person_links ORDER BY source_key")))


def test_ensure_schema_upgrades_once_then_only_checks(store_url):
    engine = ensure_schema(store_url)
    assert engine is engine_for(store_url)
    assert current_revision(store_url) == head_revision()
    writes.start_run(engine, "sync", date(2026, 11, 23), [])
    assert ensure_schema(store_url) is engine
    assert len(queries.last_runs(engine)) == 1


def test_ensure_schema_refuses_a_revision_it_does_not_know(store_engine, store_url):
    with store_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with pytest.raises(StoreSchemaError, match="from_the_future"):
        ensure_schema(store_url)


# --- writes and reads ------------------------------------------------------------------------


def test_run_round_trip(store_engine):
    run_id = writes.start_run(store_engine, "ingest", date(2026, 11, 23), ["police", "prison"])
    [run] = queries.last_runs(store_engine)
    assert (run.id, run.kind, run.as_of, run.status) == (run_id, "ingest", date(2026, 11, 23), "running")
    assert run.feeds == ["police", "prison"] and run.counts == {} and run.finished_at is None
    assert run.host and run.started_at.tzinfo == UTC

    counts = {"ingest": {"police": 48213, "prison": 9120}, "rejected": 0}
    writes.finish_run(store_engine, run_id, "gate_failed", counts, message="prison: 9120 rows, 40% below recent")
    [run] = queries.last_runs(store_engine)
    assert (run.status, run.counts, run.message) == ("gate_failed", counts, "prison: 9120 rows, 40% below recent")
    assert run.finished_at.tzinfo == UTC and run.finished_at >= run.started_at


def test_last_runs_newest_first_and_limited(store_engine):
    ids = [writes.start_run(store_engine, "sync", date(2026, 11, day), ["police"]) for day in (21, 22, 23)]
    assert [run.id for run in queries.last_runs(store_engine, 2)] == ids[::-1][:2]


def test_writes_refuse_unknown_values(store_engine):
    with pytest.raises(ValueError, match="run kind 'nightly'"):
        writes.start_run(store_engine, "nightly", date(2026, 11, 23), [])
    run_id = writes.start_run(store_engine, "sync", date(2026, 11, 23), [])
    with pytest.raises(ValueError, match="run status 'done'"):
        writes.finish_run(store_engine, run_id, "done", {})
    with pytest.raises(LookupError):
        writes.finish_run(store_engine, run_id + 1, "succeeded", {})
    with pytest.raises(ValueError, match="delivery status 'ok'"):
        writes.record_delivery(store_engine, run_id, "police", date(2026, 11, 23), "f.csv", "0" * 64, 1, "ok")


def test_record_delivery_round_trip(store_engine):
    run_id = writes.start_run(store_engine, "ingest", date(2026, 11, 23), ["police"])
    delivery_id = writes.record_delivery(
        store_engine,
        run_id,
        "police",
        date(2026, 11, 23),
        "nominals_20261123.csv",
        "ab" * 32,
        48213,
        "loaded",
        archive_path="archive/police/2026-11-23/nominals_20261123.csv",
    )
    with session_scope(store_engine) as session:
        delivery = session.get(Delivery, delivery_id)
    assert (delivery.run_id, delivery.feed, delivery.as_of, delivery.source) == (
        run_id,
        "police",
        date(2026, 11, 23),
        "nominals_20261123.csv",
    )
    assert (delivery.sha256, delivery.rows, delivery.status, delivery.error) == ("ab" * 32, 48213, "loaded", None)
    assert delivery.archive_path == "archive/police/2026-11-23/nominals_20261123.csv"
    assert delivery.recorded_at.tzinfo == UTC

    rejected_id = writes.record_delivery(
        store_engine,
        run_id,
        "prison",
        date(2026, 11, 23),
        None,
        None,
        0,
        "rejected",
        error="prison: manifest.json missing",
    )
    with session_scope(store_engine) as session:
        rejected = session.get(Delivery, rejected_id)
    assert (rejected.source, rejected.sha256, rejected.status) == (None, None, "rejected")
    assert rejected.error == "prison: manifest.json missing"


def test_recent_delivery_rows(store_engine):
    run_id = writes.start_run(store_engine, "ingest", date(2026, 11, 23), ["police"])

    def deliver(feed, day, rows, status="loaded"):
        writes.record_delivery(
            store_engine, run_id, feed, date(2026, 11, day), f"{day}.csv", f"{day:064d}", rows, status
        )

    for day in range(10, 20):
        deliver("police", day, 1000 + day)
    deliver("police", 20, 5, "rejected")  # an incomplete extract says nothing about the feed's size
    deliver("police", 21, 1021, "already_loaded")
    deliver("police", 19, 2019, "redelivered")  # a new extract for a night already loaded replaces it
    deliver("prison", 19, 99)
    deliver("police", 23, 1023)  # tonight's own delivery is not among the recent ones

    rows = queries.recent_delivery_rows(store_engine, "police", before=date(2026, 11, 23))
    assert rows == [2019, 1018, 1017, 1016, 1015, 1014, 1013]
    assert queries.recent_delivery_rows(store_engine, "police", before=date(2026, 11, 12), limit=7) == [1011, 1010]
    assert queries.recent_delivery_rows(store_engine, "probation", before=date(2026, 11, 23)) == []


def test_foreign_keys_are_enforced(store_engine):
    with pytest.raises(IntegrityError):
        writes.record_delivery(store_engine, 999, "police", date(2026, 11, 23), "f.csv", "0" * 64, 1, "loaded")


def test_json_columns_round_trip(store_engine):
    run_id = writes.start_run(store_engine, "publish", date(2026, 11, 23), ["police", "probation", "prison"])
    lineage = {
        "surname": {"feed": "police", "source_key": "PN-000123", "extract_date": "2026-11-23", "run_id": run_id},
        "postcode": {"feed": "probation", "source_key": "X123456", "extract_date": "2026-11-22", "run_id": run_id},
        "note": {"text": "Ó'Brien – café", "weights": [0.5, -1.25, None], "flag": True},
    }
    with session_scope(store_engine) as session:
        session.add(
            Person(
                person_id="P000000001",
                surname="O'BRIEN",
                lineage=lineage,
                first_seen_run_id=run_id,
                last_seen_run_id=run_id,
            )
        )
        session.add(
            PersonEvent(
                run_id=run_id,
                kind="merged",
                old_person_ids=["P000000002", "P000000003"],
                new_person_id="P000000001",
                detail={"probability": 0.9731, "by": "model"},
            )
        )
        session.add(
            AuditLog(
                action="view_person",
                object_type="person",
                object_id="P000000001",
                detail={"fields": ["surname", "date_of_birth"]},
            )
        )
    with session_scope(store_engine) as session:
        person = session.get(Person, "P000000001")
        event = session.scalars(select(PersonEvent)).one()
        audit = session.scalars(select(AuditLog)).one()
    assert person.lineage == lineage and person.status == "active"
    assert person.created_at.tzinfo == UTC
    assert event.old_person_ids == ["P000000002", "P000000003"]
    assert event.detail == {"probability": 0.9731, "by": "model"}
    assert audit.detail == {"fields": ["surname", "date_of_birth"]}


def test_json_columns_take_numpy_scalars_and_dates(store_engine):
    """Counts and lineage come out of pandas frames: numpy integers and dates are written as JSON."""
    run_id = writes.start_run(store_engine, "ingest", date(2026, 11, 23), ["police"])
    counts = {
        "police": np.int64(48213),
        "rate": np.float64(0.25),
        "extract": pd.Timestamp("2026-11-23"),
        "as_of": date(2026, 11, 23),
    }
    writes.finish_run(store_engine, run_id, "succeeded", counts)
    [run] = queries.last_runs(store_engine)
    assert run.counts == {"police": 48213, "rate": 0.25, "extract": "2026-11-23T00:00:00", "as_of": "2026-11-23"}
    with pytest.raises(Exception, match="set cannot be stored in a JSON column"):
        writes.finish_run(store_engine, run_id, "succeeded", {"feeds": {"police"}})
    with pytest.raises(Exception, match="Out of range float values are not JSON compliant"):
        writes.finish_run(store_engine, run_id, "succeeded", {"rate": float("nan")})  # as PostgreSQL would


def test_timestamps_are_stored_as_utc(store_engine):
    run_id = writes.start_run(store_engine, "sync", date(2026, 6, 1), [])
    summer = datetime(2026, 6, 1, 23, 30, tzinfo=timezone(timedelta(hours=1)))  # BST
    with session_scope(store_engine) as session:
        session.get(Run, run_id).finished_at = summer
    with session_scope(store_engine) as session:
        finished = session.get(Run, run_id).finished_at
    assert finished == summer and finished.tzinfo == UTC and finished.hour == 22

    with pytest.raises(Exception, match="naive datetime"), session_scope(store_engine) as session:
        session.get(Run, run_id).finished_at = datetime(2026, 6, 1, 23, 30)


# --- URLs, engines and errors ----------------------------------------------------------------


def test_ensure_schema_creates_the_default_sqlite_file_on_first_use(tmp_path, monkeypatch):
    monkeypatch.delenv("NOMINAL_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    url = DEFAULT_URL
    try:
        engine = ensure_schema(url)
        assert (tmp_path / "nominal.db").is_file()
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:  # the file is set up for readers beside a writer
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # The default is relative to the working directory at first use, not to where the
        # first engine happened to be created.
        (tmp_path / "other").mkdir()
        monkeypatch.chdir(tmp_path / "other")
        assert ensure_schema(url) is not engine
        assert (tmp_path / "other" / "nominal.db").is_file()
    finally:
        dispose_engines(f"sqlite:///{tmp_path / 'nominal.db'}")
        dispose_engines(f"sqlite:///{tmp_path / 'other' / 'nominal.db'}")


def test_engine_for_is_cached_per_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    try:
        assert engine_for(url) is engine_for(url) is engine_for("sqlite:///a.db")
        assert engine_for(url) is not engine_for(f"sqlite:///{tmp_path / 'b.db'}")
    finally:
        dispose_engines()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_store_unavailable_names_the_masked_url(backend, tmp_path):
    if backend == "postgresql":
        url = f"postgresql+psycopg://nominal:hunter2-secret@127.0.0.1:{_closed_port()}/nominal"
        shown = "postgresql+psycopg://nominal:***@127.0.0.1"
    else:
        url = f"sqlite:///{tmp_path / 'no-such-directory' / 'store.db'}"
        shown = "no-such-directory"
    try:
        with pytest.raises(StoreUnavailable) as raised:
            ensure_schema(url)
    finally:
        dispose_engines(url)
    message = str(raised.value)
    assert isinstance(raised.value, NominalError)
    assert message.startswith("store ") and "is unavailable: " in message and shown in message
    assert "hunter2" not in message and "Traceback" not in message


def test_mask_url():
    assert (
        mask_url("postgresql+psycopg://app:s3cr%40t@db:5432/nominal") == "postgresql+psycopg://app:***@db:5432/nominal"
    )
    assert mask_url("postgresql+psycopg://app@db/nominal?password=s3cret&sslmode=require") == (
        "postgresql+psycopg://app@db/nominal?password=***&sslmode=require"
    )
    assert mask_url("sqlite:///nominal.db") == "sqlite:///nominal.db"
    assert "s3cret" not in mask_url("not a url s3cret")
