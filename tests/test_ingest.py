"""`nominal ingest` end to end: outputs, the run record, one bad feed among good ones, a fourth feed."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from nominal.cli import app
from nominal.store.db import ensure_schema
from nominal.store.models import Delivery, Run
from tests.deliveries import EXAMPLE_NIGHT, copy_examples

runner = CliRunner()
NIGHT = EXAMPLE_NIGHT.isoformat()


@pytest.fixture
def landing(tmp_path):
    return copy_examples(tmp_path / "landing")


def config_file(tmp_path, extra_feeds: str = "") -> str:
    path = tmp_path / "nominal.yaml"
    path.write_text(
        textwrap.dedent(
            """
            landing: landing
            archive: archive
            feeds:
              - {name: police, connector: landing, mapping: police.yaml, options: {file: "nominals_{date:%Y%m%d}.csv"}}
              - name: probation
                connector: landing
                mapping: probation.yaml
                options: {file: "offenders_{date:%Y%m%d}.psv", delimiter: "|", quoting: false}
              - {name: prison, connector: landing, mapping: prison.yaml, options: {file: "prisoners_{date:%Y%m%d}.csv"}}
            """
        )
        + extra_feeds
    )
    return str(path)


def ingest(tmp_path, db, *args):
    return runner.invoke(app, ["ingest", "--as-of", NIGHT, "--out", str(tmp_path / "out"), "--db", db, *args])


def test_ingest_writes_canonical_files_summary_and_a_run_record(tmp_path, landing, store_url):
    result = ingest(tmp_path, store_url, "--config", config_file(tmp_path), "--landing", str(landing))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "succeeded"
    assert {f: e["rows_mapped"] for f, e in summary["feeds"].items()} == {"police": 19, "probation": 16, "prison": 10}
    police = pd.read_parquet(out / "police.parquet")
    assert police["source_key"].is_unique and police["feed"].eq("police").all()
    assert (tmp_path / "archive" / "police" / NIGHT).is_dir()

    engine = ensure_schema(store_url)
    with engine.connect() as connection:
        run = connection.execute(select(Run)).one()
        deliveries = connection.execute(select(Delivery.feed, Delivery.status, Delivery.rows)).all()
    assert (run.kind, run.status, run.as_of, run.feeds) == (
        "ingest",
        "succeeded",
        EXAMPLE_NIGHT,
        ["police", "probation", "prison"],
    )
    assert run.counts["prison"]["rows_mapped"] == 10
    assert sorted(deliveries) == [("police", "loaded", 19), ("prison", "loaded", 10), ("probation", "loaded", 16)]


def test_rerun_reports_already_loaded_and_gives_the_same_output(tmp_path, landing):
    db = f"sqlite:///{tmp_path / 's.db'}"
    args = ("--config", config_file(tmp_path), "--landing", str(landing))
    assert ingest(tmp_path, db, *args).exit_code == 0
    first = pd.read_parquet(tmp_path / "out" / "probation.parquet")
    result = ingest(tmp_path, db, *args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {e["status"] for e in summary["feeds"].values()} == {"already_loaded"}
    pd.testing.assert_frame_equal(first, pd.read_parquet(tmp_path / "out" / "probation.parquet"))


def test_a_bad_feed_fails_alone_and_is_not_archived(tmp_path, landing):
    manifest = landing / "probation" / NIGHT / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"rows": 16', '"rows": 17'))
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = ingest(tmp_path, db, "--config", config_file(tmp_path), "--landing", str(landing))
    assert result.exit_code == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "partial"
    assert summary["feeds"]["probation"]["status"] == "failed"
    assert "manifest says 17 rows, the file has 16" in summary["feeds"]["probation"]["error"]["text"]
    assert summary["feeds"]["police"]["status"] == "loaded" and summary["feeds"]["prison"]["status"] == "loaded"
    assert not (tmp_path / "out" / "probation.parquet").exists()
    assert not (tmp_path / "archive" / "probation").exists()
    assert (tmp_path / "archive" / "police" / NIGHT).is_dir()
    with ensure_schema(db).connect() as connection:
        run = connection.execute(select(Run)).one()
        rejected = connection.execute(select(Delivery).where(Delivery.feed == "probation")).one()
    assert run.status == "failed" and "probation" in run.message
    assert rejected.status == "rejected" and "17 rows" in rejected.error


def test_a_fourth_feed_is_a_mapping_file_and_a_config_entry(tmp_path, landing):
    """Courts data as a plain CSV (file connector) with its own mapping: no code."""
    (tmp_path / "courts.yaml").write_text(
        textwrap.dedent(
            """
            description: Crown court defendants (a feed that is not one of the three)
            fields:
              source_key: {from: CASE_NO, type: key}
              surname: {from: DEFENDANT, type: full_name, part: surname, order: surname_first}
              forenames: {from: DEFENDANT, type: full_name, part: forenames, order: surname_first}
              date_of_birth: {from: DOB, type: date, format: "%d.%m.%Y"}
              pnc_id: {from: PNC, type: pnc_id}
              postcode: {from: POSTCODE, type: postcode}
            extra:
              court: {from: COURT, type: text}
              hearing_date: {from: HEARING, type: date, format: "%d.%m.%Y"}
            """
        )
    )
    courts = tmp_path / "landing" / "courts_20261123.tsv"
    courts.write_text(
        "CASE_NO\tDEFENDANT\tDOB\tPNC\tPOSTCODE\tCOURT\tHEARING\n"
        "T20260001\tFOSTER, Neil Gary\t12.09.1996\t14/386693F\tls63tj\tLeeds Crown Court\t01.12.2026\n"
        "T20260002\tKENNEDY, Gary\t31.02.1970\t\tHD1 8GQ\tBradford Crown Court\t02.12.2026\n",
        encoding="utf-8",
    )
    courts_feed = (
        '  - {name: courts, connector: file, mapping: courts.yaml, options: {path: "courts_{date:%Y%m%d}.tsv"}}\n'
    )
    config = config_file(tmp_path, courts_feed)
    result = ingest(tmp_path, f"sqlite:///{tmp_path / 's.db'}", "--config", config, "--landing", str(landing))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(tmp_path / "out" / "courts.parquet")
    assert frame["source_key"].tolist() == ["T20260001", "T20260002"]
    assert frame.loc[0, ["surname", "forenames", "pnc_id", "postcode", "court"]].tolist() == [
        "FOSTER",
        "NEIL GARY",
        "2014/0386693F",
        "LS6 3TJ",
        "Leeds Crown Court",
    ]
    issues = pd.read_parquet(tmp_path / "out" / "issues.parquet")
    row = issues[issues["feed"] == "courts"].iloc[0]
    assert (row["row"], row["field"], row["source_key"]) == (2, "date_of_birth", "T20260002")


def test_usage_errors_exit_2(tmp_path):
    assert runner.invoke(app, ["ingest", "--as-of", "23/11/2026", "--out", str(tmp_path)]).exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds: []\n")
    result = runner.invoke(app, ["ingest", "--as-of", NIGHT, "--out", str(tmp_path), "--config", str(bad)])
    assert result.exit_code == 2 and "at least one feed" in result.output


def test_no_personal_data_in_output_or_log(tmp_path, landing):
    db = f"sqlite:///{tmp_path / 's.db'}"
    (landing / "police" / NIGHT / "manifest.json").unlink()
    result = ingest(tmp_path, db, "--config", config_file(tmp_path), "--landing", str(landing))
    for personal in ("FOSTER", "KENNEDY", "2014/0386693F", "1996"):
        assert personal not in result.output


def test_generate_command_writes_deliveries_and_truth(tmp_path):
    result = runner.invoke(
        app,
        [
            "generate",
            "--people",
            "150",
            "--seed",
            "3",
            "--out",
            str(tmp_path),
            "--nights",
            "2",
            "--start-date",
            "2026-11-23",
        ],
    )
    assert result.exit_code == 0, result.output
    for night in ("2026-11-23", "2026-11-24"):
        assert (tmp_path / "landing" / "police" / night / "manifest.json").is_file()
        assert (tmp_path / "truth" / night / "records.csv").is_file()
