"""The ``sql`` connector: a query (or a whole table) from any SQLAlchemy URL, read in chunks.

Rows are streamed (a server-side cursor where the driver has one) ``chunk_size`` at a time and
each chunk turned into text at once, so the driver never holds the whole result. Values become
the text a data officer would expect to see: dates ``2024-01-31``, timestamps
``2024-01-31T09:30:00``, integers without ``.0``, SQL NULL as NA.

The URL's password is a secret: it is held as a ``SecretStr``, shown as ``***`` in the source
label and in every message, and may be kept out of the configuration as ``env:VARNAME``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from pydantic import ConfigDict, PositiveInt, SecretStr, model_validator
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from nominal.errors import FeedError, SourceUnavailable

from .base import ENV_PREFIX, MASK, ConnectorOptions, FetchContext, RawExtract, from_env, scrub, with_provenance

DEFAULT_CHUNK_SIZE = 50_000
DEFAULT_CONNECT_TIMEOUT_SECONDS = 30
AS_OF_PARAMETER = "as_of"
# Query-string keys of a URL that carry secrets (e.g. ``?sslpassword=…``), masked like the password.
SECRET_QUERY_WORDS = ("password", "secret", "token", "key")
# Failures that mean "fix the configuration", not "try again later" (so not retried): SQLSTATE
# classes 28 (invalid authorisation) and 3D (unknown database), or, as libpq reports a refused
# login without a SQLSTATE, its wording.
CONFIG_SQLSTATE_CLASSES = ("28", "3D")
REFUSED_LOGIN_PHRASES = ("authentication failed", "does not exist", "no pg_hba.conf entry")
SCHEMA_SQLSTATE_CLASS = "42"  # syntax error, unknown table or column: messages name objects, not data


class Options(ConnectorOptions):
    # Input values are never echoed in validation errors: the URL may hold a password.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    url: SecretStr  # SQLAlchemy URL, or env:VARNAME naming the variable that holds it
    query: str | None = None  # may use the bound parameter :as_of
    table: str | None = None  # ``name`` or ``schema.name``
    chunk_size: PositiveInt = DEFAULT_CHUNK_SIZE
    label: str | None = None  # how the source is named in messages; default the table, or "query"
    connect_timeout_seconds: PositiveInt = DEFAULT_CONNECT_TIMEOUT_SECONDS

    @model_validator(mode="after")
    def _query_or_table(self) -> Options:
        if (self.query is None) == (self.table is None):
            raise ValueError("give exactly one of query and table")
        if self.query is not None and not self.query.strip():
            raise ValueError("query is empty")
        if self.table is not None and not _table_name_parts(self.table):
            raise ValueError("table must be 'name' or 'schema.name'")
        url = self.url.get_secret_value()
        if not url.startswith(ENV_PREFIX):
            try:
                sa.make_url(url)
            except sa.exc.ArgumentError:
                raise ValueError("url is not a SQLAlchemy URL (dialect+driver://user:password@host/db)") from None
        return self

    @property
    def source_label(self) -> str:
        return self.label or self.table or "query"


def fetch(feed: str, options: Options, context: FetchContext) -> RawExtract:
    url = resolve_url(feed, options)
    source = f"{options.source_label} @ {masked_url(url)}"
    secrets = _secrets_of(url)
    statement, parameters = _statement(feed, options, context, source)

    engine = _engine(feed, url, options, source)
    try:
        with _connect(feed, engine, source, secrets) as connection:
            reading = read_chunks(connection, statement, parameters, options.chunk_size, feed, source, secrets)
            chunks = list(reading)
    finally:
        engine.dispose()

    columns = list(chunks[0].columns)
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    return RawExtract(
        feed=feed,
        frame=with_provenance(frame, feed, source),
        source=source,
        columns=columns,
        as_of=context.as_of,
        details={"chunks": len(chunks), "chunk_size": options.chunk_size},
    )


# --- the client: connect, stream, classify failures ---------------------------------------------


def read_chunks(
    connection: Connection,
    statement: sa.Executable,
    parameters: dict[str, Any],
    chunk_size: int,
    feed: str,
    source: str,
    secrets: Sequence[str] = (),
) -> Iterator[pd.DataFrame]:
    """Stream the result ``chunk_size`` rows at a time, each chunk as a text frame (no provenance).

    An empty result is one empty frame, so that the column names are still known.
    """
    try:
        # stream_results: a server-side cursor where the driver has one; yield_per on the result
        # (not as an execution option, which Core results ignore) sets the fetchmany size.
        result = connection.execution_options(stream_results=True).execute(statement, parameters)
        result = result.yield_per(chunk_size)
        columns = list(result.keys())
        _refuse_duplicate_columns(feed, source, columns)
        read_any = False
        for rows in result.partitions():
            read_any = True
            yield chunk_as_text(columns, rows)
        if not read_any:
            yield chunk_as_text(columns, [])
    except sa.exc.DBAPIError as exc:
        raise _classify(feed, exc, source, secrets, connecting=False) from None
    except sa.exc.SQLAlchemyError as exc:  # e.g. a bound parameter without a value
        raise FeedError(feed, f"query failed: {type(exc).__name__}", source=source, kind="bad_query") from None


def _engine(feed: str, url: URL, options: Options, source: str) -> sa.Engine:
    connect_args = {}
    if url.get_backend_name() == "postgresql":  # otherwise a silently dropped connection hangs the night
        connect_args["connect_timeout"] = options.connect_timeout_seconds
    try:
        # One connection for one read: no pool to keep alive between nights.
        return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        message = f"no database driver for this URL ({type(exc).__name__})"
        raise FeedError(feed, message, source=source, kind="config") from None
    except sa.exc.ArgumentError:
        raise FeedError(feed, "url is not a valid SQLAlchemy URL", source=source, kind="config") from None


def _connect(feed: str, engine: sa.Engine, source: str, secrets: Sequence[str]) -> Connection:
    try:
        return engine.connect()
    except sa.exc.DBAPIError as exc:
        raise _classify(feed, exc, source, secrets, connecting=True) from None
    except sa.exc.TimeoutError:
        raise SourceUnavailable(feed, "timed out waiting for a database connection", source=source) from None


def _classify(feed: str, exc: sa.exc.DBAPIError, source: str, secrets: Sequence[str], *, connecting: bool) -> FeedError:
    """Connection refused or lost → SourceUnavailable (retried); a mistake in query or config → FeedError."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    reason = scrub(_first_line(exc.orig), secrets)
    refused_login = connecting and any(phrase in reason for phrase in REFUSED_LOGIN_PHRASES)
    if sqlstate[:2] in CONFIG_SQLSTATE_CLASSES or refused_login:
        return FeedError(feed, f"cannot log in or open the database: {reason}", source=source, kind="config")
    if connecting or exc.connection_invalidated:
        return SourceUnavailable(feed, f"database unreachable: {reason}", source=source)
    # Other errors than syntax and schema ones (bad casts …) may quote a value from the data.
    if sqlstate and not sqlstate.startswith(SCHEMA_SQLSTATE_CLASS):
        reason = f"{type(exc.orig).__name__} (SQLSTATE {sqlstate})"
    return FeedError(feed, f"query failed: {reason}", source=source, kind="bad_query")


# --- shaping: values → text ---------------------------------------------------------------------


def chunk_as_text(columns: list[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    by_column = list(zip(*rows)) if rows else [() for _ in columns]
    return pd.DataFrame(
        {name: pd.Series(column_text(list(values)), dtype="str") for name, values in zip(columns, by_column)},
        columns=columns,
    )


def column_text(values: list[Any]) -> list[str | None]:
    """A column's values as text; text columns (the common case) pass through untouched.

    A column of one type (as a database column is) is converted without per-value dispatch.
    """
    kinds = {type(v) for v in values}
    kinds.discard(type(None))
    if kinds <= {str}:
        return values
    convert = _CONVERTERS.get(kinds.pop()) if len(kinds) == 1 else None
    if convert is None:
        return [value_text(v) for v in values]
    return [None if v is None else convert(v) for v in values]


def value_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # the column's scale kept (``12.50``), never ``1E+2``
    if isinstance(value, dt.datetime):
        return datetime_text(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dict, list)):  # JSON columns
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def datetime_text(value: dt.datetime) -> str:
    """``2024-01-31T09:30:00``; fractions of a second only when there are some."""
    return value.isoformat(timespec="seconds" if value.microsecond == 0 else "microseconds")


def number_text(value: float) -> str:
    """``3.0`` → ``3``; other floats in their shortest exact form."""
    if value.is_integer():
        return str(int(value))
    return repr(value)


_CONVERTERS: dict[type, Callable[[Any], str]] = {
    int: str,
    float: number_text,
    decimal.Decimal: lambda value: format(value, "f"),
    dt.datetime: datetime_text,
    dt.date: dt.date.isoformat,
    bool: lambda value: "true" if value else "false",
}


# --- configuration helpers ----------------------------------------------------------------------


def resolve_url(feed: str, options: Options) -> URL:
    raw = from_env(feed, options.url.get_secret_value(), "the database URL")
    try:
        return sa.make_url(raw)
    except sa.exc.ArgumentError:
        raise FeedError(feed, "url is not a valid SQLAlchemy URL", kind="config") from None


def masked_url(url: URL) -> str:
    """The URL with its password, and any secret-looking query value, as ``***``."""
    query = {key: (MASK if _is_secret_key(key) else value) for key, value in url.query.items()}
    return url.set(query=query).render_as_string(hide_password=True)


def _is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_QUERY_WORDS)


def _secrets_of(url: URL) -> list[str]:
    secrets = [url.password] if url.password else []
    for key, value in url.query.items():
        if _is_secret_key(key):
            secrets.extend([value] if isinstance(value, str) else value)
    return [str(s) for s in secrets if s]


def _first_line(exc: BaseException | None) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _statement(feed: str, options: Options, context: FetchContext, source: str) -> tuple[sa.Executable, dict[str, Any]]:
    if options.table is not None:
        *schema, name = _table_name_parts(options.table)
        # sa.table quotes the names as the dialect needs: no SQL is built from configuration text.
        table = sa.table(name, schema=schema[0] if schema else None)
        return sa.select(sa.literal_column("*")).select_from(table), {}
    assert options.query is not None, "a query where there is no table (checked when the options are validated)"
    statement = sa.text(options.query)
    if AS_OF_PARAMETER not in statement.compile().params:
        return statement, {}
    if context.as_of is None:
        raise FeedError(feed, "the query uses :as_of but the run has no as-of date", source=source, kind="config")
    # Typed, so that SQLite (no date type) compares it as ISO text and PostgreSQL as a date.
    statement = statement.bindparams(sa.bindparam(AS_OF_PARAMETER, type_=sa.Date()))
    return statement, {AS_OF_PARAMETER: context.as_of}


def _table_name_parts(table: str) -> list[str]:
    """``[name]`` or ``[schema, name]``; empty if the table option is neither."""
    parts = [part.strip() for part in table.split(".")]
    return parts if len(parts) in (1, 2) and all(parts) else []


def _refuse_duplicate_columns(feed: str, source: str, columns: list[str]) -> None:
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        message = f"query returns column(s) {', '.join(duplicated)} more than once: alias them"
        raise FeedError(feed, message, source=source, kind="bad_query")


__all__ = ["Options", "fetch", "read_chunks", "chunk_as_text", "value_text", "masked_url"]
