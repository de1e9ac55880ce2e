"""Ingest: pull each configured feed, verify it, map it to canonical records, archive it.

Plain functions, no Prefect: the CLI calls them directly and the nightly flow wraps them as tasks.
A feed that fails (missing, incomplete, malformed) is reported with the exact place and reason;
the other feeds of the night go on. Nothing from a failed feed is archived.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nominal.config import Config, FeedConfig
from nominal.connectors import FetchContext, connector
from nominal.errors import FeedError, SourceUnavailable
from nominal.mappings.apply import ISSUE_COLUMNS, map_records
from nominal.mappings.spec import load_mapping

log = logging.getLogger("nominal.ingest")

LOADED_STATUSES = ("loaded", "already_loaded", "redelivered")


@dataclass
class FeedIngest:
    """One feed's ingest for one night: the canonical records and what happened on the way."""

    feed: str
    status: str  # loaded | already_loaded | redelivered | failed
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
    return FeedIngest(feed=feed, status="failed", source=exc.source, error=exc.as_dict() | {"text": str(exc)})


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


def write_outputs(results: list[FeedIngest], out_dir: Path, as_of: dt.date, run_id: int | None) -> dict:
    """One canonical Parquet file per loaded feed, ``issues.parquet`` and ``summary.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    feeds = {}
    for result in results:
        entry = result.summary()
        if result.ok and result.canonical is not None:
            path = out_dir / f"{result.feed}.parquet"
            result.canonical.to_parquet(path, index=False)
            entry["output"] = path.name
        feeds[result.feed] = entry
    issues = [r.issues for r in results if r.issues is not None and len(r.issues)]
    all_issues = pd.concat(issues, ignore_index=True) if issues else pd.DataFrame(columns=list(ISSUE_COLUMNS))
    all_issues.to_parquet(out_dir / "issues.parquet", index=False)
    summary = {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "status": run_status(results),
        "feeds": feeds,
        "totals": {
            "rows_read": sum(r.rows_read for r in results),
            "rows_mapped": sum(r.rows_mapped for r in results),
            "issues": len(all_issues),
            "feeds_loaded": sum(r.ok for r in results),
            "feeds_failed": sum(not r.ok for r in results),
        },
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return summary


def run_status(results: list[FeedIngest]) -> str:
    if all(r.ok for r in results):
        return "succeeded"
    return "failed" if not any(r.ok for r in results) else "partial"


def record_deliveries(engine, run_id: int, as_of: dt.date, results: list[FeedIngest]) -> None:
    """One ``deliveries`` row per feed offered tonight, loaded or refused."""
    from nominal.store import writes

    for r in results:
        writes.record_delivery(
            engine,
            run_id,
            r.feed,
            as_of,
            r.source,
            r.sha256,
            r.rows_read,
            r.status if r.ok else "rejected",
            r.archive_path,
            (r.error or {}).get("text"),
            columns=r.columns or None,
        )


def ingest_counts(results: list[FeedIngest]) -> dict:
    return {
        r.feed: {"status": r.status, "rows_read": r.rows_read, "rows_mapped": r.rows_mapped, "issues": r.issue_counts()}
        for r in results
    }
