"""Bulk writes of whole frames inside one transaction, fast on both backends.

A frame is first loaded into a temporary staging table shaped like its target (PostgreSQL:
``COPY`` of CSV text; SQLite: one executemany of values converted column by column), then merged
with one set-based statement (``INSERT … SELECT … ON CONFLICT DO UPDATE`` or ``DELETE … WHERE
EXISTS``). Row-by-row ORM writes would take minutes for a million persons. Used by
``store.writes`` only.
"""

from __future__ import annotations

import io
import logging
import time
from itertools import count
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Select,
    Table,
    text,
)
from sqlalchemy.schema import AddConstraint, DropConstraint

_names = count()
COPY_CHUNK_ROWS = 50_000
log = logging.getLogger("nominal.store")


def stage(connection: Connection, table: Table, frame: pd.DataFrame) -> str:
    """A temporary table like ``table`` (dropped at commit) holding ``frame``'s columns; its name."""
    name = f"stage_{table.name}_{next(_names)}"
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    if connection.dialect.name == "postgresql":
        connection.execute(text(f'CREATE TEMPORARY TABLE {name} AS SELECT {quoted} FROM "{table.name}" WITH NO DATA'))
    else:
        connection.execute(text(f'CREATE TEMPORARY TABLE {name} AS SELECT {quoted} FROM "{table.name}" WHERE 0'))
    _load(connection, table, name, frame)
    return name


def _load(connection: Connection, table: Table, target: str, frame: pd.DataFrame) -> None:
    """Append ``frame`` to the table ``target`` (shaped like ``table``): COPY on PostgreSQL, executemany on SQLite."""
    columns = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None, "an open connection has its driver's connection"
        with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({quoted}) FROM STDIN WITH (FORMAT csv)") as copy:
            # in chunks: the server takes in one chunk while the next is made here (two cores, not one after the other)
            for start in range(0, len(frame), COPY_CHUNK_ROWS):
                copy.write(_csv_bytes(table, frame.iloc[start : start + COPY_CHUNK_ROWS]))
    else:
        rows = list(zip(*(_sqlite_values(table, frame, c) for c in columns)))
        placeholders = ", ".join("?" for _ in columns)
        if rows:
            connection.exec_driver_sql(f"INSERT INTO {target} ({quoted}) VALUES ({placeholders})", rows)


def _load_into_empty(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Load an empty table, on PostgreSQL with its secondary indexes and foreign keys dropped and
    added back afterwards: one sort per index and one check per key instead of a million of each
    (PostgreSQL's "Populating a Database"). PostgreSQL's DDL is transactional, so a failure or a
    killed process restores them with everything else."""
    if connection.dialect.name != "postgresql":
        # Python's sqlite3 opens its transaction at the first INSERT, so a DROP INDEX run before it
        # would commit on its own and outlive a rollback: on SQLite the rows simply go in.
        _load(connection, table, f'"{table.name}"', frame)
        return
    indexes = [index for index in table.indexes if index.name]
    # PostgreSQL checks a foreign key row by row on COPY, but all at once when it is added back
    foreign = list(table.foreign_key_constraints)
    connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for constraint in foreign:
        connection.execute(DropConstraint(constraint))
    for index in indexes:
        index.drop(connection)
    _load(connection, table, f'"{table.name}"', frame)
    for index in indexes:
        index.create(connection)
    for constraint in foreign:
        connection.execute(AddConstraint(constraint))


def _is_empty(connection: Connection, table: Table) -> bool:
    return connection.execute(text(f'SELECT 1 FROM "{table.name}" LIMIT 1')).first() is None


def upsert(
    connection: Connection, table: Table, frame: pd.DataFrame, keys: tuple[str, ...], keep: tuple[str, ...] = ()
) -> int:
    """Insert ``frame``'s rows, replacing the rows with the same ``keys``; ``keep`` columns of a
    replaced row are left as they were (e.g. when a person was first seen)."""
    if frame.empty:
        return 0
    started = time.perf_counter()
    if _is_empty(connection, table):  # a first night: nothing to replace, straight in
        _load_into_empty(connection, table, frame)
        log.info("%s: %d rows loaded in %.1f s", table.name, len(frame), time.perf_counter() - started)
        return len(frame)
    staged = stage(connection, table, frame)
    columns = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys and c not in keep)
    conflict = ", ".join(f'"{k}"' for k in keys)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    merge = f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM {staged} WHERE true'
    connection.execute(text(f"{merge} ON CONFLICT ({conflict}) {action}"))
    connection.execute(text(f"DROP TABLE {staged}"))
    log.info("%s: %d rows merged in %.1f s", table.name, len(frame), time.perf_counter() - started)
    return len(frame)


def delete_keys(connection: Connection, table: Table, keys: pd.DataFrame) -> int:
    """Delete the rows whose key columns match a row of ``keys``."""
    if keys.empty:
        return 0
    staged = stage(connection, table, keys)
    # a row-value IN, not a correlated EXISTS: SQLite would scan the stage once per row of the table
    columns = ", ".join(f'"{c}"' for c in keys.columns)
    result = connection.execute(
        text(f'DELETE FROM "{table.name}" WHERE ({columns}) IN (SELECT {columns} FROM {staged})')
    )
    connection.execute(text(f"DROP TABLE {staged}"))
    return result.rowcount


def insert(connection: Connection, table: Table, frame: pd.DataFrame) -> int:
    if frame.empty:
        return 0
    staged = stage(connection, table, frame)
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    connection.execute(text(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM {staged}'))
    connection.execute(text(f"DROP TABLE {staged}"))
    return len(frame)


def _kind(table: Table, column: str) -> str:
    type_ = table.c[column].type
    for kind, types in (
        ("json", JSON),
        ("bool", Boolean),
        ("date", Date),
        ("datetime", DateTime),
        ("int", Integer),
        ("float", Float),
    ):
        if isinstance(type_, types) or isinstance(getattr(type_, "impl", None), types):
            return kind
    return "text"


def _csv_bytes(table: Table, frame: pd.DataFrame) -> memoryview:
    """``frame`` as CSV for COPY, written by Arrow: every value quoted and NULL left empty, so an
    empty string and a missing value stay apart (PostgreSQL's CSV rule)."""
    arrays = {}
    for column in frame.columns:
        kind, values = _kind(table, column), frame[column]
        if kind == "date":
            days = pd.to_datetime(values).to_numpy(dtype="datetime64[D]")
            arrays[column] = pa.array(days, type=pa.date32(), mask=np.isnat(days))
        elif kind == "datetime":  # UTC; each distinct time formatted once (a night writes few: its own)
            codes, distinct = pd.factorize(pd.to_datetime(values, utc=True), use_na_sentinel=True)
            text = pa.array(
                pd.Index(distinct).strftime("%Y-%m-%d %H:%M:%S.%f+00:00").to_numpy(dtype=object), type=pa.large_string()
            )
            arrays[column] = text.take(pa.array(codes, mask=codes < 0))
        elif kind == "int":
            arrays[column] = pa.array(pd.array(values, dtype="Int64"))
        elif kind == "float":
            arrays[column] = pa.array(pd.array(values, dtype="Float64"))
        elif kind == "bool":
            arrays[column] = pa.array(pd.array(values, dtype="boolean"))
        else:
            arrays[column] = pa.array(values.astype("string"), type=pa.large_string())
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(
        pa.table(arrays), buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    )
    return memoryview(buffer.getvalue())


def _sqlite_values(table: Table, frame: pd.DataFrame, column: str) -> np.ndarray:
    """One column as Python values the way SQLAlchemy stores them on SQLite, None for missing."""
    kind, values = _kind(table, column), frame[column]
    if kind == "date":
        values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
    elif kind == "datetime":  # SQLAlchemy's SQLite DATETIME text, in UTC (models.UTCDateTime)
        values = pd.to_datetime(values, utc=True).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    elif kind == "int":
        values = pd.array(values, dtype="Int64")
    elif kind == "bool":
        values = values.map({True: 1, False: 0})
    elif kind == "float":
        values = pd.array(values, dtype="Float64")
    out = pd.Series(values).astype(object)
    missing = pd.isna(out).to_numpy()
    array: np.ndarray = out.to_numpy(dtype=object, copy=True)
    if kind == "int":
        array = np.array([None if m else int(v) for v, m in zip(array, missing)], dtype=object)
    elif kind == "float":
        array = np.array([None if m else float(v) for v, m in zip(array, missing)], dtype=object)
    else:
        array[missing] = None
    return array


def update(connection: Connection, table: Table, frame: pd.DataFrame, keys: tuple[str, ...]) -> int:
    """Set the frame's other columns on the rows whose ``keys`` match (rows not there are left alone)."""
    if frame.empty:
        return 0
    staged = stage(connection, table, frame)
    match = " AND ".join(f'{staged}."{k}" = "{table.name}"."{k}"' for k in keys)
    sets = ", ".join(f'"{c}" = {staged}."{c}"' for c in frame.columns if c not in keys)
    # UPDATE … FROM (PostgreSQL, SQLite 3.33+): a join, where correlated subqueries would scan the stage per row
    result = connection.execute(text(f'UPDATE "{table.name}" SET {sets} FROM {staged} WHERE {match}'))
    connection.execute(text(f"DROP TABLE {staged}"))
    return result.rowcount


def _sqlite_csv(
    connection: Connection, sql: str, columns: list[str], out: io.BytesIO, rows_per_chunk: int = 500_000
) -> None:
    """The query's rows as PostgreSQL-style CSV (text quoted, NULL empty), made by SQLite itself
    with group_concat a chunk of rows at a time: fetching a million rows as Python tuples takes
    seconds and holds the GIL that the night's other threads need."""
    cells = [
        f"""CASE WHEN q."{c}" IS NULL THEN '' ELSE '"' || replace(CAST(q."{c}" AS TEXT), '"', '""') || '"' END"""
        for c in columns
    ]
    line = " || ',' || ".join(cells)
    offset = 0
    while True:
        chunk = connection.exec_driver_sql(
            "SELECT group_concat(line, char(10)), count(*) "
            f"FROM (SELECT {line} AS line FROM ({sql}) AS q LIMIT {rows_per_chunk} OFFSET {offset})"
        ).one()
        if not chunk[1]:
            return
        out.write(chunk[0].encode("utf-8") + b"\n")
        offset += rows_per_chunk


def read(connection: Connection, query: Select[*tuple[Any, ...]], types: dict[str, str] | None = None) -> pd.DataFrame:
    """The rows of a SELECT as a frame, fast for millions of rows: CSV made by the database
    (``COPY (query) TO STDOUT`` on PostgreSQL, group_concat on SQLite) read by Arrow; row objects
    through the ORM cost seconds per million. ``types`` converts columns: ``int`` (nullable),
    ``float``, ``datetime`` (UTC)."""
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    columns = [c.name for c in query.selected_columns]
    buffer = io.BytesIO()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None, "an open connection has its driver's connection"
        with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                buffer.write(chunk)
    else:
        _sqlite_csv(connection, sql, columns, buffer)
    options = pacsv.ConvertOptions(
        column_types={c: pa.large_string() for c in columns}, strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    if buffer.tell():
        table = pacsv.read_csv(
            io.BytesIO(buffer.getvalue()), read_options=pacsv.ReadOptions(column_names=columns), convert_options=options
        )
        frame = table.to_pandas()
    else:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    for column, kind in (types or {}).items():
        if kind == "int":  # through Arrow: exact for 64-bit values, where a float would round them
            values = pa.array(frame[column].to_numpy(dtype=object), from_pandas=True)
            values = (
                values if pa.types.is_integer(values.type) or pa.types.is_null(values.type) else values.cast(pa.int64())
            )
            frame[column] = pd.array(
                values.cast(pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get), dtype="Int64"
            )
        elif kind == "float":
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        elif kind == "datetime":
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame
