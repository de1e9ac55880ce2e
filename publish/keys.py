"""Set operations on text keys over millions of rows. pandas' Arrow-backed strings answer ``isin``
and MultiIndex look-ups through Python loops (seconds per million); plain object arrays use the
C hash tables."""

from __future__ import annotations

import numpy as np
import pandas as pd


def objects(values) -> pd.Index:
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def isin(values, among) -> np.ndarray:
    """Which of ``values`` are in ``among`` (missing values are in nothing)."""
    return objects(values).isin(np.asarray(among, dtype=object))


def record_keys(frame: pd.DataFrame, feed: str = "feed", source_key: str = "source_key") -> pd.Index:
    """One text key per record, ``feed`` and ``source_key`` joined by a separator no key contains."""
    return objects((frame[feed].astype(str) + "\x1f" + frame[source_key].astype(str)).to_numpy(dtype=object))
