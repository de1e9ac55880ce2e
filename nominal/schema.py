"""Declared schemas for the frames that cross a seam between stages.

A stage's output is a pandas frame; its schema says which columns it has, their dtype, what each
means and, for a closed vocabulary, which values it may hold. One module per stage owns the schema
of what it emits (``nominal.matching.schemas``, ``nominal.publish.schemas`` …); the consumer imports
it and never repeats the column list. The schemas that the store reads and writes are in
``nominal.tables`` (the core), because stages and the store may not import each other.

``FrameSchema.problems`` checks a frame against its schema (tests check every stage's output with
it); ``empty`` makes a frame with no rows in the declared dtypes; ``markdown`` documents it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

STR = "str"  # text (object or string dtype), missing as NA
DATE = "datetime64[ms]"
OBJECT = "object"  # any Python value (lists, dicts, dates as objects)


@dataclass(frozen=True)
class Field:
    """One column: its name, pandas dtype, meaning and (for a closed vocabulary) its enum."""

    name: str
    dtype: str
    description: str
    values: type[StrEnum] | None = None
    nullable: bool = True


class SchemaError(ValueError):
    """A frame that does not have the shape its seam declares."""


@dataclass(frozen=True)
class FrameSchema:
    """The columns of a frame passed between stages, in order.

    ``extra`` describes columns beyond the declared ones that the frame may carry (e.g. one level
    and one weight column per comparison); None means no others are allowed.
    """

    name: str
    fields: tuple[Field, ...]
    extra: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def dtypes(self) -> dict[str, str]:
        return {f.name: f.dtype for f in self.fields}

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no column {name!r}")

    def empty(self) -> pd.DataFrame:
        """A frame with no rows and every declared column in its dtype."""
        return pd.DataFrame({f.name: pd.Series(dtype=_pandas_dtype(f.dtype)) for f in self.fields})

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The declared columns of ``frame``, in order (extras dropped)."""
        return frame[list(self.columns)]

    def problems(self, frame: pd.DataFrame) -> list[str]:
        """What is wrong with ``frame`` for this schema: missing or unexpected columns, dtypes,
        values outside a closed vocabulary, nulls where none are allowed. Empty when it conforms."""
        found: list[str] = []
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            found.append(f"{self.name}: missing columns {', '.join(missing)}")
        if self.extra is None:
            unexpected = [c for c in frame.columns if c not in self.columns]
            if unexpected:
                found.append(f"{self.name}: unexpected columns {', '.join(map(str, unexpected))}")
        for f in self.fields:
            if f.name not in frame.columns:
                continue
            column = frame[f.name]
            if not _dtype_fits(column, f.dtype):
                found.append(f"{self.name}.{f.name}: dtype {column.dtype} is not {f.dtype}")
            present = column.dropna() if f.dtype != OBJECT else column[column.notna()]
            if not f.nullable and len(present) != len(column):
                found.append(f"{self.name}.{f.name}: {len(column) - len(present)} missing values")
            if f.values is not None and len(present):
                allowed = {str(v) for v in f.values}
                bad = sorted({str(v) for v in pd.unique(present.astype(str))} - allowed)
                if bad:
                    found.append(f"{self.name}.{f.name}: {', '.join(bad[:5])} not among {', '.join(sorted(allowed))}")
        return found

    def check(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` if it conforms; SchemaError naming every problem if not."""
        found = self.problems(frame)
        if found:
            raise SchemaError("; ".join(found))
        return frame

    def markdown(self) -> str:
        """The schema as a Markdown table (docs and ``nominal schema``)."""
        lines = ["| column | type | meaning |", "|---|---|---|"]
        for f in self.fields:
            kind = f.dtype if f.values is None else f"{f.dtype}: {', '.join(v.value for v in f.values)}"
            lines.append(f"| `{f.name}` | {kind} | {f.description} |")
        if self.extra:
            lines.append(f"| … | | {self.extra} |")
        return "\n".join(lines)


def schema(name: str, fields: Iterable[Field], extra: str | None = None) -> FrameSchema:
    return FrameSchema(name, tuple(fields), extra)


def _pandas_dtype(dtype: str) -> str:
    return OBJECT if dtype == STR else dtype


def _dtype_fits(column: pd.Series, dtype: str) -> bool:
    kind: str = column.dtype.kind
    if dtype == OBJECT:
        return True
    if dtype == STR:
        if kind == "O":  # object: every value present must be text
            present = column[column.notna()]
            return bool(present.map(type).isin([str, np.str_]).all()) if len(present) else True
        return bool(pd.api.types.is_string_dtype(column.dtype))
    if dtype.startswith("datetime64"):
        return kind == "M"
    if dtype in ("int8", "int16", "int32", "int64"):
        return kind in "iu" and not isinstance(column.dtype, pd.api.extensions.ExtensionDtype)
    if dtype in ("Int8", "Int16", "Int32", "Int64"):
        return kind in "iu"
    if dtype.startswith("float"):
        return kind in "fiu"
    if dtype == "bool":
        return kind == "b"
    return str(column.dtype) == dtype
