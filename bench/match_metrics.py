"""Accuracy figures computed the same way for both matchers.

Every figure goes through ``matching.evaluate.evaluate`` on cluster assignments (feed,
source_key, person_id), so nominal and Splink are scored by identical code: a tool's scored
pairs at or above a threshold are joined into persons by connected components, then compared
with the truth. Blocking recall is the share of true pairs that a tool's blocking produced as
candidate pairs (a true pair never compared can never be linked).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal.matching.clustering import components
from nominal.matching.evaluate import evaluate

# Thresholds printed side by side, and the grid the best threshold is looked for on.
SHOWN_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99)
GRID = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9999)
SEPARATOR = "|"  # record id = feed|source_key


class Keys:
    """Every record as an integer (its position in the truth), and pairs as int64 codes."""

    def __init__(self, truth: pd.DataFrame):
        self.truth = truth.reset_index(drop=True)
        self.ids = pd.Index(self.truth["feed"].astype("str") + SEPARATOR + self.truth["source_key"].astype("str"))
        self.n = np.int64(len(self.ids))

    def positions(self, ids) -> np.ndarray:
        found = self.ids.get_indexer(pd.Index(ids))
        if (found < 0).any():
            raise ValueError(
                f"{int((found < 0).sum())} record ids not in the truth, e.g. {np.asarray(ids)[found < 0][:3]}"
            )
        return found.astype(np.int64)

    def codes(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Order-free code of each pair of positions."""
        return np.minimum(a, b) * self.n + np.maximum(a, b)

    def true_pairs(self, link_only: bool) -> np.ndarray:
        """Codes of all pairs of records of one true person (across feeds only when linking)."""
        person = pd.factorize(self.truth.iloc[:, 2].astype("str"))[0]  # the truth's id column
        order = np.argsort(person, kind="stable")
        grouped = person[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        sizes = np.diff(np.r_[starts, len(grouped)])
        a, b = [], []
        for size in np.unique(sizes[sizes > 1]):  # all pairs within groups of each size at once
            members = order[np.add.outer(starts[sizes == size], np.arange(size))]
            i, j = np.triu_indices(size, k=1)
            a.append(members[:, i].ravel())
            b.append(members[:, j].ravel())
        a = np.concatenate(a) if a else np.zeros(0, np.int64)
        b = np.concatenate(b) if b else np.zeros(0, np.int64)
        if link_only:
            feed = self.truth["feed"].to_numpy()
            across = feed[a] != feed[b]
            a, b = a[across], b[across]
        return _distinct(self.codes(a, b))

    def clusters(self, labels: np.ndarray) -> pd.DataFrame:
        return self.truth[["feed", "source_key"]].assign(person_id=labels.astype("str"))


def _distinct(values: np.ndarray) -> np.ndarray:
    """Distinct values, ascending, by a sort (NumPy 2.4's np.unique / np.isin are slow on big int64 arrays)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def blocking_recall(keys: Keys, true_codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Share of true pairs among a tool's candidate pairs (positions ``a``, ``b``)."""
    if not len(true_codes):
        return 1.0
    candidates = _distinct(keys.codes(a, b))
    at = np.minimum(np.searchsorted(candidates, true_codes), max(len(candidates) - 1, 0))
    found = candidates[at] == true_codes if len(candidates) else np.zeros(len(true_codes), bool)
    return round(float(found.mean()), 6)


def pairwise(keys: Keys, a: np.ndarray, b: np.ndarray) -> dict:
    """Pairwise precision / recall / F1 of the persons that links (a, b) make."""
    labels = components(int(keys.n), a, b)
    result = evaluate(keys.clusters(labels), keys.truth)["pairwise"]
    return {k: result[k] for k in ("precision", "recall", "f1")}


def sweep(
    keys: Keys,
    a: np.ndarray,
    b: np.ndarray,
    probability: np.ndarray,
    always: np.ndarray | None = None,
    never: np.ndarray | None = None,
) -> dict[float, dict]:
    """Pairwise scores at each threshold of ``GRID`` (and those shown), linking pairs at or above it.

    ``always`` / ``never`` (boolean per pair) are links a tool makes or refuses whatever the
    threshold: for nominal, identifier links and the twins rule, as its own threshold would.
    """
    always = np.zeros(len(a), bool) if always is None else always
    never = np.zeros(len(a), bool) if never is None else never
    out = {}
    for threshold in sorted(set(GRID) | set(SHOWN_THRESHOLDS)):
        chosen = ~never & (always | (probability >= threshold))
        out[threshold] = pairwise(keys, a[chosen], b[chosen])
    return out


def best(scores: dict[float, dict]) -> tuple[float, dict]:
    """The threshold with the highest F1 (the highest such threshold on ties)."""
    threshold = max(scores, key=lambda t: (scores[t]["f1"], t))
    return threshold, scores[threshold]
