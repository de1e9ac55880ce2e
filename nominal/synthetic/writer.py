"""Writing deliveries and truth files: text built column by column with pyarrow, quoted where the
format needs it, encoded once and hashed as it is written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import strs

CHUNK_ROWS = 250_000  # rows rendered at a time: bounds memory at any population size


@dataclass(frozen=True)
class TextFormat:
    delimiter: str
    quoting: bool  # RFC 4180 minimal quoting; False: values must never need it
    bom: bool
    newline: str


POLICE = TextFormat(",", quoting=True, bom=True, newline="\r\n")
PROBATION = TextFormat("|", quoting=False, bom=False, newline="\n")
PRISON = TextFormat(",", quoting=True, bom=False, newline="\n")
TRUTH = TextFormat(",", quoting=True, bom=False, newline="\n")


def _quoted(values: pa.Array, delimiter: str) -> pa.Array:
    """Quote values holding the delimiter, a quote, CR or LF; double the quotes inside."""
    needs = pc.match_substring_regex(values, f'[{re.escape(delimiter)}"\\r\\n]')
    if not pc.any(needs).as_py():
        return values
    quoted = strs.join('"', pc.replace_substring(values, '"', '""'), '"')
    return pc.if_else(needs, quoted, values)


def _refuse_unquotable(name: str, values: pa.Array, delimiter: str) -> None:
    if pc.any(pc.match_substring_regex(values, f"[{re.escape(delimiter)}\\r\\n]")).as_py():
        raise ValueError(f"a {name} value holds {delimiter!r} or a line break, which this format cannot carry")


def _lines(columns: dict[str, pa.Array], fmt: TextFormat, free_text) -> pa.Buffer:
    """The bytes of these rows: fields joined by the delimiter, each row ended by the newline.

    Only ``free_text`` columns can hold a delimiter, quote or line break (dates, codes and
    identifiers are built from digits and letters), so only they are checked and quoted."""
    fields = []
    for name, values in columns.items():
        values = strs.arrow(values.fill_null("")) if values.null_count else strs.arrow(values)
        if free_text is None or name in free_text:
            if fmt.quoting:
                values = _quoted(values, fmt.delimiter)
            else:
                _refuse_unquotable(name, values, fmt.delimiter)
        fields.append(values)
    joined = pc.binary_join_element_wise(*fields, pa.scalar(fmt.delimiter, strs.TEXT))
    rows = pc.binary_join_element_wise(joined, pa.scalar(fmt.newline, strs.TEXT), pa.scalar("", strs.TEXT))
    # The rows' characters sit back to back in the array's data buffer: that buffer is the file.
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    begin, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    return rows.buffers()[2].slice(begin, end - begin)


def write_table(
    path: Path,
    header: Iterable[str],
    chunks: Iterable[dict[str, pa.Array]],
    fmt: TextFormat,
    free_text: frozenset[str] | None = None,
) -> tuple[int, str]:
    """Write header and rows; return the number of data rows and the sha256 of the file's bytes.
    ``free_text``: the columns that may need quoting (default: all)."""
    digest = hashlib.sha256()
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:

        def emit(data) -> None:
            out.write(data)
            digest.update(data)

        emit((b"\xef\xbb\xbf" if fmt.bom else b"") + (fmt.delimiter.join(header) + fmt.newline).encode("utf-8"))
        for columns in chunks:
            size = len(next(iter(columns.values())))
            if size:
                emit(_lines(columns, fmt, free_text))
                rows += size
    return rows, digest.hexdigest()


def chunked(frame, render: Callable, size: int = CHUNK_ROWS) -> Iterable[dict[str, pa.Array]]:
    """Render a frame in slices of ``size`` rows (each slice turned into columns by ``render``)."""
    for start in range(0, len(frame), size):
        yield render(frame.iloc[start : start + size])


def write_manifest(path: Path, manifest: dict) -> None:
    """As the source systems write it: ``json.dumps(indent=1)``, no trailing newline."""
    path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
