"""Validate: ingest a night, run each feed's suite, write exceptions, metrics, gates and Data Docs.

Plain functions, no Prefect (the nightly flow wraps them). The store, when given, supplies each
feed's recent row counts and last columns (for the row-count gate and schema drift).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nominal import canonical
from nominal.config import Config
from nominal.expectations.run import (
    EXCEPTION_COLUMNS,
    METRIC_COLUMNS,
    FeedValidation,
    NightParameters,
    Validator,
    failed_feed,
    min_rows,
    schema_drift,
)
from nominal.expectations.suites import load_feed_suite

from .ingest import FeedIngest


@dataclass
class NightValidation:
    as_of: dt.date
    feeds: list[FeedValidation]
    data_docs: Path | None

    @property
    def passed(self) -> bool:
        return all(v.gate.passed for v in self.feeds)

    def exceptions(self) -> pd.DataFrame:
        frames = [v.exceptions for v in self.feeds if len(v.exceptions)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(EXCEPTION_COLUMNS))

    def metrics(self) -> pd.DataFrame:
        frames = [v.metrics for v in self.feeds]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(METRIC_COLUMNS))

    def gates(self) -> dict:
        return {v.feed: v.gate.as_dict() for v in self.feeds}


def validate_feeds(
    config: Config, as_of: dt.date, ingests: list[FeedIngest], *, engine=None, docs_dir: Path | None = None
) -> NightValidation:
    from nominal.store import queries

    validator = Validator(docs_dir if config.validation.data_docs else None)
    known = set(canonical.COLUMNS)
    results = []
    for ingest in ingests:
        if not ingest.ok:
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


def write_outputs(night: NightValidation, out_dir: Path, run_id: int | None) -> dict:
    """``exceptions.parquet``, ``quality_metrics.parquet`` and ``gates.json`` (with a link to the Data Docs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    exceptions = night.exceptions()
    exceptions.insert(0, "run_id", pd.array([run_id] * len(exceptions), dtype="Int64"))
    exceptions.to_parquet(out_dir / "exceptions.parquet", index=False)
    metrics = night.metrics()
    metrics.insert(0, "run_id", pd.array([run_id] * len(metrics), dtype="Int64"))
    metrics.to_parquet(out_dir / "quality_metrics.parquet", index=False)
    gates = {
        "as_of": night.as_of.isoformat(),
        "run_id": run_id,
        "passed": night.passed,
        "feeds": night.gates(),
        "data_docs": str(night.data_docs.relative_to(out_dir))
        if night.data_docs and night.data_docs.is_relative_to(out_dir)
        else (str(night.data_docs) if night.data_docs else None),
    }
    (out_dir / "gates.json").write_text(json.dumps(gates, indent=2, default=str) + "\n", encoding="utf-8")
    return gates
