"""Shared fixtures.

Databases (owned by the store): ``pg_url`` (one fresh PostgreSQL database per test session),
``store_url`` (an empty store, once on SQLite and once on PostgreSQL) and ``store_engine`` (the
same, migrated to head). PostgreSQL is expected at 127.0.0.1:5432 (env ``NOMINAL_TEST_PG_URL``
names another server's maintenance database); ``NOMINAL_SKIP_PG=1`` skips the PostgreSQL cases.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from nominal.store.db import dispose_engines, engine_for, ensure_schema, mask_url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs a real browser or PostgreSQL, so the developer's fast lane (``make test-fast``)
    can leave it out; ``make test`` runs everything."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if "prefect_harness" in fixtures:  # whole nights through the Prefect flow
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        if "pg_url" in fixtures or (callspec is not None and "postgresql" in callspec.params.values()):
            item.add_marker(pytest.mark.postgres)


PG_ADMIN_URL = os.environ.get("NOMINAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_url():
    """A uniquely named, empty PostgreSQL database for this session, dropped at the end."""
    if os.environ.get("NOMINAL_SKIP_PG") == "1":
        pytest.skip("PostgreSQL tests skipped (NOMINAL_SKIP_PG=1)")
    name = f"nominal_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        unreachable = None
    except exc.OperationalError as error:
        unreachable = str(error.orig).splitlines()[0]
    if unreachable:  # failed outside the except block, so the report is the message, not the chain
        pytest.fail(
            f"PostgreSQL is not reachable at {mask_url(PG_ADMIN_URL)}: {unreachable}\n"
            "Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), "
            "or set NOMINAL_SKIP_PG=1 to run without the PostgreSQL cases.",
            pytrace=False,
        )
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    dispose_engines(url)
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        )
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """An empty database (no tables): a new SQLite file, or the session's PostgreSQL database emptied.

    PostgreSQL is emptied by dropping the public schema: about 15 ms, against about 250 ms to create
    and drop a database per test, and it clears whatever state a failed test left behind. Migrating
    to head (``store_engine``) adds about 200 ms on either.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        dispose_engines(url)  # no pooled connection may outlive the tables it knew
        with engine_for(url).connect() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
            connection.commit()
    yield url
    dispose_engines(url)


@pytest.fixture
def store_engine(store_url):
    """An engine on a store migrated to head."""
    return ensure_schema(store_url)


# Browser (Debian's chromium driven by Playwright; never a downloaded browser) ------------------------

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium calls home at start, which closed networks refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does", pytrace=False
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Prefect (one test harness per session: it takes about ten seconds to start) ------------------------


@pytest.fixture(scope="session")
def prefect_harness():
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
