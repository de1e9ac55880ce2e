"""Fast construction of text columns with pyarrow (one C++ call per column, never per value).

Everything is ``large_string`` so pieces combine freely, and converts to and from pandas ``str``
Series without copying.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pa.large_string()


def arrow(values) -> pa.Array:
    """Any text column (pandas Series, numpy array, list, pyarrow array) as one large_string array."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(values, type=TEXT) if not hasattr(values, "_pa_array") else values._pa_array
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
    return values if values.type == TEXT else values.cast(TEXT)


def take(words, index) -> pa.Array:
    """``words[index]`` as text: how a coded column (names, streets, towns) becomes text."""
    table = words if isinstance(words, pa.Array) else pa.array(np.asarray(words).astype(str), type=TEXT)
    return table.take(pa.array(np.asarray(index, dtype=np.int64)))


def number(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(TEXT)


def padded(values, width: int) -> pa.Array:
    """Integers zero-padded to ``width`` digits."""
    return pc.utf8_lpad(number(values), width, "0")


def join(*parts) -> pa.Array:
    """Element-wise concatenation; a part may be a plain string, repeated for every row."""
    return pc.binary_join_element_wise(*[_operand(p) for p in parts], pa.scalar("", TEXT))


def _operand(part):
    return pa.scalar(part, TEXT) if isinstance(part, str) else arrow(part)


def choose(mask, when_true, when_false) -> pa.Array:
    """Row by row: ``when_true`` where ``mask`` holds, else ``when_false`` (arrays or strings)."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), _operand(when_true), _operand(when_false))


def series(values, index=None) -> pd.Series:
    return pd.Series(arrow(values), dtype="str", index=index)


def repeat(value: str, count: int) -> pa.Array:
    return pa.array(np.full(count, value, dtype=object), type=TEXT) if count else pa.array([], type=TEXT)


def values_at(values, rows) -> np.ndarray:
    """The text at positions ``rows`` as a numpy object array (only those rows are converted)."""
    return arrow(values).take(pa.array(np.asarray(rows, dtype=np.int64))).to_numpy(zero_copy_only=False)


def equals(values, value: str) -> np.ndarray:
    """Boolean numpy array: each value equals ``value``."""
    return pc.equal(arrow(values), pa.scalar(value, TEXT)).to_numpy(zero_copy_only=False)


def is_in(values, value_set) -> np.ndarray:
    """Boolean numpy array: each value is one of ``value_set`` (hash lookup in C++)."""
    return pc.is_in(arrow(values), value_set=arrow(value_set)).to_numpy(zero_copy_only=False)
