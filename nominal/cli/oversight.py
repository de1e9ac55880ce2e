"""For managers and ops: ``report --week`` (the weekly report, HTML and PDF) and ``alerts`` (check
that the night published in time; send a test alert)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from nominal.errors import NominalError
from nominal.flows import alerts as alerting
from nominal.logs import console
from nominal.reporting import weekly

from .common import EXIT_DATA, EXIT_USAGE, ConfigOpt, DbOpt, fail, load, open_store

alerts_app = typer.Typer(help="Telling people when a night goes wrong.", no_args_is_help=True)


def report(
    week: Annotated[str, typer.Option("--week", help="the ISO week, YYYY-Www (e.g. 2026-W48)")],
    out: Annotated[Path, typer.Option("--out", help="where weekly-<week>.html and .pdf go")] = Path("."),
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """The weekly report for managers: completeness by feed, backlog, discrepancies, nights (HTML and PDF)."""
    cfg = load(config)
    try:
        chosen = weekly.Week.parse(week)
    except NominalError as exc:
        fail(exc, EXIT_USAGE)
    html, pdf = weekly.write(open_store(cfg, db), chosen, out)
    console.print(f"weekly report {chosen.label}: {html} and {pdf}", highlight=False)


@alerts_app.command("check-late")
def check_late(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """If no night has published by alerts.publish_by, tell people (exit 1); run it from a scheduler."""
    cfg = load(config)
    if not cfg.alerts.publish_by:
        fail(NominalError("alerts.publish_by is not set in the configuration"), EXIT_USAGE)
    late = alerting.check_late(cfg, open_store(cfg, db))
    if late is None:
        console.print("the night published in time", highlight=False)
        return
    console.print(f"[yellow]late[/yellow]: {late.text}", highlight=False)
    raise typer.Exit(EXIT_DATA)


@alerts_app.command("test")
def test_alert(config: ConfigOpt = None) -> None:
    """Send a test alert to every configured channel, to check the configuration."""
    cfg = load(config)
    if not (cfg.alerts.webhook or cfg.alerts.email):
        fail(NominalError("no alert channel is configured (alerts.webhook, alerts.email)"), EXIT_USAGE)
    alert = alerting.Alert(
        "test", dt.date.today(), "a test alert", "This is a test of nominal's alerts: no action needed."
    )
    sent = alerting.notify(cfg.alerts, alert)
    console.print(f"sent by: {', '.join(sent) or 'nothing (see the log)'}", highlight=False)
    if not sent:
        raise typer.Exit(EXIT_DATA)
