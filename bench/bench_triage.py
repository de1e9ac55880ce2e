"""The triage service at production size in PostgreSQL: 1,000,000 persons (1,780,000 source records)
and 200,000 open exceptions (plus 50,000 closed ones), filled by SQL; then the queue's pages and
the fuzzy name search, timed through the service and through the JSON API.

    .venv/bin/python bench/bench_triage.py [PERSONS] [OPEN_EXCEPTIONS]

Targets (issue 16): a filtered page of 50 exceptions in at most 100 ms; a fuzzy name search in at
most 300 ms. Each figure is the median (and 95th percentile) of 30 runs after 3 warm-ups.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nominal.api import create_app  # noqa: E402
from nominal.store.db import ensure_schema  # noqa: E402
from nominal.text import name_anagram, name_sound  # noqa: E402
from nominal.triage import exceptions, search, users  # noqa: E402
from nominal.triage.actors import Actor  # noqa: E402
from nominal.vocab import Role  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench password only"
SURNAMES = ROOT / "nominal" / "synthetic" / "reference" / "surnames.csv"
OLD_SURNAMES = ROOT / "nominal" / "reference" / "surnames.csv"
FEEDS = ("police", "probation", "prison")
KINDS = ("validation", "validation", "validation", "conflict", "discrepancy", "match_review", "parse")
RULES = ("valid_pnc_id", "dob_present", "surname_letters", "forename_present", "sex_code", "valid_postcode")


def fresh_database(name: str) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def fill(url: str, persons: int, open_exceptions: int) -> None:
    """Persons, their records and exceptions, by set-based SQL (minutes by the pipeline; seconds here)."""
    engine = ensure_schema(url)
    names = pd.read_csv(SURNAMES if SURNAMES.exists() else OLD_SURNAMES, dtype=str, keep_default_na=False)
    names = names.drop_duplicates("name").head(4000).reset_index(drop=True)
    weights = names["weight"].astype(float) if "weight" in names else pd.Series(1.0, index=names.index)
    # each name repeated by its weight, so that common names are common (SMITH is about 1 %)
    repeats = (weights / weights.sum() * 20_000).round().clip(lower=1).astype(int)
    pool = names.loc[names.index.repeat(repeats), "name"].reset_index(drop=True)
    started = time.perf_counter()
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TEMPORARY TABLE pool (i integer primary key, surname text, sound text, anagram text)")
        rows = [
            {"i": i, "surname": s.upper(), "sound": name_sound(s), "anagram": name_anagram(s)}
            for i, s in enumerate(pool)
        ]
        c.execute(text("INSERT INTO pool (i, surname, sound, anagram) VALUES (:i, :surname, :sound, :anagram)"), rows)
        size = len(pool)
        c.execute(
            text(
                "INSERT INTO persons (person_id, status, forenames, surname, date_of_birth, lineage, "
                "first_seen_run_id, last_seen_run_id, created_at, updated_at) "
                "SELECT 'P' || lpad(g::text, 9, '0'), 'active', 'JOHN', p.surname, "
                "date '1950-01-01' + (g % 18000), '{}', 1, 1, now(), now() "
                "FROM generate_series(1, :persons) g JOIN pool p ON p.i = (g::bigint * 7919) % :size"
            ),
            {"persons": persons, "size": size},
        )
        c.execute(
            text(
                "INSERT INTO source_records (feed, source_key, person_id, forenames, surname, date_of_birth, "
                "pnc_id, surname_sound, surname_anagram, raw, extra, run_id) "
                "SELECT (ARRAY['police','probation','prison'])[1 + g % 3], 'K' || g, "
                "'P' || lpad((1 + (g::bigint * 5) % :persons)::text, 9, '0'), 'JOHN', p.surname, "
                "date '1950-01-01' + (g % 18000), "
                "CASE WHEN g % 3 = 0 THEN (1980 + g % 40)::text || '/' || lpad(g::text, 7, '0') || 'A' END, "
                "p.sound, p.anagram, '{}', '{}', 1 "
                "FROM generate_series(1, :records) g JOIN pool p ON p.i = (g::bigint * 104729) % :size"
            ),
            {"records": int(persons * 1.78), "persons": persons, "size": size},
        )
        total = open_exceptions + open_exceptions // 4
        c.execute(
            text(
                "INSERT INTO exceptions (fingerprint, kind, severity, priority, rule, feed, source_key, person_id, "
                "detail, status, data_hash, first_seen_run_id, last_seen_run_id, first_seen_at, last_seen_at, version, "
                "resolved_at) "
                "SELECT md5(g::text), (CAST(:kinds AS text[]))[1 + g % 7], "
                "(ARRAY['critical','error','error','warning'])[1 + g % 4], 'normal', "
                "(CAST(:rules AS text[]))[1 + g % 6], "
                "(ARRAY['police','probation','prison'])[1 + g % 3], 'K' || g, "
                "'P' || lpad((1 + g % :persons)::text, 9, '0'), 'detail, masked', "
                "CASE WHEN g > :open THEN 'resolved' WHEN g % 10 = 0 THEN 'assigned' ELSE 'open' END, md5(g::text), "
                "1, 1, now() - ((g % 400) || ' days')::interval, now(), 1, "
                "CASE WHEN g > :open THEN now() END "
                "FROM generate_series(1, :total) g"
            ),
            {"kinds": list(KINDS), "rules": list(RULES), "persons": persons, "open": open_exceptions, "total": total},
        )
        c.exec_driver_sql("ANALYZE")
    print(
        f"  filled {persons:,} persons, {int(persons * 1.78):,} records, {total:,} exceptions "
        f"in {time.perf_counter() - started:.0f} s"
    )


def timed(label: str, call: Callable[[], object], target_ms: float, runs: int = 30) -> None:
    for _ in range(3):
        call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append((time.perf_counter() - started) * 1000)
    median = statistics.median(seconds)
    p95 = sorted(seconds)[int(runs * 0.95) - 1]
    verdict = "met" if median <= target_ms else "NOT MET"
    print(f"  {label:58} median {median:6.1f} ms  p95 {p95:6.1f} ms  (target {target_ms:.0f} ms: {verdict})")


def main() -> None:
    persons = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    open_exceptions = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    print(f"triage at scale: {persons:,} persons, {open_exceptions:,} open exceptions, PostgreSQL")
    url = fresh_database("nominal_bench_triage")
    fill(url, persons, open_exceptions)
    engine = ensure_schema(url)
    admin = users.add_user(engine, None, "bench.admin", "Bench Admin", Role.ADMIN, PASSWORD)
    boss = Actor(admin.id, admin.name, admin.display_name, Role.ADMIN)
    officer_view = users.add_user(engine, boss, "bench.officer", "Bench Officer", Role.OFFICER, PASSWORD)
    officer = Actor(officer_view.id, officer_view.name, officer_view.display_name, Role.OFFICER)

    def page(**wanted: object) -> Callable[[], object]:
        filters = exceptions.queue_filter(engine, officer, **wanted)  # type: ignore[arg-type]
        return lambda: exceptions.queue(engine, officer, filters, limit=50)

    print("through the service (the page includes its counts by kind):")
    timed("queue, first page, no filter", page(), 100)
    timed("queue, filtered: feed police, kind validation", page(feed="police", kind="validation"), 100)
    timed("queue, filtered: rule valid_pnc_id, severity critical", page(rule="valid_pnc_id", severity="critical"), 100)
    timed("queue, filtered: older than 90 days", page(min_age=90), 100)
    deep = exceptions.queue(engine, officer, exceptions.queue_filter(engine, officer), limit=500)
    for _ in range(20):
        cursor = deep.next_cursor
        deep = exceptions.queue(engine, officer, exceptions.queue_filter(engine, officer), after=cursor, limit=500)
    far = exceptions.queue_filter(engine, officer)
    timed("queue, a page 10,000 rows deep (keyset)", lambda: exceptions.queue(engine, officer, far, after=cursor), 100)
    timed("fuzzy name search: SMITH, JOHN", lambda: search.search(engine, officer, name="SMITH, JOHN"), 300)
    timed("fuzzy name search, a typo: SMTIH", lambda: search.search(engine, officer, name="SMTIH"), 300)
    timed("search by date of birth", lambda: search.search(engine, officer, date_of_birth="1970-06-01"), 300)
    timed("search by PNC ID", lambda: search.search(engine, officer, identifier="1983/0000003A"), 300)

    print("through the JSON API (HTTP in process, FastAPI included):")
    client = TestClient(create_app(engine), base_url="https://testserver")
    token = client.post("/api/tokens", json={"name": "bench.officer", "password": PASSWORD}).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    timed(
        "GET /api/exceptions?feed=police&kind=validation",
        lambda: client.get("/api/exceptions", params={"feed": "police", "kind": "validation"}),
        100,
    )
    timed("POST /api/search {name: SMITH, JOHN}", lambda: client.post("/api/search", json={"name": "SMITH, JOHN"}), 300)


if __name__ == "__main__":
    main()
