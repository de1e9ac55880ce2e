"""Every write to the store goes through this module.

One place to see what the pipeline changes, to check values on the way in (the string
enumerations in ``store.models``), and to keep text that leaves the store masked. Later stages
add their functions here: publish writes persons, links, events, exceptions and metrics in one
transaction; the web app records decisions and the audit log.

Text arguments that end up in messages (``message``, ``error``) must already be masked.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError

from nominal.errors import NominalError
from nominal.store.db import session_scope
from nominal.store.models import (
    DECISION_KINDS,
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
    ExceptionRecord,
    Person,
    PersonEvent,
    PersonLink,
    QualityMetric,
    Run,
    RunLock,
    utcnow,
)

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
        return session.execute(delete(RunLock).where(RunLock.name == name)).rowcount > 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- decisions ------------------------------------------------------------------------------


def record_decision(
    engine: Engine,
    kind: str,
    *,
    feed: str,
    source_key: str,
    decided_by: str,
    reason: str,
    other_feed: str | None = None,
    other_source_key: str | None = None,
    exception_fingerprint: str | None = None,
    field: str | None = None,
    value: str | None = None,
) -> int:
    """An officer's decision, honoured by every later night: ``link`` / ``do_not_link`` two records
    (matching), ``accept_value`` of a record's ``field`` for its person's golden record (publish;
    ``value`` as the officer saw it, so the decision lapses when the source changes it), ``dismiss``
    an exception. Returns its id."""
    _check(kind, DECISION_KINDS, "decision kind")
    if kind in ("link", "do_not_link") and not (other_feed and other_source_key):
        raise ValueError(f"a {kind} decision names two records")
    if kind == "accept_value" and not field:
        raise ValueError("an accept_value decision names the field")
    if kind == "dismiss" and not exception_fingerprint:
        raise ValueError("a dismiss decision names the exception")
    with session_scope(engine) as session:
        decision = Decision(
            kind=kind,
            feed_a=feed,
            source_key_a=source_key,
            feed_b=other_feed,
            source_key_b=other_source_key,
            exception_fingerprint=exception_fingerprint,
            field=field,
            value=value,
            reason=reason,
            decided_by=decided_by,
        )
        session.add(decision)
        session.flush()
        if kind == "dismiss":  # seen as dismissed at once; later nights keep it so while its data is unchanged
            session.execute(
                update(ExceptionRecord)
                .where(ExceptionRecord.fingerprint == exception_fingerprint)
                .values(status="dismissed")
            )
        # the audit row names the decision, not the person's keys or values (those are in the decision)
        session.add(
            AuditLog(
                actor=decided_by,
                action="decide",
                object_type="decision",
                object_id=str(decision.id),
                detail={"kind": kind, "field": field},
            )
        )
        return decision.id


# --- publish ----------------------------------------------------------------------------------


@dataclass
class Publication:
    """Everything a night publishes, computed before the transaction (publish.publication)."""

    persons: pd.DataFrame  # changed or new persons: the store's persons columns
    retired: pd.DataFrame  # person_id of persons no record carries any more
    links: pd.DataFrame  # changed or new links: feed, source_key, person_id, match_probability, linked_by, linked_on
    links_gone: pd.DataFrame  # feed, source_key of records no longer delivered
    events: pd.DataFrame  # kind, old_person_ids (list), new_person_id, detail (dict)
    exceptions: pd.DataFrame  # new or changed exceptions: publish.exceptions.STORE_COLUMNS
    metrics: list[dict[str, Any]]
    exceptions_seen: pd.DataFrame | None = (
        None  # found again unchanged: fingerprint, row, last_seen_run_id, last_seen_at
    )


def publish_night(
    engine: Engine,
    run_id: int,
    publication: Publication,
    counts: dict[str, Any],
    message: str | None = None,
    before_commit: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Make a night visible all at once: persons, links, events, exceptions, metrics and the run's
    end in one transaction. Readers see the previous night until it commits; a failure or a killed
    process leaves the previous publication as it was. Returns the seconds spent per table (also
    kept in the run's counts as ``store_seconds``)."""
    from nominal.stopwatch import Stopwatch
    from nominal.store import bulk

    p = publication
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
        if len(p.events):
            events = p.events.assign(run_id=run_id, created_at=now)
            events["old_person_ids"] = events["old_person_ids"].map(lambda ids: json.dumps(list(ids)))
            events["detail"] = events["detail"].map(lambda d: json.dumps(d if isinstance(d, dict) else {}, default=str))
            bulk.insert(
                connection,
                PersonEvent.__table__,
                events[["run_id", "kind", "old_person_ids", "new_person_id", "detail", "created_at"]],
            )
        bulk.upsert(connection, ExceptionRecord.__table__, p.exceptions, ("fingerprint",))
        if p.exceptions_seen is not None:
            bulk.update(connection, ExceptionRecord.__table__, p.exceptions_seen, ("fingerprint",))
        watch.lap("exceptions")
        if p.metrics:
            connection.execute(
                insert(QualityMetric),
                [{"run_id": run_id, **{k: _plain(m.get(k)) for k in _METRIC_FIELDS}} for m in p.metrics],
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


def record_exceptions(
    engine: Engine,
    run_id: int,
    exceptions: pd.DataFrame,
    metrics: list[dict[str, Any]],
    status: str,
    counts: dict[str, Any],
    message: str | None,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """A night stopped before publish (a gate failed): its exceptions and metrics are still recorded,
    with the run's end, in one transaction; persons and links are left as published."""
    from nominal.store import bulk

    _check(status, RUN_STATUSES, "run status")
    with engine.begin() as connection:
        bulk.upsert(connection, ExceptionRecord.__table__, exceptions, ("fingerprint",))
        if metrics:
            connection.execute(
                insert(QualityMetric),
                [{"run_id": run_id, **{k: _plain(m.get(k)) for k in _METRIC_FIELDS}} for m in metrics],
            )
        connection.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status=status, counts=dict(counts), message=message, finished_at=utcnow())
        )
        if before_commit is not None:
            before_commit()


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
        return result.rowcount
