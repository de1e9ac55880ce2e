"""A night killed (SIGKILL) in the middle of publishing 100,000 persons leaves the previous night
intact, and running it again succeeds. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import select

from nominal.store.db import dispose_engines, ensure_schema
from nominal.store.models import Person, Run

PEOPLE = 100_000

CHILD = r"""
import datetime as dt, logging, sys
import pandas as pd
from nominal import canonical
from nominal.publish.publication import prepare
from nominal.store.queries import published_state
from nominal.publish.rules import load_rules
from nominal.store import db, writes

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
url, version, people = sys.argv[1], sys.argv[2], int(sys.argv[3])
as_of = dt.date(2026, 11, 23) + dt.timedelta(days=int(version))
keys = pd.Series([f"N{i:07d}" for i in range(people)])
frame = pd.DataFrame({c: pd.Series([None] * people, dtype=t) for c, t in canonical.DTYPES.items() if c != "_row"})
frame["feed"], frame["source_key"], frame["_row"] = "police", keys, range(1, people + 1)
frame["surname"] = "V" + version + "SURNAME" + keys.str[-3:]
frame["forenames"] = "FORENAME"
frame["date_of_birth"] = pd.Timestamp("1980-01-01")
frame["extract_date"] = pd.Timestamp(as_of)
clusters = pd.DataFrame({"feed": "police", "source_key": keys, "person_id": "P" + keys.str[1:].str.zfill(9),
                         "linked_by": "single", "linked_on": None, "match_probability": None, "status": "active",
                         "status_reason": None})
engine = db.ensure_schema(url)
run_id = writes.start_run(engine, "sync", as_of, ["police"])
night = prepare(frame, clusters, pd.DataFrame(), pd.DataFrame(columns=["kind"]), None, published_state(engine),
                load_rules(), run_id=run_id, as_of=as_of, scope_feeds={"police"})
writes.publish_night(engine, run_id, night.publication, night.counts)
print("published", run_id, flush=True)
"""


def run_child(url: str, version: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(version), str(PEOPLE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def surnames(url: str) -> dict[str, int]:
    engine = ensure_schema(url)
    with engine.connect() as c:
        return dict(Counter(surname[:2] for surname in c.scalars(select(Person.surname))))


@pytest.mark.slow
def test_sigkill_during_publish_leaves_the_previous_night_and_a_rerun_succeeds(store_url):
    first = run_child(store_url, 1)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert surnames(store_url) == {"V1": PEOPLE}

    second = run_child(store_url, 2)
    for line in second.stderr:  # wait until it is inside the publishing transaction
        if line.startswith("publish: writing"):
            break
    time.sleep(0.3)
    assert second.poll() is None, "the publish finished before it could be killed"
    os.kill(second.pid, signal.SIGKILL)
    second.wait(timeout=60)
    dispose_engines(store_url)

    assert surnames(store_url) == {"V1": PEOPLE}  # the previous night, whole
    engine = ensure_schema(store_url)
    with engine.connect() as c:
        statuses = [s for (s,) in c.execute(select(Run.status).order_by(Run.id))]
    assert statuses == ["succeeded", "running"]  # killed before it could commit

    third = run_child(store_url, 2)
    _, err = third.communicate(timeout=300)
    assert third.returncode == 0, err[-2000:]
    assert surnames(store_url) == {"V2": PEOPLE}


@pytest.mark.slow
def test_a_database_connection_dropped_during_publish_rolls_back_and_a_rerun_succeeds(pg_url):
    """The server ends the publishing session (as a failover or an admin would): the night is rolled back."""
    from sqlalchemy import create_engine, text

    dispose_engines(pg_url)
    with ensure_schema(pg_url).connect() as c:  # start from an empty store
        c.exec_driver_sql("DROP SCHEMA public CASCADE")
        c.exec_driver_sql("CREATE SCHEMA public")
        c.commit()
    dispose_engines(pg_url)
    first = run_child(pg_url, 1)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]

    second = run_child(pg_url, 2)
    for line in second.stderr:
        if line.startswith("publish: writing"):
            break
    time.sleep(0.3)
    assert second.poll() is None, "the publish finished before its connection could be dropped"
    admin = create_engine(pg_url)
    with admin.connect() as c:
        c.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()
    _, err = second.communicate(timeout=120)
    assert second.returncode != 0 and ("terminat" in err or "closed" in err or "OperationalError" in err), err[-2000:]
    dispose_engines(pg_url)
    assert surnames(pg_url) == {"V1": PEOPLE}

    third = run_child(pg_url, 2)
    _, err = third.communicate(timeout=300)
    assert third.returncode == 0, err[-2000:]
    assert surnames(pg_url) == {"V2": PEOPLE}
