"""`nominal validate` end to end: outputs, gates, exit codes, Data Docs, and generated data's injected errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from nominal.cli import app
from nominal.config import SHIPPED_CONFIG, SHIPPED_SUITES
from nominal.store.db import ensure_schema
from nominal.store.models import QualityMetric, Run
from nominal.synthetic import generate

runner = CliRunner()
NIGHT = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Three nights of 1,500 synthetic people (seeded), shared by the tests of this module."""
    out = tmp_path_factory.mktemp("generated")
    generate(people=1500, seed=11, out=out, nights=3, start_date=NIGHT)
    return out


def workspace(tmp_path, generated):
    """A config of our own (the shipped one) over a private copy of the landing folder."""
    shutil.copytree(generated / "landing", tmp_path / "landing")
    config = tmp_path / "nominal.yaml"
    config.write_text(SHIPPED_CONFIG.read_text())
    return config


def validate(config, out, night=NIGHT, *extra):
    return runner.invoke(
        app, ["validate", "--as-of", night.isoformat(), "--out", str(out), "--config", str(config), *extra]
    )


def test_validate_writes_exceptions_metrics_gates_and_data_docs(tmp_path, generated):
    config = workspace(tmp_path, generated)
    result = validate(config, tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    exceptions = pd.read_parquet(out / "exceptions.parquet")
    assert list(exceptions.columns) == [
        "run_id",
        "feed",
        "source_key",
        "row",
        "field",
        "rule",
        "severity",
        "priority",
        "kind",
        "detail",
    ]
    assert set(exceptions["feed"]) == {"police", "probation", "prison"}
    metrics = pd.read_parquet(out / "quality_metrics.parquet")
    assert {"completeness_rate", "validity_rate", "rows_checked", "error_rate", "gate_passed"} <= set(metrics.columns)
    gates = json.loads((out / "gates.json").read_text())
    assert gates["passed"] is True and set(gates["feeds"]) == {"police", "probation", "prison"}
    index = out / gates["data_docs"]
    assert index.is_file()
    for page in (out / "data_docs").rglob("*.html"):
        external = re.findall(r"""(?:src|href)\s*=\s*["']https?://[^"']+""", page.read_text())
        assert external == [], (page, external[:3])
    assert (out / "data_docs" / "static" / "vendor" / "jquery" / "jquery.min.js").is_file()


def test_exceptions_match_the_errors_the_generator_injected(tmp_path, generated):
    config = workspace(tmp_path, generated)
    assert validate(config, tmp_path / "out").exit_code == 0
    exceptions = pd.read_parquet(tmp_path / "out" / "exceptions.parquet")
    injected = pd.read_csv(generated / "truth" / NIGHT.isoformat() / "errors.csv", dtype=str)

    def pairs(frame, feed_col="feed"):
        return set(zip(frame[feed_col], frame["source_key"], frame["field"]))

    # identifiers mistyped (check letter) or malformed, as sent
    for error, rules in (
        ("id_check_letter", ("valid_pnc_id", "valid_cro_number")),
        ("id_bad_format", ("valid_pnc_id", "valid_cro_number", "valid_noms_number", "valid_crn", "valid_ni_number")),
    ):
        expected = pairs(injected[injected["error"] == error])
        got = pairs(
            exceptions[
                exceptions["rule"].isin(rules)
                & exceptions["detail"].str.contains("check letter" if error == "id_check_letter" else "bad format")
            ]
        )
        assert expected and got == expected, (error, sorted(expected ^ got)[:5])
    for error, rule in (
        ("overdue_notification", "notification_overdue"),
        ("release_passed_active_in", "release_passed_active_in"),
    ):
        expected = set(zip(*injected.loc[injected["error"] == error, ["feed", "source_key"]].T.values))
        got = set(zip(*exceptions.loc[exceptions["rule"] == rule, ["feed", "source_key"]].T.values))
        assert expected and got == expected, (error, sorted(expected ^ got)[:5])


@pytest.mark.slow
def test_a_feed_whose_rows_fall_fails_its_gate_and_validate_exits_1(tmp_path, generated, store_url):
    config = workspace(tmp_path, generated)
    for night in (NIGHT, NIGHT + dt.timedelta(days=1)):
        assert validate(config, tmp_path / f"out-{night}", night, "--db", store_url).exit_code == 0
    # the third night's prison extract loses half its rows (manifest rewritten to match: a whole, but short, delivery)
    third = NIGHT + dt.timedelta(days=2)
    folder = tmp_path / "landing" / "prison" / third.isoformat()
    data = (folder / f"prisoners_{third:%Y%m%d}.csv").read_bytes().split(b"\n")
    header, rows = data[0], [r for r in data[1:] if r]
    short = b"\n".join([header, *rows[: len(rows) // 2]]) + b"\n"
    (folder / f"prisoners_{third:%Y%m%d}.csv").write_bytes(short)
    manifest = json.loads((folder / "manifest.json").read_text())
    import hashlib

    manifest.update(rows=len(rows) // 2, sha256=hashlib.sha256(short).hexdigest())
    (folder / "manifest.json").write_text(json.dumps(manifest))

    result = validate(config, tmp_path / "out-3", third, "--db", store_url)
    assert result.exit_code == 1
    assert "prison" in result.output and "row_count" in result.output
    gates = json.loads((tmp_path / "out-3" / "gates.json").read_text())
    assert gates["passed"] is False
    assert gates["feeds"]["police"]["passed"] and gates["feeds"]["probation"]["passed"]
    assert gates["feeds"]["prison"]["reasons"][0].startswith("critical rule row_count failed: far fewer rows")
    engine = ensure_schema(store_url)
    with engine.connect() as connection:
        runs = connection.execute(select(Run.status, Run.message).order_by(Run.id)).all()
        feed_metrics = connection.execute(
            select(QualityMetric.feed, QualityMetric.gate_passed).where(
                QualityMetric.field.is_(None), QualityMetric.run_id == 3
            )
        ).all()
    assert [r.status for r in runs] == ["succeeded", "succeeded", "gate_failed"]
    assert "prison: critical rule row_count failed" in runs[-1].message
    assert sorted(feed_metrics) == [("police", True), ("prison", False), ("probation", True)]


def test_a_refused_delivery_fails_its_gate(tmp_path, generated):
    config = workspace(tmp_path, generated)
    (tmp_path / "landing" / "police" / NIGHT.isoformat() / "manifest.json").unlink()
    result = validate(config, tmp_path / "out")
    assert result.exit_code == 1
    gates = json.loads((tmp_path / "out" / "gates.json").read_text())
    assert gates["feeds"]["police"]["reasons"][0].startswith("delivery refused: police")
    assert gates["feeds"]["prison"]["passed"]


def test_usage_error_exits_2(tmp_path):
    assert runner.invoke(app, ["validate", "--as-of", "yesterday", "--out", str(tmp_path)]).exit_code == 2


def test_a_user_adds_a_rule_to_a_suite_file_without_code(tmp_path, generated):
    config = workspace(tmp_path, generated)
    suite = json.loads((SHIPPED_SUITES / "police.json").read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "force_code", "value_set": ["01", "02"]},
            "description": "Only forces 01 and 02 are ours.",
            "meta": {"rule": "our_forces", "severity": "warning", "message": "nominal owned by another force"},
        }
    )
    (tmp_path / "police.json").write_text(json.dumps(suite))
    config.write_text(config.read_text().replace("suite: police.json ", "suite: ./police.json "))
    assert "./police.json" in config.read_text()
    result = validate(config, tmp_path / "out")
    assert result.exit_code == 0, result.output
    exceptions = pd.read_parquet(tmp_path / "out" / "exceptions.parquet")
    ours = exceptions[exceptions["rule"] == "our_forces"]
    police = pd.read_parquet(tmp_path / "out" / "police.parquet")
    assert len(ours) == (~police["force_code"].isin(["01", "02"])).sum() > 0
    assert set(ours["severity"]) == {"warning"} and set(ours["detail"]) == {"nominal owned by another force"}


def test_a_broken_suite_file_is_refused_naming_the_entry(tmp_path, generated):
    config = workspace(tmp_path, generated)
    (tmp_path / "police.json").write_text(
        json.dumps(
            {
                "name": "police",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_in_sett",
                        "kwargs": {"column": "sex"},
                        "meta": {"rule": "x", "severity": "error", "message": "m"},
                    }
                ],
            }
        )
    )
    config.write_text(config.read_text().replace("suite: police.json ", "suite: ./police.json "))
    result = validate(config, tmp_path / "out")
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # the console wraps long lines
    assert (
        "police.json: expectations[0] (expect_column_values_to_be_in_sett): "
        "expect_column_values_to_be_in_sett not found" in output
    )


def test_data_docs_open_offline_in_a_browser_and_list_every_feed(tmp_path, generated, browser):
    config = workspace(tmp_path, generated)
    assert validate(config, tmp_path / "out").exit_code == 0
    page = browser.new_page()
    outside = []
    page.on(
        "request",
        lambda request: outside.append(request.url) if not request.url.startswith(("file://", "data:")) else None,
    )
    page.goto((tmp_path / "out" / "data_docs" / "index.html").as_uri())
    rows = page.locator("tr[data-href^='validations/']")  # rows the page's bootstrap-table renders
    rows.first.wait_for()
    assert rows.count() == 3  # one validation result per feed, listed by the page's own (vendored) scripts
    assert {"police", "probation", "prison"} <= set(" ".join(rows.all_inner_texts()).split())
    assert outside == []
    page.close()
