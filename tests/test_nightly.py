"""The nightly flow end to end, in Prefect (one test harness per session): nights published on
SQLite and PostgreSQL, reruns idempotent, gates stopping a night before publish, retries only for
unreachable sources, faults leaving the last publication intact, Dask giving the same result."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from nominal.api import create_app
from nominal.config import SHIPPED_CONFIG
from nominal.flows.configuration import load_config
from nominal.store.db import StoreUnavailable, ensure_schema
from nominal.store.models import Decision, Delivery, ExceptionRecord, Person, PersonLink, ReviewPair, Run
from nominal.synthetic import generate
from tests.people import PASSWORD, make_staff

NIGHT = dt.date(2026, 11, 23)
NEXT = NIGHT + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def feeds(tmp_path_factory) -> Path:
    """Three nights of 400 synthetic people: the landing folder."""
    out = tmp_path_factory.mktemp("nightly_feeds")
    generate(people=400, seed=11, out=out, nights=3, start_date=NIGHT)
    return out / "landing"


@pytest.fixture
def workspace(tmp_path, feeds, prefect_harness):
    """A config in a fresh folder (archive, state and reports there) reading a private copy of the landing."""
    landing = tmp_path / "landing"
    shutil.copytree(feeds, landing)
    path = tmp_path / "nominal.yaml"
    path.write_text(SHIPPED_CONFIG.read_text())
    config = load_config(path)
    config.schedule.retry_delay_seconds = 0
    return config, landing


def sync(config, night, landing, url, **options):
    from nominal.flows.nightly import run_night_in_flow

    return run_night_in_flow(config, night, landing=landing, db_url=url, **options)


def counts(url):
    engine = ensure_schema(url)
    with engine.connect() as c:
        persons = dict(c.execute(select(Person.person_id, Person.content_hash)).all())
        links = {
            (f, k): p for f, k, p in c.execute(select(PersonLink.feed, PersonLink.source_key, PersonLink.person_id))
        }
        exceptions = c.scalar(select(func.count()).select_from(ExceptionRecord))
        runs = [(r.as_of, r.status) for r in c.execute(select(Run.as_of, Run.status).order_by(Run.id))]
    return persons, links, exceptions, runs


def test_two_nights_publish_and_a_rerun_changes_nothing(workspace, store_url):
    config, landing = workspace
    first = sync(config, NIGHT, landing, store_url)
    assert first.status == "succeeded"
    persons1, links1, _, _ = counts(store_url)
    assert 300 < len(persons1) < 700 and len(links1) == first.counts["publish"]["records"]
    second = sync(config, NEXT, landing, store_url)
    persons2, links2, exceptions2, _ = counts(store_url)
    kept = [key for key in links1 if key in links2]
    assert sum(links1[k] == links2[k] for k in kept) / len(kept) > 0.97  # ids stay stable night to night
    assert second.counts["publish"]["persons_written"] < len(persons2) * 0.2  # only what changed is rewritten

    again = sync(config, NEXT, landing, store_url)  # the same night again
    persons3, links3, exceptions3, runs = counts(store_url)
    assert (persons3, links3, exceptions3) == (persons2, links2, exceptions2)
    assert again.counts["publish"]["exceptions"]["new"] == 0
    assert runs == [(NIGHT, "succeeded"), (NEXT, "succeeded"), (NEXT, "succeeded")]
    report = again.reports
    assert (report / "summary.html").is_file() and any(report.glob("exceptions_*.xlsx"))
    assert not list(report.parent.glob(".*"))  # no staging folder left behind
    page = (report / "summary.html").read_text()
    # a page for a manager: the night in a sentence, tables with labels, no JSON, no "nan" feed
    assert "The night was published" in page and "records from 3 feeds make" in page
    assert "{" not in page and "nan" not in page.lower().split() and "<script" not in page
    assert (report / "report.css").is_file() and 'href="report.css"' in page
    assert all(f'href="{p.name}"' in page for p in report.glob("exceptions_*.xlsx"))


def test_a_missing_feed_stops_the_night_before_publish_and_records_why(workspace, store_url):
    from nominal.flows.nightly import GateFailed

    config, landing = workspace
    sync(config, NIGHT, landing, store_url)
    before = counts(store_url)
    shutil.rmtree(landing / "police" / NEXT.isoformat())
    with pytest.raises(GateFailed, match="police"):
        sync(config, NEXT, landing, store_url)
    persons, links, _, runs = counts(store_url)
    assert (persons, links) == before[:2]  # the last good publication, untouched
    assert runs[-1] == (NEXT, "gate_failed")
    engine = ensure_schema(store_url)
    with engine.connect() as c:
        message = c.scalar(select(Run.message).order_by(Run.id.desc()).limit(1))
        assert "police" in message and "nothing published" in message
        feed_exceptions = c.scalar(
            select(func.count())
            .select_from(ExceptionRecord)
            .where(ExceptionRecord.kind == "feed", ExceptionRecord.status == "open")
        )
        assert feed_exceptions == 1
        refused = c.scalar(select(Delivery.status).where(Delivery.feed == "police", Delivery.as_of == NEXT))
        assert refused == "rejected"


def test_a_feed_whose_rows_halved_fails_its_gate(workspace, tmp_path):
    from nominal.flows.nightly import GateFailed

    config, landing = workspace
    url = f"sqlite:///{tmp_path / 'halved.db'}"
    sync(config, NIGHT, landing, url)
    _halve_delivery(landing / "prison" / NEXT.isoformat())
    with pytest.raises(GateFailed, match="prison"):
        sync(config, NEXT, landing, url)


def _halve_delivery(folder: Path) -> None:
    """Keep half the rows and fix the manifest, as a source that really sent half would."""
    import hashlib
    import json

    data = next(p for p in folder.iterdir() if not p.name.endswith(".json"))
    lines = data.read_bytes().splitlines(keepends=True)
    kept = lines[: 1 + (len(lines) - 1) // 2]
    data.write_bytes(b"".join(kept))
    manifest = next(folder.glob("*.json"))
    meta = json.loads(manifest.read_text())
    for key in list(meta):
        if "row" in key:
            meta[key] = len(kept) - 1
        if "sha" in key:
            meta[key] = hashlib.sha256(data.read_bytes()).hexdigest()
    manifest.write_text(json.dumps(meta))


def test_a_truncated_delivery_is_not_retried_and_an_unreachable_source_is(workspace, tmp_path, monkeypatch):
    from nominal.errors import SourceUnavailable
    from nominal.flows import nightly

    config, landing = workspace
    calls: dict[str, int] = {}
    real = nightly.ingest_feed

    def flaky(config, feed, context, raise_unavailable=False):
        calls[feed.name] = calls.get(feed.name, 0) + 1
        if feed.name == "probation" and calls[feed.name] == 1:
            raise SourceUnavailable("probation", "connection refused")
        return real(config, feed, context, raise_unavailable=raise_unavailable)

    monkeypatch.setattr(nightly, "ingest_feed", flaky)
    data = next(p for p in (landing / "police" / NIGHT.isoformat()).iterdir() if not p.name.endswith(".json"))
    data.write_bytes(data.read_bytes()[: len(data.read_bytes()) // 2])  # truncated: the manifest no longer fits
    with pytest.raises(nightly.GateFailed, match="police"):
        sync(config, NIGHT, landing, f"sqlite:///{tmp_path / 'retry.db'}")
    assert calls == {"police": 1, "probation": 2, "prison": 1}


def test_a_database_that_is_down_at_start_is_a_clear_error_and_nothing_runs(workspace):
    config, landing = workspace
    with pytest.raises(StoreUnavailable, match=r"\*\*\*|unavailable"):
        sync(config, NIGHT, landing, "postgresql+psycopg://nominal:secret@127.0.0.1:1/none")
    assert not config.reports_dir.exists() or not any(config.reports_dir.iterdir())


def test_reports_that_cannot_be_written_stop_the_night_before_publish(workspace, tmp_path):
    config, landing = workspace
    url = f"sqlite:///{tmp_path / 'reports.db'}"
    config.reports_dir.parent.mkdir(parents=True, exist_ok=True)
    config.reports_dir.write_text("a file where the reports folder should be")  # as unwritable as a full disk
    with pytest.raises(OSError):
        sync(config, NIGHT, landing, url)
    persons, links, _, runs = counts(url)
    assert persons == {} and links == {} and runs == [(NIGHT, "failed")]
    config.reports_dir.unlink()
    assert sync(config, NIGHT, landing, url).status == "succeeded"  # simply run again


def test_the_same_night_twice_at_once_the_second_refuses(workspace, tmp_path):
    import subprocess

    from nominal.store import writes

    config, landing = workspace
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    engine = ensure_schema(url)
    holder = subprocess.Popen(["sleep", "30"])
    try:
        writes.acquire_lock(engine, NIGHT)
        with engine.begin() as c:
            c.execute(writes.update(writes.RunLock).values(pid=holder.pid))
        with pytest.raises(writes.RunLocked):
            sync(config, NIGHT, landing, url)
    finally:
        holder.kill()
        holder.wait()
    assert sync(config, NIGHT, landing, url).status == "succeeded"


def test_dask_publishes_the_same_as_threads(workspace, tmp_path):
    config, landing = workspace
    threads_url, dask_url = f"sqlite:///{tmp_path / 'threads.db'}", f"sqlite:///{tmp_path / 'dask.db'}"
    sync(config, NIGHT, landing, threads_url)
    state = config.match_state_dir
    shutil.rmtree(state)
    on_dask = sync(config, NIGHT, landing, dask_url, runner="dask", pairs_per_partition=100)
    assert on_dask.counts["match"]["compare_partitions"] >= 3  # its pairs were compared in partitions on the cluster
    assert counts(threads_url)[:3] == counts(dask_url)[:3]


def test_cli_sync_and_status(workspace, tmp_path):
    from nominal.cli import app

    config, landing = workspace
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["sync", "--as-of", NIGHT.isoformat(), "--config", str(config.source), "--landing", str(landing), "--db", url],
    )
    assert result.exit_code == 0, result.output
    output = result.output.replace("\n", "")  # the console wraps long lines
    assert "succeeded" in output and "summary.html" in output
    status = runner.invoke(app, ["status", "--config", str(config.source), "--db", url, "--json"])
    assert status.exit_code == 0 and '"status": "succeeded"' in status.output
    shutil.rmtree(landing / "prison" / NEXT.isoformat())
    failed = runner.invoke(
        app,
        ["sync", "--as-of", NEXT.isoformat(), "--config", str(config.source), "--landing", str(landing), "--db", url],
    )
    assert failed.exit_code == 1 and "gate failed" in failed.output.replace("\n", "")


def test_demo_runs_three_nights_through_the_flow(tmp_path, monkeypatch, prefect_harness):
    import json

    from nominal.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--people", "300", "--dir", "demo"])
    assert result.exit_code == 0, result.output
    reports = tmp_path / "demo" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["2026-11-23", "2026-11-24", "2026-11-25"]
    summary = json.loads((reports / "2026-11-25" / "summary.json").read_text())
    assert summary["status"] == "succeeded" and summary["counts"]["publish"]["persons"] > 150
    _, _, _, runs = counts(f"sqlite:///{tmp_path / 'demo' / 'nominal.db'}")  # the store sits beside the demo's config
    assert [status for _, status in runs] == ["succeeded"] * 3


def test_a_disk_that_fills_while_reports_are_written_publishes_nothing(workspace, tmp_path, monkeypatch):
    import errno

    import nominal.publish.reports as reports

    config, landing = workspace
    url = f"sqlite:///{tmp_path / 'full.db'}"

    def disk_full(path, part):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(reports, "write_workbook", disk_full)
    with pytest.raises(OSError, match="No space left"):
        sync(config, NIGHT, landing, url)
    persons, links, exceptions, runs = counts(url)
    assert persons == {} and links == {} and exceptions == 0 and runs == [(NIGHT, "failed")]
    assert not config.reports_dir.exists() or not any(config.reports_dir.iterdir())  # nothing half-written left
    monkeypatch.undo()
    assert sync(config, NIGHT, landing, url).status == "succeeded"


def test_a_decision_made_through_the_api_changes_the_next_night(workspace, store_url):
    config, landing = workspace
    first = sync(config, NIGHT, landing, store_url)
    engine = ensure_schema(store_url)
    make_staff(engine)
    with engine.connect() as c:  # a pair in review whose records are in two persons tonight
        review = c.execute(
            select(ExceptionRecord.id, ExceptionRecord.version, ReviewPair)
            .join(ReviewPair, ReviewPair.exception_fingerprint == ExceptionRecord.fingerprint)
            .where(ReviewPair.person_id_a != ReviewPair.person_id_b)
            .limit(1)
        ).one()
    officer = TestClient(create_app(engine, config), base_url="https://testserver")
    signed = officer.post("/api/session", json={"name": "officer1", "password": PASSWORD}).json()
    officer.headers["X-CSRF-Token"] = signed["csrf_token"]
    decided = officer.post(
        f"/api/reviews/{review.id}/decision",
        json={"verdict": "link", "version": review.version, "reason": "the same custody photograph"},
    )
    assert decided.status_code == 200, decided.text
    second = sync(config, NEXT, landing, store_url)
    with engine.connect() as c:
        persons = {
            c.scalar(select(PersonLink.person_id).where(PersonLink.feed == feed, PersonLink.source_key == key))
            for feed, key in ((review.feed_a, review.source_key_a), (review.feed_b, review.source_key_b))
        }
        assert len(persons) == 1  # linked by the officer's decision
        decision = c.execute(select(Decision).where(Decision.exception_id == review.id)).one()
        assert decision.applied_run_id == second.run_id != first.run_id
        assert c.scalar(select(ExceptionRecord.status).where(ExceptionRecord.id == review.id)) == "resolved"
