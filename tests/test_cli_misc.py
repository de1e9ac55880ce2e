"""Smaller commands and cross-cutting behaviour: db upgrade, config show, log masking."""

from __future__ import annotations

import logging

from sqlalchemy import inspect
from typer.testing import CliRunner

from nominal.cli import app
from nominal.logs import MaskingFilter
from nominal.store.db import engine_for

runner = CliRunner()


def test_db_upgrade_creates_every_table(store_url):
    result = runner.invoke(app, ["db", "upgrade", "--db", store_url])
    assert result.exit_code == 0, result.output
    tables = set(inspect(engine_for(store_url)).get_table_names())
    assert {
        "runs",
        "deliveries",
        "persons",
        "person_links",
        "person_events",
        "exceptions",
        "decisions",
        "quality_metrics",
        "audit_log",
    } <= tables


def test_db_upgrade_on_an_unreachable_store_is_a_clear_error():
    result = runner.invoke(app, ["db", "upgrade", "--db", "postgresql+psycopg://nominal:s3cret-pass@127.0.0.1:1/x"])
    assert result.exit_code == 1
    assert "is unavailable" in result.output and "s3cret-pass" not in result.output


def test_config_show_prints_the_shipped_config_and_check_validates_it():
    shown = runner.invoke(app, ["config", "show"])
    assert shown.exit_code == 0 and "feeds:" in shown.output
    assert runner.invoke(app, ["config", "check"]).exit_code == 0


def test_schema_lists_the_canonical_record():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0 and "| `date_of_birth` |" in result.output


def test_log_filter_masks_identifiers_that_slip_into_a_message():
    record = logging.LogRecord(
        "nominal",
        logging.INFO,
        __file__,
        1,
        "linked %s and %s, NI %s on %s",
        ("2001/0171310W", "265416/21G", "HB 10 88 40 B", "2026-11-23"),
        None,
    )
    MaskingFilter().filter(record)
    message = record.getMessage()
    assert "2001/0171310W" not in message and "265416/21G" not in message and "HB 10 88 40 B" not in message
    assert "20**/*****10W" in message and "2026-11-23" in message
