"""The sql connector, on SQLite (a file in tmp_path) and on the PostgreSQL server of this machine.

PostgreSQL tests fail, not skip, when the server is unreachable, unless NOMINAL_SKIP_PG=1.
Each test gets its own uniquely named schema, dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import socket
import uuid
from dataclasses import dataclass

import pandas as pd
import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.pool import NullPool

from nominal.connectors import sql
from nominal.connectors.base import FetchContext
from nominal.errors import FeedError, SourceUnavailable

# Trust authentication ignores the password, so it can be a made-up one that must never show.
PG_PASSWORD = "pg-secret-4u"
PG_URL = os.environ.get("NOMINAL_TEST_PG_URL", f"postgresql+psycopg://postgres:{PG_PASSWORD}@127.0.0.1:5432/test")
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
AS_OF = dt.date(2024, 1, 31)

SURNAMES = ["SMITH", "O'BRIEN", "BRONTË", "NÍ BHRIAIN", "ŁUKASZEWICZ", "ZOË", "李", "JONES", "SMITH-JONES", "EVANS"]
PEOPLE = [
    {
        "id": i,
        "surname": surname,
        "forenames": None if i % 4 == 0 else ("" if i == 5 else f"Name{i}"),
        "dob": None if i == 7 else dt.date(1980 + i, 2, 28),
        "updated_at": dt.datetime(2024, 1, 25 + i // 2, 9, 30),  # 25 Jan … 30 Jan: half before AS_OF - 2
        "weight": 70.0 + i / 2,
    }
    for i, surname in enumerate(SURNAMES, start=1)
]

metadata = sa.MetaData()
people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("surname", sa.Text),
    sa.Column("forenames", sa.Text),
    sa.Column("dob", sa.Date),
    sa.Column("updated_at", sa.DateTime),
    sa.Column("weight", sa.Float),
)


@dataclass(frozen=True)
class Database:
    backend: str
    url: str
    table: str  # as the connector's ``table`` option: name or schema.name


@pytest.fixture(scope="session")
def pg_url() -> str:
    engine = sa.create_engine(PG_URL, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return PG_URL
    except sa.exc.OperationalError:
        if os.environ.get("NOMINAL_SKIP_PG") == "1":
            pytest.skip("PostgreSQL unreachable and NOMINAL_SKIP_PG=1")
        pytest.fail(f"PostgreSQL unreachable at 127.0.0.1:5432: start it ({PG_START}) or set NOMINAL_SKIP_PG=1")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
        yield _loaded(Database("sqlite", url, "people"), schema=None)
        return
    url = request.getfixturevalue("pg_url")
    schema = f"nominal_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(sa.schema.CreateSchema(schema))
    try:
        yield _loaded(Database("postgresql", url, f"{schema}.people"), schema=schema)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.schema.DropSchema(schema, cascade=True))
        engine.dispose()


def _loaded(database: Database, schema: str | None) -> Database:
    engine = sa.create_engine(database.url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT 1"))  # the SQLite file is created on first connection
        translated = connection.execution_options(schema_translate_map={None: schema})
        metadata.create_all(translated)
        translated.execute(people.insert(), PEOPLE)
    engine.dispose()
    return database


def fetch(options: dict, as_of: dt.date | None = AS_OF):
    return sql.fetch("probation", sql.Options(**options), FetchContext(as_of=as_of))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- reading ------------------------------------------------------------------------------------


def test_table_is_read_as_text(db):
    extract = fetch({"url": db.url, "table": db.table})
    frame = extract.frame.sort_values("_row")

    assert extract.columns == ["id", "surname", "forenames", "dob", "updated_at", "weight"]
    assert list(frame.columns) == ["_feed", "_source", "_row", *extract.columns]
    assert all(frame[c].dtype == "str" for c in extract.columns)
    assert sorted(frame["id"], key=int) == [str(i) for i in range(1, 11)]  # ints without ".0"
    by_id = frame.set_index("id")
    assert by_id.loc["3", "surname"] == "BRONTË" and by_id.loc["7", "surname"] == "李"  # unicode
    assert pd.isna(by_id.loc["4", "forenames"])  # NULL → NA
    assert by_id.loc["5", "forenames"] == ""  # "" stays ""
    assert by_id.loc["1", "dob"] == "1981-02-28" and pd.isna(by_id.loc["7", "dob"])
    assert by_id.loc["2", "weight"] == "71" and by_id.loc["1", "weight"] == "70.5"
    assert frame["_row"].tolist() == list(range(1, 11))
    assert set(frame["_feed"]) == {"probation"}


def test_timestamps_are_iso(db):
    if db.backend == "sqlite":
        # SQLite has no timestamp type: the text stored is the text read.
        expected = "2024-01-25 09:30:00.000000"
    else:
        expected = "2024-01-25T09:30:00"
    extract = fetch({"url": db.url, "query": f"SELECT updated_at FROM {db.table} WHERE id = 1"})
    assert extract.frame.loc[0, "updated_at"] == expected


def test_chunks_are_bounded_and_rows_numbered_across_them(db):
    engine = sa.create_engine(db.url, poolclass=NullPool)
    query = sa.text(f"SELECT id, surname FROM {db.table} ORDER BY id")
    with engine.connect() as connection:
        chunks = list(sql.read_chunks(connection, query, {}, 3, "probation", "people"))
    engine.dispose()
    assert [len(chunk) for chunk in chunks] == [3, 3, 3, 1]

    extract = fetch({"url": db.url, "query": f"SELECT id, surname FROM {db.table} ORDER BY id", "chunk_size": 3})
    assert extract.details["chunks"] == 4
    assert extract.frame["_row"].tolist() == list(range(1, 11))
    assert extract.frame["id"].tolist() == [str(i) for i in range(1, 11)]
    assert extract.frame.index.tolist() == list(range(10))


def test_as_of_is_a_bound_parameter(db):
    query = f"SELECT id FROM {db.table} WHERE updated_at < :as_of ORDER BY id"
    extract = fetch({"url": db.url, "query": query}, as_of=dt.date(2024, 1, 27))
    assert extract.frame["id"].tolist() == ["1", "2", "3"]


def test_as_of_parameter_without_an_as_of_date_is_a_feed_error(db):
    with pytest.raises(FeedError, match=":as_of"):
        fetch({"url": db.url, "query": f"SELECT id FROM {db.table} WHERE updated_at < :as_of"}, as_of=None)


def test_empty_result_keeps_its_columns(db):
    extract = fetch({"url": db.url, "query": f"SELECT id, surname FROM {db.table} WHERE id < 0"})
    assert extract.rows == 0
    assert extract.columns == ["id", "surname"]
    assert list(extract.frame.columns) == ["_feed", "_source", "_row", "id", "surname"]


def test_source_names_the_label_and_masks_the_password(db):
    extract = fetch({"url": db.url, "table": db.table, "label": "nightly people"})
    assert extract.source.startswith("nightly people @ ")
    assert PG_PASSWORD not in extract.source
    if db.backend == "postgresql":
        assert "postgres:***@127.0.0.1" in extract.source


def test_url_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("NOMINAL_TEST_SOURCE_URL", db.url)
    assert fetch({"url": "env:NOMINAL_TEST_SOURCE_URL", "table": db.table}).rows == 10


# --- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("SELECT no_such_column FROM {table}", "no_such_column"),
        ("SELEKT 1", "SELEKT"),
    ],
)
def test_bad_sql_is_a_feed_error_naming_the_label(db, query, names):
    options = {"url": db.url, "query": query.format(table=db.table), "label": "custody query"}
    with pytest.raises(FeedError) as caught:
        fetch(options)
    assert not isinstance(caught.value, SourceUnavailable)  # not retried
    assert caught.value.kind == "bad_query"
    assert "custody query" in str(caught.value)
    assert names in str(caught.value)


def test_missing_table_is_a_feed_error(db):
    with pytest.raises(FeedError) as caught:
        fetch({"url": db.url, "table": "no_such_table"})
    assert not isinstance(caught.value, SourceUnavailable)


def test_duplicate_column_names_are_refused(db):
    with pytest.raises(FeedError, match="more than once"):
        fetch({"url": db.url, "query": f"SELECT id, surname AS id FROM {db.table}"})


def test_data_errors_do_not_quote_the_data(pg_url):
    with pytest.raises(FeedError) as caught:
        fetch({"url": pg_url, "query": "SELECT CAST('JOHN SMITH' AS date)"})
    assert "JOHN" not in str(caught.value)
    assert "SQLSTATE 22007" in str(caught.value)


def test_closed_port_is_unavailable_with_the_password_masked():
    url = f"postgresql+psycopg://officer:{PG_PASSWORD}@127.0.0.1:{closed_port()}/test"
    with pytest.raises(SourceUnavailable) as caught:
        fetch({"url": url, "table": "people", "connect_timeout_seconds": 2})
    message = str(caught.value)
    assert PG_PASSWORD not in message
    assert "officer:***@127.0.0.1" in message
    assert caught.value.kind == "unavailable"


def test_unset_environment_variable_is_a_config_error(monkeypatch):
    monkeypatch.delenv("NOMINAL_TEST_UNSET_URL", raising=False)
    with pytest.raises(FeedError) as caught:
        fetch({"url": "env:NOMINAL_TEST_UNSET_URL", "table": "people"})
    assert caught.value.kind == "config"
    assert "NOMINAL_TEST_UNSET_URL" in str(caught.value)


# --- configuration ------------------------------------------------------------------------------

SECRET_URL = f"postgresql+psycopg://officer:{PG_PASSWORD}@db.example/records"


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"url": SECRET_URL}, "exactly one of query and table"),
        ({"url": SECRET_URL, "query": "SELECT 1", "table": "people"}, "exactly one of query and table"),
        ({"url": SECRET_URL, "table": "people", "chunk_size": 0}, "chunk_size"),
        ({"url": SECRET_URL, "table": "people", "chunksize": 10}, "chunksize"),
        ({"url": "not a url", "table": "people"}, "not a SQLAlchemy URL"),
        ({"url": SECRET_URL, "table": "a.b.c"}, "schema.name"),
    ],
)
def test_configuration_mistakes_are_named_without_the_password(options, names):
    with pytest.raises(ValidationError) as caught:
        sql.Options(**options)
    assert names in str(caught.value)
    assert PG_PASSWORD not in str(caught.value)


def test_options_never_show_the_password():
    options = sql.Options(url=SECRET_URL, table="people")
    assert PG_PASSWORD not in repr(options)
    assert PG_PASSWORD not in str(options.model_dump(mode="json"))


def test_masked_url_hides_password_and_secret_query_values():
    url = sa.make_url(f"{SECRET_URL}?sslmode=require&sslpassword=key-pass")
    masked = sql.masked_url(url)
    assert PG_PASSWORD not in masked and "key-pass" not in masked
    assert "officer:***@db.example" in masked and "sslmode=require" in masked


# --- shaping, alone -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("", ""),
        ("BRONTË", "BRONTË"),
        (42, "42"),
        (3.0, "3"),
        (2.5, "2.5"),
        (decimal.Decimal("12.50"), "12.50"),
        (decimal.Decimal("1E+2"), "100"),
        (True, "true"),
        (dt.date(1980, 2, 29), "1980-02-29"),
        (dt.datetime(2024, 1, 31, 9, 30), "2024-01-31T09:30:00"),
        (dt.datetime(2024, 1, 31, 9, 30, 0, 250000), "2024-01-31T09:30:00.250000"),
        (dt.time(9, 30), "09:30:00"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        ({"alias": "Smudge"}, '{"alias": "Smudge"}'),
        (b"\x01\xff", "01ff"),
    ],
)
def test_value_text(value, text):
    assert sql.value_text(value) == text


def test_chunk_as_text_leaves_text_columns_alone_and_keeps_nulls():
    frame = sql.chunk_as_text(["surname", "id"], [("SMITH", 1), (None, None)])
    assert frame["surname"].tolist()[0] == "SMITH" and pd.isna(frame.loc[1, "surname"])
    assert frame["id"].tolist()[0] == "1" and pd.isna(frame.loc[1, "id"])
    assert all(frame[c].dtype == "str" for c in frame.columns)


def test_refused_login_is_a_config_error_not_retried(pg_url):
    url = sa.make_url(pg_url).set(database="nominal_no_such_database")
    with pytest.raises(FeedError) as caught:
        fetch({"url": url.render_as_string(hide_password=False), "query": "SELECT 1"})
    assert caught.value.kind == "config"
    assert PG_PASSWORD not in str(caught.value)
