"""Nights: ``sync`` one, ``backfill`` several, ``schedule`` them, ``status`` of the last runs,
``unlock`` a lock left behind, ``demo`` three synthetic nights."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine

from nominal.config import SHIPPED_CONFIG, Config
from nominal.errors import NominalError
from nominal.logs import console, setup_logging
from nominal.store import queries, writes
from nominal.store.db import mask_url
from nominal.store.models import Run
from nominal.triage import users
from nominal.triage.actors import Actor
from nominal.vocab import Role

from .common import (
    EXIT_USAGE,
    AsOfOpt,
    ConfigOpt,
    DbOpt,
    LandingOpt,
    VerboseOpt,
    as_of,
    db_url,
    fail,
    load,
    open_store,
)

app = typer.Typer()

RunnerOpt = Annotated[str, typer.Option("--runner", help="task runner: threads, or dask (prefect-dask)")]
DaskOpt = Annotated[
    str | None, typer.Option("--dask-address", help="a Dask scheduler address (default: a LocalCluster)")
]


def run_nights(
    cfg: Config,
    config_path: Path | None,
    nights: list[dt.date],
    *,
    landing: Path | None,
    db: str | None,
    full: bool,
    runner: str,
    address: str | None,
) -> None:
    """Run nights in order through the Prefect flow; stop at the first that fails."""
    if runner not in ("threads", "dask"):
        fail(NominalError(f"--runner must be threads or dask, not {runner!r}"), EXIT_USAGE)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    from nominal.flows.nightly import sync_flow

    nightly = sync_flow(runner, address)
    for night in nights:
        console.print(f"[bold]night {night}[/bold] …", highlight=False)
        try:
            summary = nightly(
                as_of=night.isoformat(),
                config_path=str(config_path or cfg.source),
                landing=str(landing) if landing else None,
                db_url=db_url(cfg, db),
                full=full,
            )
        except NominalError as exc:  # a gate failed, the run lock is held, the store is down …
            fail(exc)
        publish = summary.publish
        exceptions = publish.get("exceptions", {})
        console.print(
            f"  run {summary.run_id} {summary.status}: {publish.get('records', 0):,} records → "
            f"{publish.get('persons', 0):,} persons ({publish.get('persons_written', 0):,} written, "
            f"{publish.get('persons_retired', 0):,} retired); exceptions {exceptions.get('new', 0):,} new, "
            f"{exceptions.get('open', 0):,} open, {exceptions.get('closed', 0):,} closed",
            highlight=False,
        )
        console.print(f"  reports: {summary.reports}/summary.html", highlight=False)


@app.command()
def sync(
    as_of_: AsOfOpt,
    config: ConfigOpt = None,
    landing: LandingOpt = None,
    db: DbOpt = None,
    full: Annotated[bool, typer.Option("--full", help="re-match every record, not only new and changed ones")] = False,
    runner: RunnerOpt = "threads",
    dask_address: DaskOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run one night end to end (ingest, validate, match, publish) as the Prefect flow nightly_sync."""
    setup_logging(verbose)
    night = as_of(as_of_)
    cfg = load(config)
    run_nights(cfg, config, [night], landing=landing, db=db, full=full, runner=runner, address=dask_address)


@app.command()
def backfill(
    from_: Annotated[str, typer.Option("--from", help="first night, YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="last night, YYYY-MM-DD")],
    config: ConfigOpt = None,
    landing: LandingOpt = None,
    db: DbOpt = None,
    runner: RunnerOpt = "threads",
    dask_address: DaskOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the nights from --from to --to in order; stops at the first night that fails."""
    setup_logging(verbose)
    first, last = as_of(from_), as_of(to)
    if last < first:
        fail(NominalError("--to is before --from"), EXIT_USAGE)
    cfg = load(config)
    nights = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    run_nights(cfg, config, nights, landing=landing, db=db, full=False, runner=runner, address=dask_address)


@app.command()
def schedule(
    cron: Annotated[
        str | None, typer.Option("--cron", help="cron expression (default: schedule.cron in the config)")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="deployment name")] = "nightly",
    config: ConfigOpt = None,
    landing: LandingOpt = None,
    db: DbOpt = None,
) -> None:
    """Create the Prefect deployment that runs the sync on a cron schedule, and serve it.

    Needs a Prefect server (PREFECT_API_URL; `prefect server start`). Runs until stopped: this
    process runs each scheduled night (run it under systemd or similar)."""
    from nominal.flows.nightly import nightly_sync

    cfg = load(config)
    schedule_cron = cron or cfg.schedule.cron
    config_path = str(Path(config or cfg.source or SHIPPED_CONFIG).resolve())
    console.print(
        f"serving deployment nightly_sync/{name}: cron {schedule_cron!r} ({cfg.schedule.timezone}), "
        f"config {config_path}",
        highlight=False,
    )
    nightly_sync.serve(
        name=name,
        cron=schedule_cron,
        parameters={"config_path": config_path, "landing": str(landing.resolve()) if landing else None, "db_url": db},
        tags=["nominal"],
        description="nominal nightly sync: ingest, validate, match, publish",
    )


def _run_row(r: Run) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "as_of": r.as_of.isoformat(),
        "status": r.status,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "counts": r.counts,
        "message": r.message,
    }


@app.command()
def status(
    config: ConfigOpt = None,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the runs as JSON")] = False,
) -> None:
    """The last runs: kind, night, status, gates and counts."""
    cfg = load(config)
    runs = queries.last_runs(open_store(cfg, db), limit)
    if as_json:
        print(json.dumps([_run_row(r) for r in runs], indent=2, default=str))
        return
    table = Table(title=f"last runs ({mask_url(db_url(cfg, db))})")
    for column in ("run", "kind", "night", "status", "took", "gates", "persons", "exceptions", "message"):
        table.add_column(column)
    for r in runs:
        counts = r.counts or {}
        took = f"{(r.finished_at - r.started_at).total_seconds():.0f} s" if r.finished_at else "…"
        gate_results = counts.get("gates", {})
        failed_gates = [f for f, ok in gate_results.items() if not ok]
        gates = f"{len(gate_results)} passed" if gate_results else ""
        if failed_gates:
            gates = "failed: " + ", ".join(failed_gates)
        publish = counts.get("publish", {})
        exceptions = publish.get("exceptions", {})
        persons = (
            f"{publish['persons']:,} ({publish.get('persons_written', 0):,} written)" if "persons" in publish else ""
        )
        opened = f"{exceptions.get('new', 0):,} new, {exceptions.get('open', 0):,} open" if exceptions else ""
        style = {"failed": "red", "gate_failed": "yellow", "running": "cyan"}.get(r.status)
        table.add_row(
            str(r.id), r.kind, r.as_of.isoformat(), r.status, took, gates, persons, opened, r.message or "", style=style
        )
    console.print(table)


@app.command()
def unlock(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Clear the run lock left by a run on another machine that can no longer finish."""
    cfg = load(config)
    cleared = writes.clear_lock(open_store(cfg, db))
    console.print("lock cleared" if cleared else "no lock was held", highlight=False)


# The demo's own store is made afresh each time, with these users and a password printed on the screen:
# demo only. Its web app runs on local http, so its cookies cannot be Secure.
DEMO_PASSWORD = "demo-only-password"
DEMO_USERS = (
    ("officer", "Olu Officer", Role.OFFICER),
    ("supervisor", "Sam Supervisor", Role.SUPERVISOR),
    ("viewer", "Vic Viewer", Role.VIEWER),
)
DEMO_TRIAGE = "\ntriage:\n  secure_cookies: false    # the demo serves local http; keep true behind HTTPS\n"


def demo_users(engine: Engine) -> None:
    """An admin (the store's first user), then an officer, a supervisor and a viewer."""
    first = users.add_user(engine, None, "admin", "Ada Admin", Role.ADMIN, DEMO_PASSWORD)
    admin = Actor(first.id, first.name, first.display_name, Role.ADMIN, None, "nominal demo")
    for name, display, role in DEMO_USERS:
        users.add_user(engine, admin, name, display, role, DEMO_PASSWORD)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo's files go")] = Path("nominal-demo"),
    people: Annotated[int, typer.Option("--people", min=10)] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    start_date: Annotated[str, typer.Option("--start-date")] = "2026-11-23",
    serve: Annotated[bool, typer.Option("--serve", help="then serve the web app on the demo's data")] = False,
    port: Annotated[int, typer.Option("--port", help="the web app's port (with --serve)")] = 8000,
    verbose: VerboseOpt = False,
) -> None:
    """Generate three nights of synthetic feeds, run them through the nightly flow, and add demo users
    (officer, supervisor, viewer, admin) to open the web app with."""
    from nominal.synthetic import generate as run_generator

    setup_logging(verbose)
    start = as_of(start_date)
    if directory.exists():
        shutil.rmtree(directory)  # the demo starts from nothing each time
    directory.mkdir(parents=True)
    console.print(f"[bold]1.[/bold] generating {people} synthetic people, three nights from {start} …")
    report = run_generator(people=people, seed=seed, out=directory, nights=3, start_date=start)
    for night, feeds in report.as_dict()["nights"].items():
        console.print(f"   {night}: " + ", ".join(f"{feed} {info['rows']} rows" for feed, info in feeds.items()))
    config_path = directory / "nominal.yaml"  # the shipped config: its relative paths now mean the demo folder
    config_path.write_text(SHIPPED_CONFIG.read_text(encoding="utf-8") + DEMO_TRIAGE, encoding="utf-8")
    cfg = load(config_path)
    console.print(
        f"[bold]2.[/bold] three nights through the nightly flow (config {config_path}, store {cfg.db_url}) …",
        highlight=False,
    )
    nights = [start + dt.timedelta(days=i) for i in range(3)]
    run_nights(cfg, config_path, nights, landing=None, db=None, full=False, runner="threads", address=None)
    console.print(
        f"landing: {cfg.landing_dir}\narchive: {cfg.archive_dir}\nreports: {cfg.reports_dir}\n"
        f"truth:   {directory / 'truth'}\nstatus:  nominal status --config {config_path}",
        highlight=False,
    )
    engine = open_store(cfg, None)
    demo_users(engine)
    console.print(
        f"[bold]3.[/bold] the web app: nominal serve --config {config_path} (or nominal demo --serve), then open "
        f"http://127.0.0.1:{port}/ and sign in as [bold]officer[/bold] with the password "
        f"[bold]{DEMO_PASSWORD}[/bold]\n   (also supervisor, viewer and admin, same password: demo only, never "
        "in a real store)",
        highlight=False,
    )
    if serve:
        from .casework import serve_app

        serve_app(cfg, engine, "127.0.0.1", port)
