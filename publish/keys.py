"""Set operations on text keys over millions of rows. pandas' Arrow-backed strings answer ``isin``
and MultiIndex look-ups through Python loops (seconds per million); plain object arrays use the
C hash tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal.canonical import record_keys


def objects(values: object) -> pd.Index:
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def isin(values: object, among: object) -> np.ndarray:
    """Which of ``values`` are in ``among`` (missing values are in nothing)."""
    return objects(values).isin(np.asarray(among, dtype=object))


def key_index(frame: pd.DataFrame, feed: str = "feed", source_key: str = "source_key") -> pd.Index:
    """The records' keys (``nominal.canonical.record_keys``) as an index for fast look-ups."""
    return objects(record_keys(frame[feed], frame[source_key]).to_numpy(dtype=object))
