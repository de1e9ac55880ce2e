"""One nominal run for bench_match.py, in its own process: match a dataset, print one JSON line.

    .venv/bin/python bench/nominal_runner.py <canonical folder>

Timed: ``matching.pipeline.match`` from canonical frames to persons (prepare, blocking, training,
scoring, decisions, clustering, ids). Not timed: reading the Parquet files, and the scoring
against the truth afterwards (including re-deriving the candidate pairs for blocking recall).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import match_data  # noqa: E402
import match_metrics as mm  # noqa: E402
from matching.blocking import candidate_pairs  # noqa: E402
from matching.evaluate import evaluate  # noqa: E402
from matching.pipeline import match  # noqa: E402
from matching.prepare import prepare  # noqa: E402
from matching.settings import load_settings  # noqa: E402

FEBRL4_SETTINGS = Path(__file__).resolve().parent / "febrl4_settings.yaml"


def settings_for(data: match_data.MatchInput):
    """FEBRL4 has its own settings file; nominal's own feeds use nominal's default settings."""
    return load_settings(FEBRL4_SETTINGS if data.link_type == "link_only" else None)


def without_empty_postcode(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Work round matching/prepare.py failing when no record has a postcode (FEBRL4 has none
    in the canonical, UK-only, field): give it a blank placeholder. The FEBRL4 settings use no
    postcode comparison or key, so the placeholder cannot change the result."""
    if any(f["postcode"].notna().any() for f in frames):
        return frames
    return [f.assign(postcode=" ") for f in frames]


def candidate_positions(keys: mm.Keys, frames: list[pd.DataFrame], settings) -> tuple[np.ndarray, np.ndarray]:
    """nominal's candidate pairs (what its blocking produced), as truth positions."""
    records = prepare(frames)
    candidates = candidate_pairs(records, settings)
    ids = (records.frame["feed"].astype("str") + mm.SEPARATOR + records.frame["source_key"].astype("str")).to_numpy()
    return keys.positions(ids[candidates.a]), keys.positions(ids[candidates.b])


def scored_pairs(keys: mm.Keys, pairs: pd.DataFrame) -> dict:
    """The kept pairs as positions, with what nominal links or refuses whatever the threshold."""
    a = keys.positions(pairs["feed_a"].astype("str") + mm.SEPARATOR + pairs["source_key_a"].astype("str"))
    b = keys.positions(pairs["feed_b"].astype("str") + mm.SEPARATOR + pairs["source_key_b"].astype("str"))
    linked_by = pairs["linked_by"].fillna("").astype("str")
    always = linked_by.str.startswith(("identifier", "officer")).to_numpy()
    never = (pairs["decision"].eq("no_link") & pairs["reason"].fillna("").isin(["officer_do_not_link", "possible_twins"])).to_numpy()
    return {"a": a, "b": b, "p": pairs["match_probability"].to_numpy(dtype="float64"), "always": always, "never": never}


def run(path: str) -> dict:
    data = match_data.load(path)
    frames = without_empty_postcode(data.frames)
    settings = settings_for(data)

    started = time.perf_counter()
    result = match(frames, settings)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before scoring adds its own

    keys = mm.Keys(data.truth)
    link_only = data.link_type == "link_only"
    a, b = candidate_positions(keys, frames, settings)
    pairs = scored_pairs(keys, result.pairs)
    scores = mm.sweep(keys, pairs["a"], pairs["b"], pairs["p"], pairs["always"], pairs["never"])
    best_threshold, best_scores = mm.best(scores)
    default = evaluate(result.clusters, data.truth)
    return {
        "tool": "nominal",
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb),
        "records": result.stats["records"],
        "candidate_pairs": result.stats["candidate_pairs"],
        "blocking_recall": mm.blocking_recall(keys, keys.true_pairs(link_only), a, b),
        "sweep": {str(t): s for t, s in scores.items()},
        "best": {"threshold": best_threshold, **best_scores},
        "default": {"threshold": settings.thresholds.link, **{k: default["pairwise"][k] for k in ("precision", "recall", "f1")},
                    "clusters": default["clusters"]},
        "stages": result.stats["seconds"],
        "pairs_by_rule": result.stats["pairs_by_rule"],
        "skipped_blocks": result.stats["skipped_blocks"],
        "links_cut": result.stats.get("links_cut", 0),
        "em": {k: result.model.trained.get(k) for k in ("em_iterations", "em_converged", "random_pairs")},
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])))
