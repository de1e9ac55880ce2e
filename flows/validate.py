"""Validate: ingest a night, run each feed's suite, write exceptions, metrics, gates and Data Docs.

Plain functions, no Prefect: ``nominal validate`` runs ``run_validate`` and the nightly flow calls
``validate_feeds`` from its feed tasks. The store supplies each feed's recent row counts and last
columns (for the row-count gate and schema drift).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from nominal import canonical
from nominal.config import Config
from nominal.expectations.run import (
    VALIDATION_EXCEPTIONS,
    FeedValidation,
    NightParameters,
    Validator,
    failed_feed,
    min_rows,
    schema_drift,
)
from nominal.expectations.suites import load_feed_suite
from nominal.store import queries, writes
from nominal.tables import QUALITY_METRICS
from nominal.vocab import RunKind, RunStatus

from .ingest import FeedIngest, NightIngest, ingest_night, record_deliveries
from .ingest import write_outputs as write_ingest_outputs
from .runs import recorded_run


@dataclass
class NightValidation:
    """One night's validation of every feed (``nominal validate``): what ``gates.json`` says."""

    as_of: dt.date
    feeds: list[FeedValidation]
    data_docs: Path | None
    run_id: int | None = None
    out: Path | None = None

    @property
    def passed(self) -> bool:
        return all(v.gate.passed for v in self.feeds)

    @property
    def failed(self) -> list[FeedValidation]:
        return [v for v in self.feeds if not v.gate.passed]

    def exceptions(self) -> pd.DataFrame:
        frames = [v.exceptions for v in self.feeds if len(v.exceptions)]
        return pd.concat(frames, ignore_index=True) if frames else VALIDATION_EXCEPTIONS.empty()

    def metrics(self) -> pd.DataFrame:
        frames = [v.metrics for v in self.feeds]
        return pd.concat(frames, ignore_index=True) if frames else QUALITY_METRICS.empty()

    def gates(self) -> dict[str, dict[str, Any]]:
        return {v.feed: v.gate.as_dict() for v in self.feeds}

    def failure_message(self) -> str | None:
        """``feed: reason; reason | feed: …`` for the gates that failed, None when all passed."""
        return " | ".join(f"{v.feed}: {'; '.join(v.gate.reasons)}" for v in self.failed) or None

    def as_dict(self) -> dict[str, Any]:
        docs = self.data_docs
        if docs is not None and self.out is not None and docs.is_relative_to(self.out):
            docs = docs.relative_to(self.out)
        return {
            "as_of": self.as_of.isoformat(),
            "run_id": self.run_id,
            "passed": self.passed,
            "feeds": self.gates(),
            "data_docs": str(docs) if docs else None,
        }


def validate_feeds(
    config: Config,
    as_of: dt.date,
    ingests: list[FeedIngest],
    *,
    engine: Engine | None = None,
    docs_dir: Path | None = None,
) -> NightValidation:
    validator = Validator(docs_dir if config.validation.data_docs else None)
    known = set(canonical.COLUMNS)
    results = []
    for ingest in ingests:
        if not ingest.ok or ingest.canonical is None:
            results.append(failed_feed(ingest.feed, ingest.error or {}))
            continue
        feed = config.feed(ingest.feed)
        frame = ingest.canonical
        suite = load_feed_suite(
            feed.name, config.common_suite_path(), config.suite_path(feed), known | set(frame.columns)
        )
        history = (
            queries.recent_delivery_rows(engine, feed.name, as_of, config.thresholds.row_history_nights)
            if engine
            else []
        )
        previous = queries.last_delivery_columns(engine, feed.name, as_of) if engine else None
        parameters = NightParameters(as_of=as_of, min_rows=min_rows(history, config.thresholds.row_drop_max))
        results.append(
            validator.validate(
                feed.name,
                frame,
                ingest.issues,
                suite,
                parameters,
                error_rate_max=config.thresholds.error_rate_max,
                drift=schema_drift(ingest.columns, previous, ingest.unexpected_columns),
                drift_severity=config.validation.schema_drift_severity,
            )
        )
    docs = validator.build_docs()
    return NightValidation(as_of=as_of, feeds=results, data_docs=docs)


def write_outputs(night: NightValidation, out_dir: Path) -> None:
    """``exceptions.parquet``, ``quality_metrics.parquet`` and ``gates.json`` (with a link to the Data Docs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in (("exceptions", night.exceptions()), ("quality_metrics", night.metrics())):
        frame.insert(0, "run_id", pd.array([night.run_id] * len(frame), dtype="Int64"))
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
    night.out = out_dir
    (out_dir / "gates.json").write_text(json.dumps(night.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")


def run_validate(
    config: Config,
    as_of: dt.date,
    out: Path,
    engine: Engine,
    *,
    landing: Path | None = None,
    on_feed_done: Callable[[FeedIngest], None] | None = None,
    on_validating: Callable[[], None] | None = None,
) -> NightValidation:
    """``nominal validate``: ingest, every feed's suite, the outputs written and the run recorded
    (``gate_failed`` when a feed's gate failed)."""
    feeds = [f.name for f in config.enabled_feeds()]
    with recorded_run(engine, RunKind.VALIDATE, as_of, feeds, "validation") as run:
        ingests = NightIngest(as_of, run.run_id, ingest_night(config, as_of, landing, on_feed_done))
        if on_validating:
            on_validating()
        checked = validate_feeds(config, as_of, ingests.feeds, engine=engine, docs_dir=out / "data_docs")
        checked.run_id = run.run_id
        write_ingest_outputs(ingests, out)
        write_outputs(checked, out)
        record_deliveries(engine, run.run_id, as_of, ingests.feeds)
        writes.record_quality_metrics(engine, run.run_id, checked.metrics().to_dict("records"))
        counts = {"ingest": ingests.counts(), "gates": {v.feed: v.gate.passed for v in checked.feeds}}
        status = RunStatus.SUCCEEDED if checked.passed else RunStatus.GATE_FAILED
        run.finish(status, counts, checked.failure_message())
    return checked
