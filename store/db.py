"""Engines, URLs, migrations and sessions for the store.

The store is SQLite by default (a file ``nominal.db`` beside the configuration, created on first
use) and PostgreSQL in production; the URL comes from env ``NOMINAL_DB_URL``, else the
configuration (``nominal.config.Config.db_url``). Alembic is driven from here with a Config built in code,
so migrations work from any directory and from an installed package, with no alembic.ini.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from nominal.errors import NominalError

DEFAULT_URL = "sqlite:///nominal.db"
# A path beside this module rather than the resource "store:migrations": it holds for an installed
# package and for an editable install that maps ``store`` as a namespace package alike.
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")

# Errors raised by the driver when the database cannot be reached or used at all
# (refused, unknown host or database, bad password, locked, unreadable file).
_UNREACHABLE = (exc.OperationalError, exc.InterfaceError)


class StoreUnavailable(NominalError):
    """The database cannot be reached. The message names the URL with its password masked."""

    def __init__(self, url: str | URL, reason: str):
        self.url = mask_url(url)
        self.reason = reason
        super().__init__(f"store {self.url} is unavailable: {reason}")


class StoreSchemaError(NominalError):
    """The database is at a schema revision this code does not know (written by a newer nominal)."""


def mask_url(url: str | URL) -> str:
    """The URL with any password (in the userinfo or the query string) replaced by ``***``."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        return "<unparseable database URL>"  # never echo it: it may hold a password
    query = {key: ("***" if "password" in key.lower() else value) for key, value in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def _absolute(url: str) -> URL:
    """SQLite file paths made absolute, so a cached engine never follows a later ``chdir``."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" and "uri" not in parsed.query:
        parsed = parsed.set(database=str(Path(database).absolute()))
    return parsed


def _key(url: URL) -> str:
    return url.render_as_string(hide_password=False)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """One engine per database, shared by every caller in the process (engines own the pool)."""
    parsed = _absolute(url)
    key = _key(parsed)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = _create_engine(parsed)
        return _engines[key]


def _create_engine(url: URL) -> Engine:
    # pre_ping: the web app outlives server restarts and idle-connection timeouts
    engine = create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _json_dumps(value: object) -> str:
    # allow_nan=False: PostgreSQL refuses NaN in JSON, so SQLite must too, or tests would hide it
    return json.dumps(value, default=_json_default, ensure_ascii=False, allow_nan=False)


def _json_default(value: object) -> object:
    """JSON for what frames hand over: numpy scalars (counts, rates) and dates (lineage).

    Dates are written as ISO strings and read back as strings: JSON has no date type.
    """
    if hasattr(value, "item"):  # numpy and pandas scalars
        return value.item()
    if hasattr(value, "isoformat"):  # date, datetime, pandas Timestamp
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be stored in a JSON column")


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # SQLite leaves foreign keys unenforced unless asked, per connection. WAL lets the web app
    # read while a nightly run writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def dispose_engines(url: str | None = None) -> None:
    """Close the cached engine for ``url`` (every cached engine if None) and forget it.

    For tests and for dropping a database; an engine already handed out still works, with a new pool.
    """
    with _engines_lock:
        keys = list(_engines) if url is None else [_key(_absolute(url))]
        for key in keys:
            if (engine := _engines.pop(key, None)) is not None:
                engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed if the block succeeds, rolled back if it raises."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except _UNREACHABLE as error:
        raise StoreUnavailable(engine.url, _reason(error)) from error


def _reason(error: exc.DBAPIError) -> str:
    text = str(error.orig).strip()
    return text.splitlines()[0] if text else type(error.orig).__name__


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    """An Alembic Config for the store's migrations; env.py uses ``connection`` if given, else ``url``.

    Also the way to write a new revision (docs/store.md):
    ``command.revision(alembic_config(url), message=..., autogenerate=True)``.
    """
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(DEFAULT_URL))


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "store/migrations/versions holds no revision"
    return head


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: no schema yet)."""
    try:
        with engine_for(url).connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except _UNREACHABLE as error:
        raise StoreUnavailable(url, _reason(error)) from error


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest), in one transaction where the backend allows."""
    _migrate(url, command.upgrade, revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base``: drop every table)."""
    _migrate(url, command.downgrade, revision)


def _migrate(url: str, run: Callable[[Config, str], None], revision: str) -> None:
    engine = engine_for(url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            if sqlite:
                # A batch migration rebuilds a table by copy-and-drop, which enforced foreign keys
                # would block or cascade. The pragma only takes effect outside a transaction.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            try:
                with connection.begin():
                    run(alembic_config(url, connection), revision)
                    if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise StoreSchemaError(f"migrating {mask_url(url)} to {revision} broke a foreign key")
            finally:
                if sqlite:  # the connection goes back to the pool: restore what every connection has
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
    except _UNREACHABLE as error:
        raise StoreUnavailable(url, _reason(error)) from error


_schema_lock = threading.Lock()


def ensure_schema(url: str) -> Engine:
    """The engine for ``url``, upgrading the database to head first if it is not there yet.

    Cheap when the schema is current (one read of alembic_version), so it can guard every first
    use; it is how the default SQLite file is created. Production databases are upgraded by the
    deployment (``upgrade``), and a concurrent first use from several processes is not guarded.
    """
    with _schema_lock:  # concurrent tasks in one process must not migrate twice
        current = current_revision(url)
        if current == head_revision():
            return engine_for(url)
        if current is not None and current not in {script.revision for script in _scripts().walk_revisions()}:
            raise StoreSchemaError(
                f"store {mask_url(url)} is at schema revision {current}, which this version of nominal "
                "does not know: upgrade nominal"
            )
        upgrade(url)
        return engine_for(url)
