"""The pipeline's writes: runs, deliveries, the run lock, and a night's publication in one transaction.

The triage service writes through ``store.work`` (an exception's workflow, comments, decisions),
``store.users`` (users, sessions) and ``store.audit`` (the audit log); nothing else writes. Values
of closed vocabularies (``nominal.vocab``) are checked on the way in.

Text arguments that end up in messages (``message``, ``error``) must already be masked.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, CursorResult, Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from nominal.clock import utcnow
from nominal.errors import NominalError
from nominal.stopwatch import Stopwatch
from nominal.store import bulk
from nominal.store.audit import AuditEntry, append
from nominal.store.db import session_scope
from nominal.store.models import (
    DELIVERY_STATUSES,
    EXCEPTION_KINDS,
    EXCEPTION_STATUSES,
    PERSON_STATUSES,
    RUN_KINDS,
    RUN_STATUSES,
    SEVERITIES,
    AuditLog,
    Decision,
    Delivery,
    ExceptionEvent,
    ExceptionRecord,
    NightFeedCombination,
    NightMatchCount,
    Person,
    PersonEvent,
    PersonLink,
    QualityMetric,
    ReviewPair,
    Run,
    RunLock,
    RunStage,
    SourceRecord,
)
from nominal.tables import WORKFLOW_COLUMNS, Publication
from nominal.vocab import AuditAction, DeliveryStatus, ExceptionAction, PersonEventKind, RunKind

log = logging.getLogger("nominal.store")


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(allowed)}")


def start_run(engine: Engine, kind: str, as_of: date, feeds: list[str]) -> int:
    """Record that a run has started (status ``running``); returns its id."""
    _check(kind, RUN_KINDS, "run kind")
    with session_scope(engine) as session:
        run = Run(kind=kind, as_of=as_of, feeds=list(feeds), counts={}, status="running", host=socket.gethostname())
        session.add(run)
        session.flush()
        return run.id


def finish_run(engine: Engine, run_id: int, status: str, counts: dict[str, Any], message: str | None = None) -> None:
    """Record how a run ended, with its counts per stage and feed and a masked message."""
    _check(status, RUN_STATUSES, "run status")
    if status == "running":
        raise ValueError("a finished run cannot be running")
    with session_scope(engine) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise LookupError(f"no run {run_id} in the store")
        run.status, run.counts, run.message, run.finished_at = status, dict(counts), message, utcnow()


def record_delivery(
    engine: Engine,
    run_id: int,
    feed: str,
    as_of: date,
    source: str | None,
    sha256: str | None,
    rows: int,
    status: str,
    archive_path: str | None = None,
    error: str | None = None,
    columns: list[str] | None = None,
) -> int:
    """Record one extract offered by a feed and what ingest did with it; returns its id.

    ``source`` and ``sha256`` are None for a delivery rejected before its file was found or read;
    ``columns`` are the source's column names in order (for schema drift).
    """
    _check(status, DELIVERY_STATUSES, "delivery status")
    with session_scope(engine) as session:
        delivery = Delivery(
            run_id=run_id,
            feed=feed,
            as_of=as_of,
            source=source,
            sha256=sha256,
            rows=rows,
            status=status,
            archive_path=None if archive_path is None else str(archive_path),
            error=error,
            columns=None if columns is None else list(columns),
        )
        session.add(delivery)
        session.flush()
        if status in (DeliveryStatus.LOADED, DeliveryStatus.REDELIVERED):  # the system's collection (s.62)
            detail = {"run_id": run_id, "feed": feed, "rows": rows, "as_of": as_of.isoformat()}
            append(session, AuditEntry(AuditAction.COLLECT, "delivery", str(delivery.id), detail=detail))
        return delivery.id


_METRIC_FIELDS = (
    "feed",
    "field",
    "completeness_rate",
    "validity_rate",
    "rows_checked",
    "rows",
    "error_rate",
    "gate_passed",
)


def record_quality_metrics(engine: Engine, run_id: int, metrics: list[dict[str, Any]]) -> int:
    """Record a run's quality metrics: one row per feed and field, and one per feed (field None)."""
    rows = [{"run_id": run_id, **{k: _plain(m.get(k)) for k in _METRIC_FIELDS}} for m in metrics]
    if rows:
        with session_scope(engine) as session:
            session.execute(insert(QualityMetric), rows)
    return len(rows)


def _plain(value: Any) -> Any:
    """NaN / NA as NULL and numpy scalars as Python ones, so every driver accepts them."""
    if value is None:
        return None
    try:
        if value != value:  # NaN, and pandas NA raises below
            return None
    except TypeError:
        return None
    return value.item() if hasattr(value, "item") else value


# --- one run at a time ------------------------------------------------------------------------


class RunLocked(NominalError):
    """Another run holds the store's run lock."""


def acquire_lock(engine: Engine, as_of: date, name: str = "nightly") -> None:
    """Take the store's run lock, or raise RunLocked naming who holds it.

    The lock's primary key makes a second holder impossible on every backend. A holder on this
    host whose process has died (killed mid-run) is taken over, so a killed night never blocks
    the next; a holder on another host has to be cleared by ``nominal unlock``.
    """
    host, pid = socket.gethostname(), os.getpid()
    try:
        with session_scope(engine) as session:
            session.add(RunLock(name=name, as_of=as_of, host=host, pid=pid, acquired_at=utcnow()))
        return
    except IntegrityError:
        pass
    with session_scope(engine) as session:
        holder = session.get(RunLock, name, with_for_update=True)
        if holder is None:  # released in between: try once more
            session.add(RunLock(name=name, as_of=as_of, host=host, pid=pid, acquired_at=utcnow()))
            return
        if holder.host == host and not _alive(holder.pid):
            holder.pid, holder.as_of, holder.acquired_at, holder.run_id = pid, as_of, utcnow(), None
            return
        raise RunLocked(
            f"another run holds the lock: night {holder.as_of} on {holder.host} (pid {holder.pid}) since "
            f"{holder.acquired_at:%Y-%m-%d %H:%M} UTC; one run at a time"
        )


def release_lock(engine: Engine, name: str = "nightly") -> None:
    with session_scope(engine) as session:
        session.execute(
            delete(RunLock).where(
                RunLock.name == name, RunLock.pid == os.getpid(), RunLock.host == socket.gethostname()
            )
        )


def clear_lock(engine: Engine, name: str = "nightly") -> bool:
    """Remove the lock whoever holds it (``nominal unlock``, after checking no run is going)."""
    with session_scope(engine) as session:
        result = session.execute(delete(RunLock).where(RunLock.name == name))
        assert isinstance(result, CursorResult)  # as for any DELETE: it has the rowcount
        return result.rowcount > 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- publish ----------------------------------------------------------------------------------


def publish_night(
    engine: Engine,
    run_id: int,
    publication: Publication,
    counts: dict[str, Any],
    message: str | None = None,
    before_commit: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Make a night visible all at once: persons, links, events, exceptions and their history, review
    pairs, source records, metrics, the night's counts and the run's end in one transaction. Readers
    see the previous night until it commits; a failure or a killed process leaves the previous
    publication as it was. Returns the seconds spent per table (also kept in the run's counts as
    ``store_seconds``)."""
    p = publication
    _check_values(p)
    now = utcnow()
    log.info("publish: writing %d persons, %d links, %d exceptions", len(p.persons), len(p.links), len(p.exceptions))
    watch = Stopwatch()
    with engine.begin() as connection:
        persons = p.persons.assign(first_seen_run_id=run_id, last_seen_run_id=run_id, created_at=now, updated_at=now)
        bulk.upsert(connection, Person.__table__, persons, ("person_id",), keep=("first_seen_run_id", "created_at"))
        if len(p.retired):
            retired = p.retired[["person_id"]].assign(
                status="retired", status_reason="no current record", last_seen_run_id=run_id, updated_at=now
            )
            bulk.update(connection, Person.__table__, retired, ("person_id",))
        watch.lap("persons")
        bulk.delete_keys(connection, PersonLink.__table__, p.links_gone[["feed", "source_key"]])
        bulk.upsert(
            connection, PersonLink.__table__, p.links.assign(run_id=run_id, linked_at=now), ("feed", "source_key")
        )
        watch.lap("links")
        _person_events(connection, run_id, p.events, now)
        _exceptions(connection, run_id, p, now)
        watch.lap("exceptions")
        _review_pairs(connection, run_id, p.review_pairs)
        _source_records(connection, run_id, p)
        watch.lap("review_and_sources")
        _metrics(connection, run_id, p.metrics)
        _night_counts(connection, run_id, p, now, dict(counts.get("seconds", {})))
        _decisions_applied(connection, run_id)
        altered = {"run_id": run_id, "persons": len(p.persons), "links": len(p.links), "exceptions": len(p.exceptions)}
        connection.execute(
            insert(AuditLog).values(
                at=now, action=AuditAction.ALTER.value, object_type="run", object_id=str(run_id), detail=altered
            )
        )
        connection.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                status="succeeded", counts={**counts, "store_seconds": watch.seconds}, message=message, finished_at=now
            )
        )
        if before_commit is not None:  # e.g. the night's reports finishing: if they fail, nothing is published
            before_commit()
        watch.lap("waiting_for_reports")
    watch.lap("commit")
    log.info("publish: committed run %d", run_id)
    return watch.seconds


def record_stopped_night(
    engine: Engine,
    run_id: int,
    publication: Publication,
    status: str,
    counts: dict[str, Any],
    message: str | None,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """A night stopped before publish (a gate failed): its exceptions, their history and its metrics
    are still recorded, with the run's end, in one transaction; persons and links stay as published."""
    _check(status, RUN_STATUSES, "run status")
    _check_values(publication)
    now = utcnow()
    with engine.begin() as connection:
        _exceptions(connection, run_id, publication, now)
        _metrics(connection, run_id, publication.metrics)
        _exception_counts(connection, run_id, now)
        connection.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status=status, counts=dict(counts), message=message, finished_at=now)
        )
        if before_commit is not None:
            before_commit()


def _check_values(p: Publication) -> None:
    """Closed vocabularies are checked on the way in (the store keeps them as plain text)."""
    for column, allowed, what in (
        ("kind", EXCEPTION_KINDS, "exception kind"),
        ("status", EXCEPTION_STATUSES, "exception status"),
        ("severity", SEVERITIES, "severity"),
    ):
        bad = set(p.exceptions[column].dropna().unique()) - set(allowed) if len(p.exceptions) else set()
        if bad:
            raise ValueError(f"{what} {min(bad)!r} is not one of {', '.join(allowed)}")
    bad_status = set(p.persons["status"].unique()) - set(PERSON_STATUSES) if len(p.persons) else set()
    if bad_status:
        raise ValueError(f"person status {min(bad_status)!r} is not one of {', '.join(PERSON_STATUSES)}")


def _person_events(connection: Connection, run_id: int, events: pd.DataFrame, now: datetime) -> None:
    """Tonight's merges, splits, new and retired persons; each merge and split is audited as the
    system's combination of personal data (DPA 2018 Part 3 s.62)."""
    if events.empty:
        return
    rows = events.assign(run_id=run_id, created_at=now)
    rows["old_person_ids"] = rows["old_person_ids"].map(lambda ids: json.dumps(list(ids)))
    rows["detail"] = rows["detail"].map(lambda d: json.dumps(d if isinstance(d, dict) else {}, default=str))
    columns = ["run_id", "kind", "old_person_ids", "new_person_id", "detail", "created_at"]
    bulk.insert(connection, PersonEvent.__table__, rows[columns])
    combined = events[events["kind"].isin([PersonEventKind.MERGED, PersonEventKind.SPLIT])]
    if len(combined):
        audit = pd.DataFrame(
            {
                "at": now,
                "action": AuditAction.COMBINE.value,
                "object_type": "person",
                "object_id": combined["new_person_id"].to_numpy(dtype=object),
                "person_id": combined["new_person_id"].to_numpy(dtype=object),
                "detail": [
                    json.dumps({"run_id": run_id, "kind": str(kind), "from": list(old)})
                    for kind, old in zip(combined["kind"], combined["old_person_ids"])
                ],
            }
        )
        bulk.insert(connection, AuditLog.__table__, audit)


def _exceptions(connection: Connection, run_id: int, p: Publication, now: datetime) -> None:
    """Tonight's exceptions. The night writes its own columns of every row it finds (new rows whole)
    and changes a status only against the version it read, recording each change in the row's
    history: an officer's work done while the night ran is never overwritten."""
    table = ExceptionRecord.__table__
    bulk.upsert(connection, table, p.exceptions, ("fingerprint",), keep=WORKFLOW_COLUMNS)
    if p.exceptions_seen is not None:
        bulk.update(connection, table, p.exceptions_seen, ("fingerprint",))
    events = ExceptionEvent.__table__.name
    connection.execute(
        text(
            f"INSERT INTO {events} (exception_id, at, run_id, action, to_status) "
            "SELECT id, :now, :run, :action, status FROM exceptions WHERE first_seen_run_id = :run"
        ),
        {"now": now, "run": run_id, "action": ExceptionAction.OPENED.value},
    )
    changes = p.exception_changes
    if changes is None or changes.empty:
        return
    for action, group in changes.groupby("action", sort=True):
        staged = pd.DataFrame(
            {
                "fingerprint": group["fingerprint"].to_numpy(dtype=object),
                "version": group["version"].astype("int64").to_numpy(),
                "status": group["to_status"].to_numpy(dtype=object),
                "resolution": group["resolution"].to_numpy(dtype=object),
                "resolved_at": [now if resolved else None for resolved in group["resolved"].to_numpy(dtype=bool)],
            }
        )
        stage = bulk.stage(connection, table, staged)
        unchanged = f"{stage}.fingerprint = exceptions.fingerprint AND {stage}.version = exceptions.version"
        connection.execute(
            text(
                f"INSERT INTO {events} (exception_id, at, run_id, action, from_status, to_status, note) "
                f"SELECT exceptions.id, :now, :run, :action, exceptions.status, {stage}.status, {stage}.resolution "
                f"FROM exceptions JOIN {stage} ON {unchanged}"
            ),
            {"now": now, "run": run_id, "action": str(action)},
        )
        connection.execute(
            text(
                f"UPDATE exceptions SET status = {stage}.status, resolution = {stage}.resolution, "
                f"resolved_at = {stage}.resolved_at, version = exceptions.version + 1 FROM {stage} WHERE {unchanged}"
            )
        )
        connection.execute(text(f"DROP TABLE {stage}"))


def _review_pairs(connection: Connection, run_id: int, pairs: pd.DataFrame | None) -> None:
    """Tonight's review band replaces last night's."""
    if pairs is None:
        return
    connection.execute(delete(ReviewPair))
    if len(pairs):
        rows = pairs.assign(run_id=run_id)
        bulk.insert(connection, ReviewPair.__table__, rows[[c for c in rows.columns if c != "id"]])


def _source_records(connection: Connection, run_id: int, p: Publication) -> None:
    """Records no longer delivered are removed; new and changed ones written whole."""
    table = SourceRecord.__table__
    bulk.delete_keys(connection, table, p.links_gone[["feed", "source_key"]])
    if p.source_records is not None and len(p.source_records):
        bulk.upsert(connection, table, p.source_records.assign(run_id=run_id), ("feed", "source_key"))


def _metrics(connection: Connection, run_id: int, metrics: list[dict[str, Any]]) -> None:
    if metrics:
        connection.execute(
            insert(QualityMetric),
            [{"run_id": run_id, **{k: _plain(m.get(k)) for k in _METRIC_FIELDS}} for m in metrics],
        )


def _night_counts(
    connection: Connection, run_id: int, p: Publication, now: datetime, seconds: dict[str, float]
) -> None:
    """The night's figures in typed tables, so that no chart parses ``runs.counts``."""
    _exception_counts(connection, run_id, now)
    if seconds:
        rows = [{"run_id": run_id, "stage": stage, "seconds": float(s)} for stage, s in seconds.items()]
        connection.execute(insert(RunStage), rows)
    if p.match_counts:
        connection.execute(insert(NightMatchCount), [{"run_id": run_id, **p.match_counts}])
    if p.feed_combinations:
        rows = [{"run_id": run_id, "feeds": feeds, "persons": n} for feeds, n in p.feed_combinations.items()]
        connection.execute(insert(NightFeedCombination), rows)


def _exception_counts(connection: Connection, run_id: int, now: datetime) -> None:
    """Exceptions by feed, kind, severity and status as the night leaves them: every live one, and
    those closed since the night before; with how many the night opened and how many were closed."""
    since = connection.execute(
        select(func.max(Run.finished_at)).where(
            Run.kind == RunKind.SYNC, Run.id != run_id, Run.finished_at.is_not(None)
        )
    ).scalar()
    closed = "status IN ('resolved', 'dismissed') AND resolved_at IS NOT NULL AND resolved_at > :since"
    connection.execute(
        text(
            "INSERT INTO night_exception_counts (run_id, feed, kind, severity, status, count, opened, closed) "
            "SELECT :run, coalesce(feed, ''), kind, severity, status, count(*), "
            "sum(CASE WHEN first_seen_run_id = :run THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN {closed} THEN 1 ELSE 0 END) "
            f"FROM exceptions WHERE status IN ('open', 'assigned', 'in_progress') OR ({closed}) "
            "GROUP BY coalesce(feed, ''), kind, severity, status"
        ),
        {"run": run_id, "since": since or datetime(1970, 1, 1, tzinfo=UTC)},
    )


def _decisions_applied(connection: Connection, run_id: int) -> None:
    """Officers' decisions that tonight applied for the first time (they were in force when it read them)."""
    read_at = select(Run.started_at).where(Run.id == run_id).scalar_subquery()
    connection.execute(
        update(Decision)
        .where(Decision.active.is_(True), Decision.applied_run_id.is_(None), Decision.decided_at <= read_at)
        .values(applied_run_id=run_id)
    )


def fail_abandoned_runs(engine: Engine, kind: str = "sync") -> int:
    """Runs of ``kind`` still marked running once the lock is ours died without finishing (killed)."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Run)
            .where(Run.kind == kind, Run.status == "running")
            .values(
                status="failed", message="abandoned: the process stopped before the run finished", finished_at=utcnow()
            )
        )
        assert isinstance(result, CursorResult)  # as for any UPDATE: it has the rowcount
        return result.rowcount
