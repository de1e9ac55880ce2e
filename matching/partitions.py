"""Candidate pairs compared in partitions on other processes or machines (the nightly flow's Dask
runner: ``flows.nightly``). Each worker prepares the night's records once, from the same frames
and settings as the flow (``prepare`` is deterministic, so a worker's codes are the flow's), then
compares its share of the pairs; the flow joins the levels in order. Plain functions: no Dask here.
"""

from __future__ import annotations

import threading
from itertools import pairwise

import numpy as np
import pandas as pd

from .comparisons import Gamma, compare
from .pipeline import extra_columns
from .prepare import Records, prepare
from .settings import Settings

_prepared: dict[str, Records] = {}  # one night's records per worker process
_lock = threading.Lock()


def partition_bounds(pairs: int, per_partition: int) -> list[tuple[int, int]]:
    """[start, stop) of each partition: about ``per_partition`` pairs each, at least one."""
    count = max(1, -(-pairs // max(1, per_partition)))
    edges = np.linspace(0, pairs, count + 1).astype(np.int64)
    return [(int(lo), int(hi)) for lo, hi in pairwise(edges)]


def compare_partition(
    night: str, frames: list[pd.DataFrame], settings: Settings, a: np.ndarray, b: np.ndarray
) -> Gamma:
    """Levels for pairs (a, b) of the night's records (``night`` names the frames, so that a worker
    prepares them once for all its partitions)."""
    with _lock:
        records = _prepared.get(night)
        if records is None:
            _prepared.clear()
            records = _prepared[night] = prepare(frames, extra_columns=extra_columns(settings))
    return compare(records, settings, a, b)


def joined(parts: list[Gamma]) -> Gamma:
    """The partitions' levels as one, in partition order."""
    if len(parts) == 1:
        return parts[0]
    return Gamma(
        a=np.concatenate([p.a for p in parts]),
        b=np.concatenate([p.b for p in parts]),
        levels={k: np.concatenate([p.levels[k] for p in parts]) for k in parts[0].levels},
        tf_codes={k: np.concatenate([p.tf_codes[k] for p in parts]) for k in parts[0].tf_codes},
    )
