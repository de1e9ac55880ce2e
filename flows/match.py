"""Match: one night's canonical records into persons, with the state a night leaves for the next.

Plain functions (the nightly flow wraps them). The previous night's state (model, scored pairs,
persons) lives in ``matching.state_dir``; previous person ids and officers' decisions come from
the store when one is given.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from nominal.config import Config
from nominal.errors import NominalError
from nominal.matching.ids import events_for_csv
from nominal.matching.model import Model
from nominal.matching.pipeline import MatchResult, match
from nominal.matching.schemas import CLUSTERS
from nominal.matching.settings import load_settings
from nominal.matching.state import MatchState
from nominal.store import queries
from nominal.vocab import RunKind, RunStatus

from .ingest import FeedIngest, ingest_night
from .runs import RunRecord, start_run
from .validate import NightValidation, validate_feeds

log = logging.getLogger("nominal.match")


def load_previous(state_dir: Path) -> tuple[MatchState | None, Model | None]:
    state = MatchState.load(state_dir)
    model_path = state_dir / "model.json"
    model = Model.load(model_path) if model_path.is_file() else None
    return state, model


def match_records(
    config: Config,
    frames: list[pd.DataFrame],
    *,
    engine: Engine | None = None,
    full: bool = False,
    retrain: bool = False,
    threshold: float | None = None,
    state_dir: Path | None = None,
    previous_links: pd.DataFrame | None = None,
    compare_pairs=None,
) -> MatchResult:
    """``previous_links`` (feed, source_key, person_id): the store's, when the caller has read them;
    ``compare_pairs``: where candidate pairs are compared (``matching.pipeline.match``)."""
    settings = load_settings(config.match_settings_path())
    state_dir = state_dir or config.match_state_dir
    state, model = load_previous(state_dir)
    if engine is not None:
        previous = previous_links if previous_links is not None else queries.current_links(engine)
        highest, decisions = queries.highest_person_number(engine), queries.active_decisions(engine)
    else:
        previous = state.clusters if state is not None else None
        highest, decisions = 0, None
    return match(
        frames,
        settings,
        model=model,
        retrain=retrain,
        decisions=decisions,
        previous_links=previous,
        highest_id=highest,
        state=state,
        full=full,
        link_threshold=threshold,
        compare_pairs=compare_pairs,
    )


def save_state(result: MatchResult, state_dir: Path) -> None:
    """Keep what the next night needs; written last, so a failed night leaves the previous state."""
    staging, old = state_dir.with_name(state_dir.name + ".new"), state_dir.with_name(state_dir.name + ".old")
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    result.state.save(staging)
    result.model.save(staging / "model.json")
    if state_dir.exists():
        state_dir.rename(old)
    staging.rename(state_dir)
    if old.exists():
        shutil.rmtree(old)


def write_outputs(result: MatchResult, out_dir: Path) -> dict:
    """``clusters.csv``, ``pairs.parquet``, ``model.json``, ``review.parquet`` (the review pairs),
    ``events.csv``, ``match.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    CLUSTERS.select(result.clusters).to_csv(out_dir / "clusters.csv", index=False)
    result.pairs.to_parquet(out_dir / "pairs.parquet", index=False)
    result.model.save(out_dir / "model.json")
    result.review_pairs.to_parquet(out_dir / "review.parquet", index=False)
    events_for_csv(result.events).to_csv(out_dir / "events.csv", index=False)
    summary = {**result.stats, "statuses": result.clusters["status"].value_counts().to_dict()}
    (out_dir / "match.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return summary


@dataclass
class MatchSummary:
    """What ``nominal match`` did; ``stats`` is matching's own figures as ``match.json`` has them."""

    records: int
    persons: int
    links: int
    reviews: int
    links_cut: int
    incremental: bool
    changed_records: int
    seconds: float
    stats: dict[str, Any]
    ingests: list[FeedIngest]
    validation: NightValidation
    out: Path
    run_id: int | None = None

    @classmethod
    def of(
        cls, stats: dict[str, Any], ingests: list[FeedIngest], validation: NightValidation, out: Path
    ) -> MatchSummary:
        return cls(
            records=stats["records"],
            persons=stats["persons"],
            links=stats["links"],
            reviews=stats["reviews"],
            links_cut=stats["links_cut"],
            incremental=stats["incremental"],
            changed_records=stats["changed_records"],
            seconds=float(sum(stats["seconds"].values())),
            stats=stats,
            ingests=ingests,
            validation=validation,
            out=out,
        )

    @property
    def not_matched(self) -> list[FeedIngest]:
        return [r for r in self.ingests if not r.ok]


def run_match(
    config: Config,
    as_of: dt.date,
    out: Path,
    engine: Engine | None,
    *,
    landing: Path | None = None,
    full: bool = False,
    retrain: bool = False,
    threshold: float | None = None,
    state_dir: Path | None = None,
    on_feed_done: Callable[[FeedIngest], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> MatchSummary:
    """``nominal match``: read, validate (gates are reported, not enforced) and match the feeds; write
    the outputs and matching's state. With a store, previous ids and officers' decisions come from
    it and the run is recorded there."""
    run: RunRecord | None = None
    if engine is not None:
        run = start_run(engine, RunKind.MATCH, as_of, [f.name for f in config.enabled_feeds()])
    try:
        ingests = ingest_night(config, as_of, landing, on_feed_done)
        loaded = [r for r in ingests if r.ok and r.canonical is not None]
        if not loaded:
            raise NominalError("no feed could be read: nothing to match")
        if on_stage:
            on_stage("validating")
        checked = validate_feeds(config, as_of, loaded, engine=engine, docs_dir=None)
        if on_stage:
            on_stage("matching")
        frames = [r.canonical for r in loaded if r.canonical is not None]
        result = match_records(
            config, frames, engine=engine, full=full, retrain=retrain, threshold=threshold, state_dir=state_dir
        )
        stats = write_outputs(result, out)
        save_state(result, state_dir or config.match_state_dir)
    except BaseException as exc:
        if run is not None:
            run.fail("matching", exc)
        raise
    summary = MatchSummary.of(stats, ingests, checked, out)
    if run is not None:
        summary.run_id = run.run_id
        run.finish(RunStatus.SUCCEEDED, {"match": {k: v for k, v in stats.items() if k not in ("seconds", "peak_mb")}})
    return summary
