"""Accuracy against a truth file mapping (feed, source_key) to a true id.

Pairwise precision, recall and F1 count pairs of records put in one person; the cluster metrics
say how persons compare with true people (exactly right, split, merged) and give B-cubed scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal.vocab import LinkedBy

from .clustering import components
from .schemas import PairDecision, ReviewReason

# links made whatever the threshold, and pairs never linked whatever it is
_FIXED = [LinkedBy.IDENTIFIER, LinkedBy.OFFICER]
_REFUSED = [ReviewReason.OFFICER_DO_NOT_LINK, ReviewReason.POSSIBLE_TWINS]


def _pairs(sizes: pd.Series) -> int:
    s = sizes.to_numpy(dtype=np.int64)
    return int((s * (s - 1) // 2).sum())


def evaluate(clusters: pd.DataFrame, truth: pd.DataFrame, truth_id: str | None = None) -> dict:
    """Compare predicted persons (feed, source_key, person_id) with truth (feed, source_key, <true id>)."""
    truth_id = truth_id or next(c for c in truth.columns if c not in ("feed", "source_key"))
    truth = truth.rename(columns={truth_id: "true_id"})[["feed", "source_key", "true_id"]].astype("str")
    predicted = clusters[["feed", "source_key", "person_id"]].astype("str")
    joined = predicted.merge(truth, on=["feed", "source_key"], how="inner")
    missing = len(predicted) - len(joined)

    both = joined.groupby(["person_id", "true_id"]).size()
    per_cluster = joined.groupby("person_id").size()
    per_true = joined.groupby("true_id").size()
    tp = _pairs(both)
    predicted_pairs, true_pairs = _pairs(per_cluster), _pairs(per_true)
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    # B-cubed: per record, the share of its cluster that is truly its own, and of its truth it found
    cell = both.rename("cell").reset_index()
    cell["cluster_size"] = cell["person_id"].map(per_cluster)
    cell["true_size"] = cell["true_id"].map(per_true)
    n = len(joined)
    b3_precision = float((cell["cell"] ** 2 / cell["cluster_size"]).sum() / n) if n else 1.0
    b3_recall = float((cell["cell"] ** 2 / cell["true_size"]).sum() / n) if n else 1.0

    clusters_per_true = joined.groupby("true_id")["person_id"].nunique()
    trues_per_cluster = joined.groupby("person_id")["true_id"].nunique()
    exact = cell[(cell["cell"] == cell["cluster_size"]) & (cell["cell"] == cell["true_size"])]
    return {
        "records": n,
        "records_without_truth": int(missing),
        "pairwise": {
            "precision": round(precision, 6),
            "recall": round(recall, 6),
            "f1": round(f1, 6),
            "true_pairs": true_pairs,
            "predicted_pairs": predicted_pairs,
            "correct_pairs": tp,
        },
        "clusters": {
            "true_people": int(len(per_true)),
            "persons": int(len(per_cluster)),
            "exactly_right": int(len(exact)),
            "exactly_right_share": round(len(exact) / len(per_true), 6) if len(per_true) else 1.0,
            "true_people_split": int((clusters_per_true > 1).sum()),
            "persons_merging_people": int((trues_per_cluster > 1).sum()),
            "b_cubed": {
                "precision": round(b3_precision, 6),
                "recall": round(b3_recall, 6),
                "f1": round(2 * b3_precision * b3_recall / (b3_precision + b3_recall), 6)
                if b3_precision + b3_recall
                else 0.0,
            },
        },
    }


def threshold_sweep(
    clusters: pd.DataFrame, pairs: pd.DataFrame, truth: pd.DataFrame, thresholds: list[float]
) -> list[dict]:
    """Pairwise scores if the model's link threshold were each of ``thresholds`` (identifier and officer
    links kept; constraints not re-applied), from the scored pairs of a match."""
    keys = clusters[["feed", "source_key"]].astype("str").reset_index(drop=True)
    index = pd.MultiIndex.from_frame(keys)
    a = index.get_indexer(
        pd.MultiIndex.from_arrays([pairs["feed_a"].astype("str"), pairs["source_key_a"].astype("str")])
    )
    b = index.get_indexer(
        pd.MultiIndex.from_arrays([pairs["feed_b"].astype("str"), pairs["source_key_b"].astype("str")])
    )
    known = (a >= 0) & (b >= 0)
    fixed = pairs["linked_by"].isin(_FIXED).to_numpy()
    blocked = (pairs["decision"] == PairDecision.NO_LINK).to_numpy() & pairs["reason"].isin(_REFUSED).to_numpy()
    rows = []
    for threshold in thresholds:
        chosen = known & ~blocked & (fixed | (pairs["match_probability"].to_numpy() >= threshold))
        labels = components(len(keys), a[chosen], b[chosen])
        result = evaluate(keys.assign(person_id=labels.astype(str)), truth)["pairwise"]
        rows.append({"threshold": threshold, **{k: result[k] for k in ("precision", "recall", "f1")}})
    return rows
