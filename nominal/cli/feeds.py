"""Feeds in: ``generate`` synthetic deliveries, ``ingest`` and ``validate`` a night, ``schema``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nominal.canonical import schema_markdown
from nominal.errors import ConfigError
from nominal.logs import console, setup_logging

from .common import (
    EXIT_DATA,
    EXIT_USAGE,
    AsOfOpt,
    ConfigOpt,
    DbOpt,
    LandingOpt,
    VerboseOpt,
    as_of,
    fail,
    load,
    open_store,
    progress,
)

app = typer.Typer()


@app.command()
def generate(
    people: Annotated[int, typer.Option("--people", min=1, help="number of synthetic people")],
    out: Annotated[Path, typer.Option("--out", help="output folder: landing/ and truth/ are written here")],
    seed: Annotated[int, typer.Option("--seed", help="random seed: the same seed gives the same bytes")] = 1,
    nights: Annotated[int, typer.Option("--nights", min=1, help="consecutive nightly deliveries")] = 1,
    start_date: Annotated[str | None, typer.Option("--start-date", help="first night, YYYY-MM-DD")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Write synthetic police, probation and prison deliveries (and their truth) for N people."""
    setup_logging(verbose)
    from nominal.synthetic import generate as run_generator

    start = as_of(start_date) if start_date else dt.date.today()
    with progress() as bar:
        task = bar.add_task("generating", total=1.0)
        report = run_generator(
            people=people,
            seed=seed,
            out=out,
            nights=nights,
            start_date=start,
            progress=lambda message, done: bar.update(task, description=message, completed=done),
        )
    console.print(json.dumps(report.as_dict(), indent=2, default=str), highlight=False)


@app.command()
def ingest(
    as_of_: AsOfOpt,
    out: Annotated[Path, typer.Option("--out", help="output folder for <feed>.parquet, issues.parquet, summary.json")],
    landing: LandingOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Pull, verify, archive and map every configured feed for one night."""
    from nominal.flows.ingest import run_ingest

    setup_logging(verbose)
    night = as_of(as_of_)
    cfg = load(config)
    engine = open_store(cfg, db)
    with progress() as bar:
        task = bar.add_task("ingesting", total=len(cfg.enabled_feeds()))
        summary = run_ingest(
            cfg,
            night,
            out,
            engine,
            landing=landing,
            on_feed_done=lambda r: bar.update(task, advance=1, description=f"{r.feed}: {r.status}"),
        )
    table = Table(title=f"ingest {summary.as_of} (run {summary.run_id})")
    for column in ("feed", "status", "rows read", "rows mapped", "issues", "detail"):
        table.add_column(column)
    for r in summary.feeds:
        issues = ", ".join(f"{k} {v}" for k, v in r.issue_counts().items()) or "0"
        detail = (r.error or {}).get("text") or ("archived" if r.archive_path else "")
        style = None if r.ok else "red"
        table.add_row(r.feed, r.status, str(r.rows_read), str(r.rows_mapped), issues, detail, style=style)
    console.print(table)
    console.print(f"outputs in {out}", highlight=False)
    if summary.status != "succeeded":
        raise typer.Exit(EXIT_DATA)


@app.command()
def validate(
    as_of_: AsOfOpt,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="output folder: exceptions.parquet, quality_metrics.parquet, gates.json, data_docs/"
        ),
    ],
    landing: LandingOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Ingest a night and run every feed's validation suite; exit 1 when a feed's gate fails."""
    from nominal.flows.validate import run_validate

    setup_logging(verbose)
    night = as_of(as_of_)
    cfg = load(config)
    engine = open_store(cfg, db)
    with progress() as bar:
        task = bar.add_task("ingesting", total=len(cfg.enabled_feeds()))
        try:
            checked = run_validate(
                cfg,
                night,
                out,
                engine,
                landing=landing,
                on_feed_done=lambda r: bar.update(task, advance=1, description=f"{r.feed}: {r.status}"),
                on_validating=lambda: bar.update(task, description="validating …"),
            )
        except ConfigError as exc:
            fail(exc, EXIT_USAGE)
    table = Table(title=f"validation {checked.as_of} (run {checked.run_id})")
    for column in ("feed", "gate", "rows", "error rate", "exceptions", "reasons"):
        table.add_column(column)
    for v in checked.feeds:
        gate = v.gate
        counts = ", ".join(f"{k} {n}" for k, n in sorted(gate.exceptions.items())) or "0"
        style = None if gate.passed else "red"
        passed = "passed" if gate.passed else "FAILED"
        table.add_row(
            v.feed, passed, f"{gate.rows:,}", f"{gate.error_rate:.1%}", counts, "; ".join(gate.reasons), style=style
        )
    console.print(table)
    if checked.data_docs:
        console.print(f"Data Docs: {checked.data_docs}", highlight=False)
    console.print(f"outputs in {out}", highlight=False)
    if not checked.passed:
        raise typer.Exit(EXIT_DATA)


@app.command()
def schema() -> None:
    """Print the canonical person record that passes between the stages."""
    typer.echo(schema_markdown())
