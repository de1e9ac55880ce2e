"""The ``file`` connector: one CSV, pipe- or tab-delimited, or Parquet file at a path.

Text formats go through the shared strict parser (``parse_delimited``); Parquet is read with
pyarrow and every column turned into text, dates and timestamps in ISO form. The file's bytes
are read once: the same bytes are parsed and checksummed. Verifying a delivery against a
manifest and archiving it are the landing connector's job, not this one's.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import field_validator, model_validator

from nominal.errors import FeedError

from .base import (
    ConnectorOptions,
    FetchContext,
    RawExtract,
    as_text_frame,
    check_date_placeholders,
    fill_date_placeholders,
    with_provenance,
)
from .delimited import TextFormat, parse_delimited

Format = Literal["csv", "psv", "tsv", "parquet"]

FORMAT_BY_EXTENSION: dict[str, Format] = {
    ".csv": "csv",
    ".psv": "psv",
    ".pipe": "psv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DELIMITER_BY_FORMAT = {"csv": ",", "psv": "|", "tsv": "\t"}

# Placeholders a path (or an HTTP parameter) may hold, both meaning the run's as-of date:
# ``{date:%Y%m%d}`` → 20240131, ``{as_of}`` → 2024-01-31.


class Options(ConnectorOptions):
    path: str
    format: Format | None = None  # None: from the file extension
    delimiter: str | None = None  # None: the format's (``,`` ``|`` tab)
    encoding: str = "utf-8"
    header: bool = True
    column_names: list[str] | None = None
    quoting: bool = True  # False for formats where a double quote is plain data

    @field_validator("path")
    @classmethod
    def _placeholders_known(cls, path: str) -> str:
        check_date_placeholders(path)
        return path

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, delimiter: str | None) -> str | None:
        if delimiter is not None and len(delimiter) != 1:
            raise ValueError("delimiter must be a single character")
        return delimiter

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None
        return encoding

    @model_validator(mode="after")
    def _consistent(self) -> Options:
        if self.format is None:
            self.format = _format_from_extension(self.path)
        if not self.header and not self.column_names:
            raise ValueError("header: false needs column_names")
        if self.format == "parquet" and (self.delimiter or not self.header or self.column_names):
            raise ValueError("delimiter, header and column_names do not apply to parquet")
        return self

    def text_format(self) -> TextFormat:
        assert self.format is not None, "set from the extension when the options are validated"
        return TextFormat(
            delimiter=self.delimiter or DELIMITER_BY_FORMAT[self.format],
            quoting=self.quoting,
            encoding=self.encoding,
            header=self.header,
            column_names=tuple(self.column_names) if self.column_names else None,
        )


def fetch(feed: str, options: Options, context: FetchContext) -> RawExtract:
    path = resolve_path(feed, options.path, context)
    source = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FeedError(feed, f"file not found: {path}", source=source, kind="missing") from None
    except IsADirectoryError:
        raise FeedError(feed, f"path is a directory, not a file: {path}", source=source, kind="missing") from None
    except PermissionError:
        raise FeedError(feed, f"file cannot be read (permission denied): {path}", source=source) from None

    if options.format == "parquet":
        frame, columns = read_parquet(data, feed=feed, source=source)
    else:
        frame, columns = parse_delimited(data, options.text_format(), feed=feed, source=source)
    return RawExtract(
        feed=feed,
        frame=frame,
        source=source,
        columns=columns,
        as_of=context.as_of,
        sha256=hashlib.sha256(data).hexdigest(),
        details={"path": str(path), "bytes": len(data), "format": options.format},
    )


def resolve_path(feed: str, template: str, context: FetchContext) -> Path:
    """The path with its date placeholders filled; relative paths are under the landing directory."""
    path = Path(fill_date_placeholders(feed, template, context.as_of)).expanduser()
    if not path.is_absolute():
        path = (context.landing_dir or Path.cwd()) / path
    return path


def _format_from_extension(path: str) -> Format:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMAT_BY_EXTENSION:
        known = ", ".join(sorted(FORMAT_BY_EXTENSION))
        raise ValueError(f"cannot tell the format from the extension {suffix or '(none)'!r} ({known}): set format")
    return FORMAT_BY_EXTENSION[suffix]


# --- Parquet -----------------------------------------------------------------------------------


def read_parquet(data: bytes, *, feed: str, source: str):
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError):
        # pyarrow's message may quote file content: give only what kind of problem it is.
        raise FeedError(feed, "file is not a readable Parquet file", source=source, kind="bad_format") from None
    columns = list(table.column_names)
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise FeedError(feed, f"file repeats column(s) {', '.join(duplicated)}", source=source, kind="bad_format")
    if table.num_rows == 0:
        raise FeedError(feed, "file has columns but no rows", source=source, kind="empty")
    text = pa.table({name: _as_text(table.column(name)) for name in columns})
    frame = as_text_frame(text.to_pandas())
    return with_provenance(frame, feed, source), columns


_ZERO_FRACTION = r"\.0+(Z?)$"  # ``12:00:05.000000`` → ``12:00:05``; a real fraction is kept


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """One Parquet column as strings, nulls kept as nulls."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _as_text(column.cast(kind.value_type))
    if pa.types.is_timestamp(kind):
        text = pc.replace_substring(column.cast(pa.string()), " ", "T", max_replacements=1)
        return pc.replace_substring_regex(text, _ZERO_FRACTION, r"\1")
    if pa.types.is_time(kind):
        return pc.replace_substring_regex(column.cast(pa.string()), _ZERO_FRACTION, "")
    if pa.types.is_nested(kind):
        values = [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(values, pa.string())])
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        values = [None if v is None else v.hex() for v in column.to_pylist()]
        return pa.chunked_array([pa.array(values, pa.string())])
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        values = [None if v is None else str(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(values, pa.string())])


__all__ = ["Options", "fetch", "resolve_path"]
