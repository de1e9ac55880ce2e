"""Bulk writes of whole frames inside one transaction, fast on both backends.

A frame is first loaded into a temporary staging table shaped like its target (PostgreSQL:
``COPY`` of CSV text; SQLite: one executemany of values converted column by column), then merged
with one set-based statement (``INSERT … SELECT … ON CONFLICT DO UPDATE`` or ``DELETE … WHERE
EXISTS``). Row-by-row ORM writes would take minutes for a million persons. Used by
``store.writes`` only.
"""

from __future__ import annotations

import csv
import io
from itertools import count

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Table,
    text,
)

_names = count()


def _stage(connection: Connection, table: Table, frame: pd.DataFrame) -> str:
    """A temporary table like ``table`` (dropped at commit) holding ``frame``'s columns; its name."""
    name = f"stage_{table.name}_{next(_names)}"
    columns = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        connection.execute(text(f'CREATE TEMPORARY TABLE {name} AS SELECT {quoted} FROM "{table.name}" WITH NO DATA'))
        buffer = io.StringIO()
        _csv_ready(table, frame).to_csv(buffer, index=False, header=False, na_rep="\\N", quoting=csv.QUOTE_MINIMAL)
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {name} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
                copy.write(buffer.getvalue())
    else:
        connection.execute(text(f'CREATE TEMPORARY TABLE {name} AS SELECT {quoted} FROM "{table.name}" WHERE 0'))
        rows = list(zip(*(_sqlite_values(table, frame, c) for c in columns)))
        placeholders = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(f"INSERT INTO {name} ({quoted}) VALUES ({placeholders})", rows) if rows else None
    return name


def upsert(connection: Connection, table: Table, frame: pd.DataFrame, keys: tuple[str, ...], keep: tuple[str, ...] = ()) -> int:
    """Insert ``frame``'s rows, replacing the rows with the same ``keys``; ``keep`` columns of a
    replaced row are left as they were (e.g. when a person was first seen)."""
    if frame.empty:
        return 0
    stage = _stage(connection, table, frame)
    columns = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys and c not in keep)
    conflict = ", ".join(f'"{k}"' for k in keys)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    connection.execute(text(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM {stage} WHERE true ON CONFLICT ({conflict}) {action}'))
    connection.execute(text(f"DROP TABLE {stage}"))
    return len(frame)


def delete_keys(connection: Connection, table: Table, keys: pd.DataFrame) -> int:
    """Delete the rows whose key columns match a row of ``keys``."""
    if keys.empty:
        return 0
    stage = _stage(connection, table, keys)
    match = " AND ".join(f'{stage}."{c}" = "{table.name}"."{c}"' for c in keys.columns)
    result = connection.execute(text(f'DELETE FROM "{table.name}" WHERE EXISTS (SELECT 1 FROM {stage} WHERE {match})'))
    connection.execute(text(f"DROP TABLE {stage}"))
    return result.rowcount


def insert(connection: Connection, table: Table, frame: pd.DataFrame) -> int:
    if frame.empty:
        return 0
    stage = _stage(connection, table, frame)
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    connection.execute(text(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM {stage}'))
    connection.execute(text(f"DROP TABLE {stage}"))
    return len(frame)


def _kind(table: Table, column: str) -> str:
    type_ = table.c[column].type
    for kind, types in (("json", JSON), ("bool", Boolean), ("date", Date), ("datetime", DateTime), ("int", Integer), ("float", Float)):
        if isinstance(type_, types) or isinstance(getattr(type_, "impl", None), types):
            return kind
    return "text"


def _csv_ready(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for column in frame.columns:
        kind, values = _kind(table, column), frame[column]
        if kind == "date":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        elif kind == "datetime":
            values = pd.to_datetime(values, utc=True).dt.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
        elif kind == "int":
            values = pd.array(values, dtype="Int64")
        elif kind == "bool":
            values = values.map({True: "t", False: "f"})
        out[column] = values
    return pd.DataFrame(out)


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
    array = out.to_numpy(dtype=object, copy=True)
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
    stage = _stage(connection, table, frame)
    match = " AND ".join(f'{stage}."{k}" = "{table.name}"."{k}"' for k in keys)
    sets = ", ".join(f'"{c}" = (SELECT {stage}."{c}" FROM {stage} WHERE {match})' for c in frame.columns if c not in keys)
    result = connection.execute(text(f'UPDATE "{table.name}" SET {sets} WHERE EXISTS (SELECT 1 FROM {stage} WHERE {match})'))
    connection.execute(text(f"DROP TABLE {stage}"))
    return result.rowcount
