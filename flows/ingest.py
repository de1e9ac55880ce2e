"""Ingest: pull each configured feed, verify it, map it to canonical records, archive it.

Plain functions, no Prefect: ``nominal ingest`` runs ``run_ingest`` and the nightly flow wraps
``ingest_feed`` as a task. A feed that fails (missing, incomplete, malformed) is reported with the
exact place and reason; the other feeds of the night go on. Nothing from a failed feed is archived.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from nominal.config import Config, FeedConfig
from nominal.connectors import FetchContext, connector
from nominal.errors import FeedError, SourceUnavailable
from nominal.mappings.apply import ISSUES, map_records
from nominal.mappings.spec import load_mapping
from nominal.store import writes
from nominal.vocab import DeliveryStatus, RunKind, RunStatus

from .runs import recorded_run

log = logging.getLogger("nominal.ingest")

LOADED_STATUSES = (DeliveryStatus.LOADED, DeliveryStatus.ALREADY_LOADED, DeliveryStatus.REDELIVERED)
FAILED = "failed"  # a feed's ingest status when its delivery was refused (recorded as ``rejected``)


@dataclass
class FeedIngest:
    """One feed's ingest for one night: the canonical records and what happened on the way."""

    feed: str
    status: str  # a loaded DeliveryStatus, or FAILED
    canonical: pd.DataFrame | None = None
    issues: pd.DataFrame | None = None
    source: str | None = None
    sha256: str | None = None
    rows_read: int = 0
    columns: list[str] = field(default_factory=list)  # the source's columns, in order
    unexpected_columns: list[str] = field(default_factory=list)
    archive_path: str | None = None
    error: dict | None = None
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in LOADED_STATUSES

    @property
    def rows_mapped(self) -> int:
        return 0 if self.canonical is None else len(self.canonical)

    def issue_counts(self) -> dict[str, int]:
        if self.issues is None or self.issues.empty:
            return {}
        return {str(k): int(v) for k, v in self.issues.groupby("kind").size().items()}

    def summary(self) -> dict:
        return {
            "status": self.status,
            "source": self.source,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_mapped": self.rows_mapped,
            "issues": self.issue_counts(),
            "unexpected_columns": self.unexpected_columns,
            "archive": self.archive_path,
            "error": self.error,
            **({"details": self.details} if self.details else {}),
        }


def fetch_context(config: Config, as_of: dt.date, landing: Path | None = None) -> FetchContext:
    return FetchContext(as_of=as_of, landing_dir=landing or config.landing_dir, archive_dir=config.archive_dir)


def ingest_feed(
    config: Config, feed: FeedConfig, context: FetchContext, *, raise_unavailable: bool = False
) -> FeedIngest:
    """Fetch, verify, map and (for landing deliveries) archive one feed.

    A data problem is returned as a failed FeedIngest with the error's place and reason. A source
    that is unreachable raises SourceUnavailable when ``raise_unavailable`` (so an orchestrator can
    retry it); otherwise it is reported like any other failure.
    """
    transport = connector(feed.connector)
    try:
        options = transport.Options.model_validate(feed.options)
        raw = transport.fetch(feed.name, options, context)
        mapping = load_mapping(config.mapping_path(feed))
        mapped = map_records(
            raw.frame, mapping, feed=feed.name, source=raw.source, as_of=context.as_of, columns=raw.columns
        )
        archived = raw.commit() if raw.commit else None
    except SourceUnavailable as exc:
        if raise_unavailable:
            raise
        return _failed(feed.name, exc)
    except FeedError as exc:
        return _failed(feed.name, exc)
    status = "loaded" if raw.status == "new" else raw.status
    log.info(
        "%s: %s, %d rows read, %d mapped, %d issues", feed.name, status, raw.rows, len(mapped.frame), len(mapped.issues)
    )
    return FeedIngest(
        feed=feed.name,
        status=status,
        canonical=mapped.frame,
        issues=mapped.issues,
        source=raw.source,
        sha256=raw.sha256,
        rows_read=raw.rows,
        columns=list(raw.columns),
        unexpected_columns=mapped.unexpected_columns,
        archive_path=str(archived) if archived else None,
        details=raw.details,
    )


def _failed(feed: str, exc: FeedError) -> FeedIngest:
    log.error("%s", exc)  # FeedError messages carry places and masked values only
    return FeedIngest(feed=feed, status=FAILED, source=exc.source, error=exc.as_dict() | {"text": str(exc)})


def ingest_night(
    config: Config,
    as_of: dt.date,
    landing: Path | None = None,
    on_feed_done: Callable[[FeedIngest], None] | None = None,
) -> list[FeedIngest]:
    context = fetch_context(config, as_of, landing)
    results = []
    for feed in config.enabled_feeds():
        result = ingest_feed(config, feed, context)
        results.append(result)
        if on_feed_done:
            on_feed_done(result)
    return results


@dataclass
class NightIngest:
    """One night's ingest of every feed (``nominal ingest``): what ``summary.json`` says."""

    as_of: dt.date
    run_id: int | None
    feeds: list[FeedIngest]
    out: Path | None = None

    @property
    def status(self) -> str:
        """succeeded (every feed loaded), partial or failed (none loaded)."""
        if all(r.ok for r in self.feeds):
            return "succeeded"
        return "failed" if not any(r.ok for r in self.feeds) else "partial"

    @property
    def failed(self) -> list[FeedIngest]:
        return [r for r in self.feeds if not r.ok]

    def issues(self) -> pd.DataFrame:
        issues = [r.issues for r in self.feeds if r.issues is not None and len(r.issues)]
        return pd.concat(issues, ignore_index=True) if issues else ISSUES.empty()

    def counts(self) -> dict[str, Any]:
        """The run's counts: per feed, status, rows read and mapped, issues by kind."""
        return {
            r.feed: {
                "status": r.status,
                "rows_read": r.rows_read,
                "rows_mapped": r.rows_mapped,
                "issues": r.issue_counts(),
            }
            for r in self.feeds
        }

    def as_dict(self, outputs: dict[str, str] | None = None) -> dict[str, Any]:
        feeds = {}
        for r in self.feeds:
            entry = r.summary()
            if outputs and r.feed in outputs:
                entry["output"] = outputs[r.feed]
            feeds[r.feed] = entry
        return {
            "as_of": self.as_of.isoformat(),
            "run_id": self.run_id,
            "status": self.status,
            "feeds": feeds,
            "totals": {
                "rows_read": sum(r.rows_read for r in self.feeds),
                "rows_mapped": sum(r.rows_mapped for r in self.feeds),
                "issues": sum(0 if r.issues is None else len(r.issues) for r in self.feeds),
                "feeds_loaded": sum(r.ok for r in self.feeds),
                "feeds_failed": sum(not r.ok for r in self.feeds),
            },
        }


def write_outputs(night: NightIngest, out_dir: Path) -> None:
    """One canonical Parquet file per loaded feed, ``issues.parquet`` and ``summary.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for result in night.feeds:
        if result.ok and result.canonical is not None:
            path = out_dir / f"{result.feed}.parquet"
            result.canonical.to_parquet(path, index=False)
            outputs[result.feed] = path.name
    night.issues().to_parquet(out_dir / "issues.parquet", index=False)
    summary = json.dumps(night.as_dict(outputs), indent=2, default=str)
    (out_dir / "summary.json").write_text(summary + "\n", encoding="utf-8")
    night.out = out_dir


def record_deliveries(engine: Engine, run_id: int, as_of: dt.date, results: list[FeedIngest]) -> None:
    """One ``deliveries`` row per feed offered tonight, loaded or refused."""
    for r in results:
        writes.record_delivery(
            engine,
            run_id,
            r.feed,
            as_of,
            r.source,
            r.sha256,
            r.rows_read,
            r.status if r.ok else DeliveryStatus.REJECTED,
            r.archive_path,
            (r.error or {}).get("text"),
            columns=r.columns or None,
        )


def run_ingest(
    config: Config,
    as_of: dt.date,
    out: Path,
    engine: Engine,
    *,
    landing: Path | None = None,
    on_feed_done: Callable[[FeedIngest], None] | None = None,
) -> NightIngest:
    """``nominal ingest``: every feed pulled, mapped and archived, the outputs written and the run recorded."""
    feeds = [f.name for f in config.enabled_feeds()]
    with recorded_run(engine, RunKind.INGEST, as_of, feeds, "ingest") as run:
        night = NightIngest(as_of, run.run_id, ingest_night(config, as_of, landing, on_feed_done))
        record_deliveries(engine, run.run_id, as_of, night.feeds)
        write_outputs(night, out)
        failed = "; ".join(f"{r.feed}: {(r.error or {}).get('text')}" for r in night.failed)
        run.finish(
            RunStatus.SUCCEEDED if night.status == "succeeded" else RunStatus.FAILED, night.counts(), failed or None
        )
    return night
