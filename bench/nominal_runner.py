"""One nominal run for bench_match.py, in its own process: match a dataset, print one JSON line.

    .venv/bin/python bench/nominal_runner.py <canonical folder>

Timed: ``matching.pipeline.match`` from canonical frames to persons (prepare, blocking, training,
scoring, decisions, clustering, ids). Not timed: reading the Parquet files, and the scoring
against the truth afterwards. The candidate pairs (for blocking recall) are the very ones
``match`` made: its ``candidate_pairs`` call is observed, not repeated.
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

import match_data
import match_metrics as mm

from nominal.matching import levels, pipeline
from nominal.matching.evaluate import evaluate
from nominal.matching.schemas import PairDecision, ReviewReason
from nominal.matching.settings import load_settings
from nominal.vocab import LinkedBy

FEBRL4_SETTINGS = Path(__file__).resolve().parent / "febrl4_settings.yaml"


def settings_for(data: match_data.MatchInput):
    """FEBRL4 has its own settings file; nominal's own feeds use nominal's default settings."""
    return load_settings(FEBRL4_SETTINGS if data.link_type == "link_only" else None)


class CandidateRecorder:
    """Keeps what ``match``'s blocking returned, without changing it (``match`` reports only counts)."""

    def __init__(self):
        self.records = None
        self.candidates = None

    def __enter__(self):
        original = self.original = pipeline.candidate_pairs

        def recording(records, settings, *args, **kwargs):
            self.records = records
            self.candidates = original(records, settings, *args, **kwargs)
            return self.candidates

        pipeline.candidate_pairs = recording
        return self

    def __exit__(self, *exc) -> None:
        pipeline.candidate_pairs = self.original

    def positions(self, keys: mm.Keys) -> tuple[np.ndarray, np.ndarray]:
        """The candidate pairs as truth positions."""
        f = self.records.frame
        ids = (f["feed"].astype("str") + mm.SEPARATOR + f["source_key"].astype("str")).to_numpy()
        return keys.positions(ids[self.candidates.a]), keys.positions(ids[self.candidates.b])


def scored_pairs(keys: mm.Keys, pairs: pd.DataFrame) -> dict:
    """The kept pairs as positions, with what nominal links or refuses whatever the threshold."""
    a = keys.positions(pairs["feed_a"].astype("str") + mm.SEPARATOR + pairs["source_key_a"].astype("str"))
    b = keys.positions(pairs["feed_b"].astype("str") + mm.SEPARATOR + pairs["source_key_b"].astype("str"))
    always = pairs["linked_by"].isin([LinkedBy.IDENTIFIER, LinkedBy.OFFICER]).to_numpy()
    never = (
        pairs["decision"].eq(PairDecision.NO_LINK)
        & pairs["reason"].isin([ReviewReason.OFFICER_DO_NOT_LINK, ReviewReason.POSSIBLE_TWINS])
    ).to_numpy()
    return {"a": a, "b": b, "p": pairs["match_probability"].to_numpy(dtype="float64"), "always": always, "never": never}


def unused_comparisons(settings, pairs: pd.DataFrame) -> list[str]:
    """Comparisons that were null for every kept pair: a column the matcher never saw (a warning sign)."""
    return [c.name for c in settings.comparisons if len(pairs) and (pairs[f"{c.name}_level"] == levels.NULL).all()]


def run(path: str) -> dict:
    data = match_data.load(path)
    settings = settings_for(data)

    with CandidateRecorder() as blocking:
        started = time.perf_counter()
        result = pipeline.match(data.frames, settings)
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before scoring adds its own

    keys = mm.Keys(data.truth)
    link_only = data.link_type == "link_only"
    a, b = blocking.positions(keys)
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
        "default": {
            "threshold": settings.thresholds.link,
            **{k: default["pairwise"][k] for k in ("precision", "recall", "f1")},
            "clusters": default["clusters"],
        },
        "stages": result.stats["seconds"],
        "pairs_by_rule": result.stats["pairs_by_rule"],
        "skipped_blocks": result.stats["skipped_blocks"],
        "links_cut": result.stats.get("links_cut", 0),
        "null_comparisons": unused_comparisons(settings, result.pairs),
        "em": {k: result.model.trained.get(k) for k in ("em_iterations", "em_converged", "random_pairs")},
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])))
