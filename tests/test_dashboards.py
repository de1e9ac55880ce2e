"""The dashboards' figures, the weekly report and the alerts, against a store filled with known data."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from nominal.config import read_config
from nominal.flows import alerts
from nominal.reporting import weekly
from nominal.store.models import (
    AuditLog,
    ExceptionRecord,
    NightExceptionCount,
    NightFeedCombination,
    NightMatchCount,
    QualityMetric,
    Run,
    RunStage,
)
from nominal.triage import dashboards
from nominal.triage.dashboards import Period
from tests.people import make_staff

UTC = dt.UTC
MONDAY = dt.date(2026, 11, 23)  # week 2026-W48


def at(day: dt.date, hour: int = 2) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), UTC)


@pytest.fixture
def filled(store_engine):
    """Three nights: Monday and Tuesday published (Tuesday also validated again and re-run: the
    re-run counts), Wednesday stopped at a gate. Known figures in every per-night table."""
    runs = [
        # id, kind, night, status, started, finished
        (1, "sync", MONDAY, "succeeded", at(MONDAY), at(MONDAY, 3)),
        (
            2,
            "sync",
            MONDAY + dt.timedelta(1),
            "succeeded",
            at(MONDAY + dt.timedelta(1)),
            at(MONDAY + dt.timedelta(1), 3),
        ),
        (
            3,
            "validate",
            MONDAY + dt.timedelta(1),
            "succeeded",
            at(MONDAY + dt.timedelta(1), 9),
            at(MONDAY + dt.timedelta(1), 9),
        ),
        (
            4,
            "sync",
            MONDAY + dt.timedelta(1),
            "succeeded",
            at(MONDAY + dt.timedelta(1), 10),
            at(MONDAY + dt.timedelta(1), 11),
        ),
        (
            5,
            "sync",
            MONDAY + dt.timedelta(2),
            "gate_failed",
            at(MONDAY + dt.timedelta(2)),
            at(MONDAY + dt.timedelta(2), 2),
        ),
    ]
    with store_engine.begin() as c:
        for run_id, kind, night, status, started, finished in runs:
            c.execute(
                insert(Run).values(
                    id=run_id,
                    kind=kind,
                    as_of=night,
                    status=status,
                    started_at=started,
                    finished_at=finished,
                    feeds=["police", "prison"],
                    counts={},
                    message="police: rows halved" if status != "succeeded" else None,
                )
            )
        metrics = []
        for run_id, police_surname in ((1, 0.90), (2, 0.50), (3, 0.10), (4, 0.95)):  # run 2 is superseded by 4
            metrics += [
                {
                    "run_id": run_id,
                    "feed": "police",
                    "field": "surname",
                    "completeness_rate": police_surname,
                    "validity_rate": 1.0,
                    "rows_checked": 100,
                },
                {
                    "run_id": run_id,
                    "feed": "police",
                    "field": "pnc_id",
                    "completeness_rate": 0.80,
                    "validity_rate": 0.9,
                    "rows_checked": 100,
                },
                {
                    "run_id": run_id,
                    "feed": "prison",
                    "field": "surname",
                    "completeness_rate": 1.0,
                    "validity_rate": 1.0,
                    "rows_checked": 50,
                },
                {
                    "run_id": run_id,
                    "feed": "police",
                    "field": None,
                    "rows": 100,
                    "error_rate": 0.05,
                    "gate_passed": True,
                },
            ]
        keys = ("completeness_rate", "validity_rate", "rows_checked", "rows", "error_rate", "gate_passed")
        c.execute(insert(QualityMetric), [dict.fromkeys(keys) | m for m in metrics])
        c.execute(
            insert(NightMatchCount),
            [
                {
                    "run_id": r,
                    "records": 150,
                    "persons": 120,
                    "links_identifier": 10,
                    "links_model": 15,
                    "links_officer": 1,
                    "singles": 124,
                    "review_pairs": r,
                    "needs_attention": 2,
                    "created": 0,
                    "merged": 1,
                    "split": 0,
                    "retired": 0,
                }
                for r in (1, 4)
            ],
        )
        c.execute(
            insert(NightFeedCombination),
            [
                {"run_id": 4, "feeds": "police", "persons": 70},
                {"run_id": 4, "feeds": "police+prison", "persons": 30},
                {"run_id": 4, "feeds": "prison", "persons": 20},
            ],
        )
        c.execute(
            insert(NightExceptionCount),
            [
                {
                    "run_id": 1,
                    "feed": "police",
                    "kind": "validation",
                    "severity": "error",
                    "status": "open",
                    "count": 10,
                    "opened": 10,
                    "closed": 0,
                },
                {
                    "run_id": 4,
                    "feed": "police",
                    "kind": "validation",
                    "severity": "error",
                    "status": "open",
                    "count": 7,
                    "opened": 2,
                    "closed": 5,
                },
                {
                    "run_id": 4,
                    "feed": "police",
                    "kind": "validation",
                    "severity": "error",
                    "status": "resolved",
                    "count": 5,
                    "opened": 0,
                    "closed": 5,
                },
            ],
        )
        c.execute(
            insert(RunStage),
            [{"run_id": 4, "stage": "match", "seconds": 12.5}, {"run_id": 4, "stage": "publish", "seconds": 3.0}],
        )
        now = dt.datetime.now(UTC)
        ages = {"a": 2, "b": 20, "c": 60, "d": 200, "e": 200}
        for key, days in ages.items():
            c.execute(
                insert(ExceptionRecord).values(
                    fingerprint=key * 32,
                    kind="discrepancy" if key in "de" else "validation",
                    severity="critical" if key in "ce" else "error",
                    rule="mappa_differs" if key in "de" else "valid_pnc_id",
                    feed="police",
                    source_key=f"K{key}",
                    detail="masked",
                    status="open",
                    first_seen_run_id=1,
                    last_seen_run_id=4,
                    first_seen_at=now - dt.timedelta(days=days),
                    last_seen_at=now,
                    version=1,
                )
            )
    return store_engine


def test_a_night_counts_once_its_latest_successful_sync(filled):
    officer = make_staff(filled)["officer1"]
    period = Period(MONDAY, MONDAY + dt.timedelta(days=6))
    board = dashboards.completeness(filled, officer, period)
    trend = board.tables["trend"]
    police = trend[(trend["feed"] == "police") & (trend["field"] == "surname")]
    assert list(police["completeness"]) == [0.90, 0.95]  # Monday's, then Tuesday's re-run (not run 2, not validate)
    assert board.latest_run_id == 4
    latest = board.tables["latest"].set_index(["feed", "field"])
    assert (
        latest.loc[("police", "pnc_id"), "validity"] == 0.9 and latest.loc[("prison", "surname"), "completeness"] == 1.0
    )
    one_feed = dashboards.completeness(filled, officer, Period(MONDAY, MONDAY + dt.timedelta(6), "prison")).tables[
        "trend"
    ]
    assert set(one_feed["feed"]) == {"prison"}


def test_matching_exceptions_and_runs_figures(filled):
    viewer = make_staff(filled)["viewer1"]
    period = Period(MONDAY, MONDAY + dt.timedelta(days=6))
    matching = dashboards.matching(filled, viewer, period)
    assert dict(zip(matching.tables["combinations"]["feeds"], matching.tables["combinations"]["persons"])) == {
        "police": 70,
        "police+prison": 30,
        "prison": 20,
    }
    assert list(matching.tables["per_night"]["review_pairs"]) == [1, 4]
    backlog = dashboards.exceptions(filled, viewer, period)
    per_night = backlog.tables["per_night"]
    assert (
        list(per_night["opened"]) == [10, 2]
        and list(per_night["closed"]) == [0, 10]
        and list(per_night["open"]) == [10, 7]
    )
    ageing = backlog.tables["ageing"].set_index(["band", "kind"])["open"]
    assert ageing[("0–7 days", "validation")] == 1 and ageing[("8–30 days", "validation")] == 1
    assert ageing[("31–90 days", "validation")] == 1 and ageing[("90+ days", "discrepancy")] == 2
    assert list(backlog.tables["oldest_critical"]["reference"]) == ["e" * 12, "c" * 12]  # oldest first
    assert dict(zip(backlog.tables["discrepancies"]["rule"], backlog.tables["discrepancies"]["open"])) == {
        "mappa_differs": 2
    }
    assert int(backlog.tables["by_assignee"]["open"].sum()) == 5
    runs = dashboards.nights(filled, viewer, period)
    assert dict(zip(runs.tables["stages"]["stage"], runs.tables["stages"]["seconds"])) == {
        "match": 12.5,
        "publish": 3.0,
    }
    assert runs.health.failed and "did not publish" in runs.health.message  # Wednesday stopped at its gate


def test_a_late_night_raises_the_alarm_and_a_table_downloads_as_audited_csv(filled):
    viewer = make_staff(filled)["viewer1"]
    health = dashboards.health(filled)
    assert health.late and health.alarm  # nothing published in the last 26 hours (the data is from November)
    text = dashboards.csv(filled, viewer, "exceptions", "by_kind", Period(MONDAY, MONDAY + dt.timedelta(6)))
    assert text.splitlines()[0] == "kind,severity,open"
    with filled.connect() as c:
        assert c.scalar(select(AuditLog.object_id).where(AuditLog.action == "export")) == "exceptions/by_kind"


def test_the_weekly_report_is_one_page_of_figures_as_html_and_pdf(filled, tmp_path):
    html, pdf = weekly.write(filled, weekly.Week.parse("2026-W48"), tmp_path)
    page = html.read_text()
    assert "Not every night published" in page and "Stopped at a gate" in page and "police: rows halved" in page
    assert "Mappa differs" in page and "K" + "a" not in page  # figures only: no record key
    assert pdf.read_bytes().startswith(b"%PDF")
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", pages, re.M)  # one page, ready to e-mail
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    image = next(tmp_path.glob("page*.png"))
    data = image.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5_000  # a page with something drawn on it
    with pytest.raises(Exception, match="YYYY-Www"):
        weekly.Week.parse("2026-48")


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def receivers():
    http = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    mailbox = _Mailbox()
    with socket.socket() as probe:  # aiosmtpd needs its port named: a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    _Receiver.received = []
    yield f"http://127.0.0.1:{http.server_address[1]}/hook", smtp, mailbox
    http.shutdown()
    smtp.stop()


def alerting_config(hook: str, smtp: Controller):
    config = read_config()
    config.alerts = config.alerts.model_validate(
        {
            "webhook": hook,
            "email": {
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "sender": "nominal@example.org",
                "to": ["duty@example.org"],
            },
            "publish_by": "07:00",
            "summary_url": "https://nominal.example.org/reports",
        }
    )
    return config


def test_a_failed_gate_is_told_by_webhook_and_email(receivers):
    hook, smtp, mailbox = receivers
    config = alerting_config(hook, smtp)
    sent = alerts.night_failed(
        config, MONDAY, gate=True, message="gate failed, nothing published — police: rows halved"
    )
    assert sent == ["webhook", "email"]
    [posted] = _Receiver.received
    assert posted["kind"] == "gate_failed" and posted["night"] == "2026-11-23" and "rows halved" in posted["text"]
    assert posted["summary"] == "https://nominal.example.org/reports/2026-11-23/summary.html"
    [mail] = mailbox.messages
    assert "stopped at a gate" in mail["Subject"] and mail["To"] == "duty@example.org"


def test_no_night_published_by_the_set_time_is_told(receivers, filled):
    hook, smtp, mailbox = receivers
    config = alerting_config(hook, smtp)
    before = dt.datetime(2026, 11, 26, 6, 59, tzinfo=UTC)  # 06:59 in London (GMT in November)
    assert alerts.check_late(config, filled, before) is None
    after = dt.datetime(2026, 11, 26, 7, 1, tzinfo=UTC)
    late = alerts.check_late(config, filled, after)
    assert late is not None and late.kind == "late" and "No night has published since 24 November" in late.text
    assert _Receiver.received[-1]["kind"] == "late" and mailbox.messages
    on_time = dt.datetime(2026, 11, 25, 7, 30, tzinfo=UTC)  # Tuesday's re-run finished at 11:00 UTC on the 24th
    assert alerts.check_late(config, filled, on_time) is None


def test_a_channel_that_fails_is_logged_not_raised(caplog):
    config = read_config()
    config.alerts = config.alerts.model_validate({"webhook": "http://127.0.0.1:9/nowhere"})
    assert alerts.notify(config.alerts, alerts.Alert("failed", MONDAY, "t", "x")) == []
    assert "could not be posted" in caplog.text
