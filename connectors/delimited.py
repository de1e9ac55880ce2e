"""Parse a delimited text file (CSV, pipe-separated …) into a raw text frame, fast and strictly.

The fast path is pyarrow's multi-threaded reader. When it rejects the file, a slow pass with
Python's csv module finds the exact row and column to name in the error. pyarrow's own
messages quote the offending line, which is personal data, so they are never passed on.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from nominal.errors import FeedError

from .base import as_text_frame, with_provenance

_BLOCK_SIZE = 8 << 20
_CANDIDATE_DELIMITERS = (",", "|", ";", "\t")
_SHOW_AT_MOST = 5


@dataclass(frozen=True)
class TextFormat:
    delimiter: str = ","
    quoting: bool = True  # RFC 4180 double quotes; False: a quote is plain data
    encoding: str = "utf-8"  # a UTF-8 byte-order mark is accepted and dropped whatever this says
    header: bool = True
    column_names: tuple[str, ...] | None = None  # required when header is False


def parse_delimited(data: bytes, fmt: TextFormat, *, feed: str, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Return the raw frame (text columns plus provenance) and the source columns in order."""
    codec = codecs.lookup(fmt.encoding).name
    utf8 = codec in {"utf-8", "utf-8-sig"}
    if utf8 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        raise FeedError(feed, "file is empty (no header, no rows)", source=source, kind="empty")
    _refuse_nul_bytes(data, fmt, feed=feed, source=source)
    columns = _read_header(data, fmt, feed=feed, source=source)
    text_reader = _TextReader(data, fmt, utf8, feed=feed, source=source)
    if fmt.header and text_reader.data_rows_exist() is False:
        raise FeedError(feed, "file has a header but no data rows", source=source, kind="empty")

    invalid_rows: list[int | None] = []

    def on_invalid_row(row) -> str:
        invalid_rows.append(row.number)
        return "skip"

    read_options = pa_csv.ReadOptions(
        column_names=list(columns),
        skip_rows=1 if fmt.header else 0,
        encoding="utf8" if utf8 else fmt.encoding,
        block_size=_BLOCK_SIZE,
    )
    parse_options = pa_csv.ParseOptions(
        delimiter=fmt.delimiter,
        quote_char='"' if fmt.quoting else False,
        double_quote=True,
        newlines_in_values=fmt.quoting,
        invalid_row_handler=on_invalid_row,
    )
    convert_options = pa_csv.ConvertOptions(
        column_types={c: pa.string() for c in columns},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        text_reader.raise_first_problem(columns)
        raise FeedError(feed, "file could not be parsed", source=source) from None
    if invalid_rows:
        text_reader.raise_first_problem(columns)
        raise FeedError(feed, f"{len(invalid_rows)} row(s) have the wrong number of fields", source=source)

    frame = as_text_frame(table.to_pandas())
    return with_provenance(frame, feed, source), list(columns)


def _refuse_nul_bytes(data: bytes, fmt: TextFormat, *, feed: str, source: str) -> None:
    at = data.find(b"\x00")
    if at < 0:
        return
    line_start = data.rfind(b"\n", 0, at) + 1
    line = data.count(b"\n", 0, at) + 1
    field_index = data.count(fmt.delimiter.encode(), line_start, at)
    header = _first_line_fields(data, fmt)
    column = header[field_index] if fmt.header and field_index < len(header) else None
    row = line - 1 if fmt.header else line
    raise FeedError(
        feed,
        f"NUL byte at line {line} (byte offset {at}): the file is binary or corrupt",
        source=source,
        row=row,
        column=column,
        kind="bad_encoding",
    )


def _first_line_fields(data: bytes, fmt: TextFormat) -> list[str]:
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)].decode(fmt.encoding, errors="replace").rstrip("\r")
    return next(csv.reader([first], delimiter=fmt.delimiter, quoting=_quoting(fmt)), [])


def _read_header(data: bytes, fmt: TextFormat, *, feed: str, source: str) -> tuple[str, ...]:
    if not fmt.header:
        if not fmt.column_names:
            raise FeedError(feed, "header: false needs column_names in the connector options", source=source)
        return tuple(fmt.column_names)
    try:
        end = data.find(b"\n")
        data[: end if end >= 0 else len(data)].decode(fmt.encoding)
    except UnicodeDecodeError:
        raise FeedError(
            feed, f"header is not valid {fmt.encoding}: wrong encoding?", source=source, kind="bad_encoding"
        ) from None
    names = [name.strip() for name in _first_line_fields(data, fmt)]
    if len(names) == 1:
        seen = [d for d in _CANDIDATE_DELIMITERS if d != fmt.delimiter and d in names[0]]
        if seen:
            raise FeedError(
                feed,
                f"header has one column: the file is not {fmt.delimiter!r}-delimited (it looks {seen[0]!r}-delimited)",
                source=source,
                kind="bad_format",
            )
    blank = [i + 1 for i, name in enumerate(names) if not name]
    if blank:
        raise FeedError(
            feed, f"header has a blank column name at position {blank[0]}", source=source, kind="bad_format"
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise FeedError(feed, f"header repeats column(s) {', '.join(duplicated)}", source=source, kind="bad_format")
    return tuple(names)


def _quoting(fmt: TextFormat) -> Literal[0, 3]:  # csv.QUOTE_MINIMAL, csv.QUOTE_NONE
    return csv.QUOTE_MINIMAL if fmt.quoting else csv.QUOTE_NONE


class _TextReader:
    """The slow, exact pass: walks records with Python's csv module to name the bad row."""

    def __init__(self, data: bytes, fmt: TextFormat, utf8: bool, *, feed: str, source: str):
        self.data, self.fmt, self.utf8, self.feed, self.source = data, fmt, utf8, feed, source

    def data_rows_exist(self) -> bool:
        end = self.data.find(b"\n")
        return end >= 0 and bool(self.data[end + 1 :].strip())

    def _text(self) -> str:
        try:
            return self.data.decode("utf-8" if self.utf8 else self.fmt.encoding)
        except UnicodeDecodeError as exc:
            line = self.data.count(b"\n", 0, exc.start) + 1
            line_start = self.data.rfind(b"\n", 0, exc.start) + 1
            field_index = self.data.count(self.fmt.delimiter.encode(), line_start, exc.start)
            header = _first_line_fields(self.data, self.fmt)
            column = header[field_index] if self.fmt.header and field_index < len(header) else None
            raise FeedError(
                self.feed,
                f"byte 0x{self.data[exc.start]:02X} at line {line} is not valid {self.fmt.encoding}"
                " (was the file saved in another encoding, e.g. Windows-1252?)",
                source=self.source,
                row=line - 1 if self.fmt.header else line,
                column=column,
                kind="bad_encoding",
            ) from None

    def raise_first_problem(self, columns: tuple[str, ...]) -> None:
        text = self._text()
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=self.fmt.delimiter,
            quoting=_quoting(self.fmt),
            doublequote=True,
            strict=True,
        )
        problems: list[tuple[int, int, int]] = []  # (row, line, fields)
        row = 0
        try:
            if self.fmt.header:
                next(reader)
            for row, fields in enumerate(reader, start=1):
                if fields and len(fields) != len(columns):
                    problems.append((row, reader.line_num, len(fields)))
                    if len(problems) >= _SHOW_AT_MOST:
                        break
        except csv.Error:
            raise FeedError(
                self.feed,
                f"unbalanced quotes near line {reader.line_num}: a value opens a quote that never closes",
                source=self.source,
                row=row + 1,
                kind="bad_format",
            ) from None
        if not problems:
            return
        row, line, found = problems[0]
        column = columns[found] if found < len(columns) else None
        hint = (
            "an embedded line break or a missing delimiter?"
            if found < len(columns)
            else f"a stray {self.fmt.delimiter!r} inside a value?"
        )
        others = ", ".join(str(p[0]) for p in problems[1:])
        raise FeedError(
            self.feed,
            f"line {line} has {found} field(s), expected {len(columns)} — {hint}"
            + (f" (also rows {others})" if others else ""),
            source=self.source,
            row=row,
            column=column,
            kind="ragged_row",
        )
