"""Vectorised string operations on pandas ``str`` columns through pyarrow's compute kernels (RE2).

pandas 3 runs several ``Series.str`` methods (regex replace and extract among them) one element
at a time in Python; these helpers keep a 2-million-row column in C++. Missing values stay NA.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from doublemetaphone import doublemetaphone


def _arrow(s: pd.Series) -> pa.Array:
    array = pa.array(s, type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _series(array: pa.Array, like: pd.Series) -> pd.Series:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pd.Series(array.to_pandas().array, index=like.index, dtype="str")


def replace(s: pd.Series, pattern: str, replacement: str) -> pd.Series:
    """Every match of a regular expression replaced (RE2 syntax; ``\\1`` for groups)."""
    return _series(pc.replace_substring_regex(_arrow(s), pattern, replacement), s)


def upper(s: pd.Series) -> pd.Series:
    return _series(pc.utf8_upper(_arrow(s)), s)


def fullmatch(s: pd.Series, pattern: str) -> pd.Series:
    """True where the whole value matches; False where it does not or is missing."""
    matched = pc.match_substring_regex(_arrow(s), f"^(?:{pattern})$")
    return pd.Series(matched.fill_null(False).to_numpy(zero_copy_only=False), index=s.index, dtype=bool)


def extract(s: pd.Series, pattern: str) -> pd.DataFrame:
    """The named groups of a full match, one column each, for the rows that match (others dropped)."""
    matched = pc.extract_regex(_arrow(s), f"^(?:{pattern})$")
    valid = matched.is_valid().to_numpy(zero_copy_only=False)
    names = [matched.type[i].name for i in range(matched.type.num_fields)]
    columns = {name: _series(matched.field(name), s)[valid] for name in names}
    return pd.DataFrame(columns, index=s.index[valid])


def to_int(s: pd.Series) -> pd.Series:
    """Digits to int64 (callers pass only values already matched as digits)."""
    return pd.Series(pc.cast(_arrow(s), pa.int64()).to_numpy(zero_copy_only=False), index=s.index, dtype="int64")


def squeeze(s: pd.Series) -> pd.Series:
    """Upper case with all white space removed; blank becomes NA."""
    out = upper(replace(s, r"\s+", ""))
    return out.where(out.str.len() > 0)


def name_sound(name: str | None) -> str | None:
    """The Double Metaphone code of a name's letters (``SMYTHE`` and ``SMITH`` share one), or None:
    how the store finds a name spelt another way."""
    letters = "".join(ch for ch in (name or "").upper() if "A" <= ch <= "Z")
    return (doublemetaphone(letters)[0][:16] or None) if letters else None


def name_anagram(name: str | None) -> str | None:
    """A name's letters in order (``SMTIH`` and ``SMITH`` share one): finds a name typed with two
    letters swapped, which changes its sound."""
    letters = sorted(ch for ch in (name or "").upper() if "A" <= ch <= "Z")
    return "".join(letters)[:64] or None


def name_sounds(names: pd.Series) -> pd.Series:
    """``name_sound`` of each value, worked out once per distinct name."""
    return _per_distinct(names, name_sound)


def name_anagrams(names: pd.Series) -> pd.Series:
    """``name_anagram`` of each value, worked out once per distinct name."""
    return _per_distinct(names, name_anagram)


def _per_distinct(names: pd.Series, key: Callable[[str | None], str | None]) -> pd.Series:
    distinct = pd.unique(names.dropna())
    codes = {name: key(str(name)) for name in distinct}
    return names.map(codes).astype(object).where(names.notna(), None)
