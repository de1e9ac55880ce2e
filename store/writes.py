"""Every write to the store goes through this module.

One place to see what the pipeline changes, to check values on the way in (the string
enumerations in ``store.models``), and to keep text that leaves the store masked. Later stages
add their functions here: publish writes persons, links, events, exceptions and metrics in one
transaction; the web app records decisions and the audit log.

Text arguments that end up in messages (``message``, ``error``) must already be masked.
"""

from __future__ import annotations

import socket
from datetime import date
from typing import Any

from sqlalchemy import Engine, insert

from store.db import session_scope
from store.models import DELIVERY_STATUSES, RUN_KINDS, RUN_STATUSES, Delivery, QualityMetric, Run, utcnow


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


def finish_run(
    engine: Engine, run_id: int, status: str, counts: dict[str, Any], message: str | None = None
) -> None:
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


_METRIC_FIELDS = ("feed", "field", "completeness_rate", "validity_rate", "rows_checked", "rows", "error_rate", "gate_passed")


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
