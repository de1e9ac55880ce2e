"""Set operations on integer arrays by sorting.

NumPy 2.4's ``np.unique`` (without ``return_inverse``) and ``np.isin`` take tens of seconds on
tens of millions of distinct int64 values, against well under a second for a sort: the pair keys
of a million-person night hit exactly that case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending."""
    if len(values) == 0:
        return values.copy()
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def isin_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Element-wise membership of ``values`` in an ascending array."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def dense_codes(values: np.ndarray) -> np.ndarray:
    """0..k-1 codes, equal values equal codes (in order of first appearance)."""
    codes, _ = pd.factorize(values)
    return codes.astype(np.int64)


def group_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct code: the index of its first row and how many rows hold it."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(codes) else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[starts, len(codes)])
    return order[starts], counts
