"""Match: one night's canonical records into persons, with the state a night leaves for the next.

Plain functions (the nightly flow wraps them). The previous night's state (model, scored pairs,
persons) lives in ``matching.state_dir``; previous person ids and officers' decisions come from
the store when one is given.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd

from nominal.config import Config
from nominal.matching.ids import events_for_csv
from nominal.matching.model import Model
from nominal.matching.pipeline import MatchResult, match
from nominal.matching.schemas import CLUSTERS
from nominal.matching.settings import load_settings
from nominal.matching.state import MatchState

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
    engine=None,
    full: bool = False,
    retrain: bool = False,
    threshold: float | None = None,
    state_dir: Path | None = None,
    previous_links: pd.DataFrame | None = None,
    compare_pairs=None,
) -> MatchResult:
    """``previous_links`` (feed, source_key, person_id): the store's, when the caller has read them;
    ``compare_pairs``: where candidate pairs are compared (``matching.pipeline.match``)."""
    from nominal.store import queries

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
