"""The ``nominal`` command line. Verbs, flags and output files are a contract users script against.

Exit codes: 0 success, 1 the data failed (a feed refused, a gate failed), 2 a usage or
configuration error.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from nominal.errors import ConfigError, NominalError
from nominal.logs import console, setup_logging

app = typer.Typer(
    name="nominal",
    help="Records integration and data quality for police, probation and prison nominals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The published store.", no_args_is_help=True)
config_app = typer.Typer(help="The configuration.", no_args_is_help=True)
decide_app = typer.Typer(
    help="Record an officer's decision; matching and publish honour it on every later night.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(decide_app, name="decide")

EXIT_DATA, EXIT_USAGE = 1, 2

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="config file (default ./nominal.yaml, else the shipped one)")
]
LandingOpt = Annotated[Path | None, typer.Option("--landing", help="landing folder (overrides the config)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="store URL (overrides config and NOMINAL_DB_URL)")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="more detail in the log")]


def _as_of(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


AsOfOpt = Annotated[str, typer.Option("--as-of", help="the night to load, YYYY-MM-DD")]


def _load(config_path: Path | None):
    from nominal.config import load_config

    try:
        return load_config(config_path)
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red]: {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


def _db_url(config, db: str | None) -> str:
    return db or config.db_url


def _fail(exc: Exception, code: int = EXIT_DATA) -> typer.Exit:
    console.print(f"[red]error[/red]: {exc}", highlight=False)
    return typer.Exit(code)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


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

    start = _as_of(start_date) if start_date else dt.date.today()
    with _progress() as progress:
        task = progress.add_task("generating", total=1.0)
        report = run_generator(
            people=people,
            seed=seed,
            out=out,
            nights=nights,
            start_date=start,
            progress=lambda message, done: progress.update(task, description=message, completed=done),
        )
    console.print(json.dumps(report.as_dict(), indent=2, default=str), highlight=False)


@app.command()
def ingest(
    as_of: AsOfOpt,
    out: Annotated[Path, typer.Option("--out", help="output folder for <feed>.parquet, issues.parquet, summary.json")],
    landing: LandingOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Pull, verify, archive and map every configured feed for one night."""
    setup_logging(verbose)
    night = _as_of(as_of)
    cfg = _load(config)
    summary = run_ingest(cfg, night, out, landing=landing, db=db)
    _print_ingest_summary(summary)
    if summary["status"] != "succeeded":
        raise typer.Exit(EXIT_DATA)


def _open_store(cfg, db: str | None):
    from nominal.store import db as store_db

    try:
        return store_db.ensure_schema(_db_url(cfg, db))
    except NominalError as exc:
        raise _fail(exc) from None


def _ingest_with_progress(cfg, night: dt.date, landing: Path | None):
    from nominal.flows.ingest import ingest_night

    with _progress() as progress:
        task = progress.add_task("ingesting", total=len(cfg.enabled_feeds()))

        def done(result):
            progress.update(task, advance=1, description=f"{result.feed}: {result.status}")

        return ingest_night(cfg, night, landing, on_feed_done=done)


def run_ingest(cfg, night: dt.date, out: Path, *, landing: Path | None, db: str | None) -> dict:
    from nominal.flows.ingest import ingest_counts, record_deliveries, run_status, write_outputs
    from nominal.store import writes

    engine = _open_store(cfg, db)
    run_id = writes.start_run(engine, "ingest", night, [f.name for f in cfg.enabled_feeds()])
    try:
        results = _ingest_with_progress(cfg, night, landing)
        record_deliveries(engine, run_id, night, results)
        summary = write_outputs(results, out, night, run_id)
    except BaseException as exc:
        writes.finish_run(engine, run_id, "failed", {}, f"ingest stopped: {exc.__class__.__name__}")
        raise
    failed = [f"{r.feed}: {r.error['text']}" for r in results if not r.ok]
    status = "succeeded" if run_status(results) == "succeeded" else "failed"
    writes.finish_run(engine, run_id, status, ingest_counts(results), "; ".join(failed) or None)
    summary["out"] = str(out)
    return summary


def _print_ingest_summary(summary: dict) -> None:
    from rich.table import Table

    table = Table(title=f"ingest {summary['as_of']} (run {summary['run_id']})")
    for column in ("feed", "status", "rows read", "rows mapped", "issues", "detail"):
        table.add_column(column)
    for feed, entry in summary["feeds"].items():
        issues = ", ".join(f"{k} {v}" for k, v in entry["issues"].items()) or "0"
        detail = (entry["error"] or {}).get("text") or ("archived" if entry.get("archive") else "")
        style = "red" if entry["status"] == "failed" else None
        table.add_row(
            feed, entry["status"], str(entry["rows_read"]), str(entry["rows_mapped"]), issues, detail, style=style
        )
    console.print(table)
    console.print(f"outputs in {summary.get('out')}", highlight=False)


@app.command()
def validate(
    as_of: AsOfOpt,
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
    setup_logging(verbose)
    night = _as_of(as_of)
    cfg = _load(config)
    try:
        gates = run_validate(cfg, night, out, landing=landing, db=db)
    except ConfigError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    _print_gates(gates)
    if not gates["passed"]:
        raise typer.Exit(EXIT_DATA)


def run_validate(cfg, night: dt.date, out: Path, *, landing: Path | None, db: str | None) -> dict:
    from nominal.flows import ingest as ingest_step
    from nominal.flows.validate import validate_feeds, write_outputs
    from nominal.store import writes

    engine = _open_store(cfg, db)
    run_id = writes.start_run(engine, "validate", night, [f.name for f in cfg.enabled_feeds()])
    try:
        ingests = _ingest_with_progress(cfg, night, landing)
        with console.status("validating …"):
            checked = validate_feeds(cfg, night, ingests, engine=engine, docs_dir=out / "data_docs")
        ingest_step.write_outputs(ingests, out, night, run_id)
        gates = write_outputs(checked, out, run_id)
        ingest_step.record_deliveries(engine, run_id, night, ingests)
        writes.record_quality_metrics(engine, run_id, checked.metrics().to_dict("records"))
    except BaseException as exc:
        message = str(exc) if isinstance(exc, NominalError) else exc.__class__.__name__
        writes.finish_run(engine, run_id, "failed", {}, f"validation stopped: {message}")
        raise
    reasons = [f"{feed}: {'; '.join(g['reasons'])}" for feed, g in gates["feeds"].items() if not g["passed"]]
    counts = {
        "ingest": ingest_step.ingest_counts(ingests),
        "gates": {f: g["passed"] for f, g in gates["feeds"].items()},
    }
    writes.finish_run(
        engine, run_id, "succeeded" if checked.passed else "gate_failed", counts, " | ".join(reasons) or None
    )
    gates["out"] = str(out)
    return gates


def _print_gates(gates: dict) -> None:
    from rich.table import Table

    table = Table(title=f"validation {gates['as_of']} (run {gates['run_id']})")
    for column in ("feed", "gate", "rows", "error rate", "exceptions", "reasons"):
        table.add_column(column)
    for feed, gate in gates["feeds"].items():
        counts = ", ".join(f"{k} {v}" for k, v in sorted(gate["exceptions"].items())) or "0"
        table.add_row(
            feed,
            "passed" if gate["passed"] else "FAILED",
            f"{gate['rows']:,}",
            f"{gate['error_rate']:.1%}",
            counts,
            "; ".join(gate["reasons"]),
            style=None if gate["passed"] else "red",
        )
    console.print(table)
    if gates.get("data_docs"):
        console.print(f"Data Docs: {Path(gates['out']) / gates['data_docs']}", highlight=False)
    console.print(f"outputs in {gates['out']}", highlight=False)


@app.command()
def match(
    out: Annotated[
        Path, typer.Option("--out", help="output folder: clusters.csv, pairs.parquet, model.json, review.parquet")
    ],
    as_of: Annotated[str | None, typer.Option("--as-of", help="the night to match, YYYY-MM-DD (default today)")] = None,
    landing: LandingOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", min=0.0, max=1.0, help="link threshold (overrides the settings)")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="compare every record, not only new and changed ones")] = False,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="estimate a new model instead of reusing the last one")
    ] = False,
    state: Annotated[Path | None, typer.Option("--state", help="folder of the previous night's matching state")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Read, validate and match the configured feeds into persons with stable ids."""
    setup_logging(verbose)
    night = _as_of(as_of) if as_of else dt.date.today()
    cfg = _load(config)
    from nominal.flows.match import match_records, save_state, write_outputs
    from nominal.flows.validate import validate_feeds

    engine = _open_store(cfg, db) if db else None  # previous ids and officers' decisions come from a store
    ingests = _ingest_with_progress(cfg, night, landing)
    loaded = [r for r in ingests if r.ok]
    for failed in (r for r in ingests if not r.ok):
        console.print(f"[yellow]not matched[/yellow] {failed.error['text']}", highlight=False)
    if not loaded:
        raise _fail(NominalError("no feed could be read: nothing to match"))
    try:
        with console.status("validating …"):
            checked = validate_feeds(cfg, night, loaded, engine=engine, docs_dir=None)
        for feed in checked.feeds:
            if not feed.gate.passed:
                console.print(
                    f"[yellow]{feed.feed}: gate failed[/yellow] ({'; '.join(feed.gate.reasons)}); matched regardless",
                    highlight=False,
                )
        with console.status("matching …"):
            result = match_records(
                cfg,
                [r.canonical for r in loaded],
                engine=engine,
                full=full,
                retrain=retrain,
                threshold=threshold,
                state_dir=state,
            )
    except ConfigError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    summary = write_outputs(result, out)
    save_state(result, state or cfg.match_state_dir)
    seconds = sum(summary["seconds"].values())
    console.print(
        f"{summary['records']:,} records → {summary['persons']:,} persons: {summary['links']:,} links, "
        f"{summary['reviews']:,} pairs for review, {summary['links_cut']:,} links cut by constraints "
        f"({'incremental, ' + format(summary['changed_records'], ',') + ' new or changed' if summary['incremental'] else 'full'}; {seconds:.1f} s)",
        highlight=False,
    )
    console.print(f"outputs in {out}", highlight=False)


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="CSV: feed, source_key and the true id of every record")],
    out: Annotated[
        Path, typer.Option("--out", help="the match output folder (clusters.csv; evaluation.json is written here)")
    ],
    thresholds: Annotated[
        str | None, typer.Option("--thresholds", help="also score these link thresholds, e.g. 0.5,0.9,0.99")
    ] = None,
) -> None:
    """Pairwise precision, recall and F1 and cluster metrics of a match against a truth file."""
    import pandas as pd

    from nominal.matching.evaluate import evaluate as score
    from nominal.matching.evaluate import threshold_sweep

    clusters_path = out / "clusters.csv"
    for path in (truth, clusters_path):
        if not path.is_file():
            raise _fail(NominalError(f"{path} not found"), EXIT_USAGE)
    clusters = pd.read_csv(clusters_path, dtype=str)
    truth_frame = pd.read_csv(truth, dtype=str)
    missing = {"feed", "source_key"} - set(truth_frame.columns)
    if missing or len(truth_frame.columns) < 3:
        raise _fail(NominalError(f"{truth}: needs columns feed, source_key and a true id"), EXIT_USAGE)
    result = score(clusters, truth_frame)
    if thresholds:
        pairs = pd.read_parquet(out / "pairs.parquet")
        result["thresholds"] = threshold_sweep(clusters, pairs, truth_frame, [float(t) for t in thresholds.split(",")])
    (out / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    p = result["pairwise"]
    c = result["clusters"]
    console.print(
        f"pairwise  precision {p['precision']:.4f}  recall {p['recall']:.4f}  F1 {p['f1']:.4f}", highlight=False
    )
    console.print(
        f"clusters  {c['persons']:,} persons for {c['true_people']:,} true people; exactly right {c['exactly_right_share']:.2%}; "
        f"{c['true_people_split']:,} people split, {c['persons_merging_people']:,} persons merging people; "
        f"B-cubed F1 {c['b_cubed']['f1']:.4f}",
        highlight=False,
    )
    for row in result.get("thresholds", []):
        console.print(
            f"  threshold {row['threshold']:.3f}: precision {row['precision']:.4f} recall {row['recall']:.4f} F1 {row['f1']:.4f}",
            highlight=False,
        )


RunnerOpt = Annotated[str, typer.Option("--runner", help="task runner: threads, or dask (prefect-dask)")]
DaskOpt = Annotated[
    str | None, typer.Option("--dask-address", help="a Dask scheduler address (default: a LocalCluster)")
]


def _run_nights(
    cfg,
    config_path: Path | None,
    nights: list[dt.date],
    *,
    landing: Path | None,
    db: str | None,
    full: bool,
    runner: str,
    address: str | None,
) -> list[dict]:
    """Run nights in order through the Prefect flow; stop at the first that fails."""
    import os

    from nominal.flows.nightly import GateFailed, sync_flow
    from nominal.store.writes import RunLocked

    if runner not in ("threads", "dask"):
        raise _fail(NominalError(f"--runner must be threads or dask, not {runner!r}"), EXIT_USAGE)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    nightly = sync_flow(runner, address)
    summaries = []
    for night in nights:
        console.print(f"[bold]night {night}[/bold] …", highlight=False)
        try:
            summary = nightly(
                as_of=night.isoformat(),
                config_path=str(config_path or cfg.source),
                landing=str(landing) if landing else None,
                db_url=_db_url(cfg, db),
                full=full,
            )
        except (GateFailed, RunLocked) as exc:
            raise _fail(exc) from None
        except NominalError as exc:
            raise _fail(exc) from None
        _print_night(summary)
        summaries.append(summary)
    return summaries


def _print_night(summary: dict) -> None:
    publish = summary["counts"].get("publish", {})
    exceptions = publish.get("exceptions", {})
    console.print(
        f"  run {summary['run_id']} {summary['status']}: {publish.get('records', 0):,} records → {publish.get('persons', 0):,} persons "
        f"({publish.get('persons_written', 0):,} written, {publish.get('persons_retired', 0):,} retired); exceptions "
        f"{exceptions.get('new', 0):,} new, {exceptions.get('open', 0):,} open, {exceptions.get('closed', 0):,} closed",
        highlight=False,
    )
    console.print(f"  reports: {summary['reports']}/summary.html", highlight=False)


@app.command()
def sync(
    as_of: AsOfOpt,
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
    night = _as_of(as_of)
    cfg = _load(config)
    _run_nights(cfg, config, [night], landing=landing, db=db, full=full, runner=runner, address=dask_address)


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
    first, last = _as_of(from_), _as_of(to)
    if last < first:
        raise _fail(NominalError("--to is before --from"), EXIT_USAGE)
    cfg = _load(config)
    nights = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    _run_nights(cfg, config, nights, landing=landing, db=db, full=False, runner=runner, address=dask_address)


@app.command()
def status(
    config: ConfigOpt = None,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the runs as JSON")] = False,
) -> None:
    """The last runs: kind, night, status, gates and counts."""
    from rich.table import Table

    from nominal.store import queries

    cfg = _load(config)
    engine = _open_store(cfg, db)
    runs = queries.last_runs(engine, limit)
    if as_json:
        rows = [
            {
                "id": r.id,
                "kind": r.kind,
                "as_of": r.as_of.isoformat(),
                "status": r.status,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "counts": r.counts,
                "message": r.message,
            }
            for r in runs
        ]
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"last runs ({mask_url_for(cfg, db)})")
    for column in ("run", "kind", "night", "status", "took", "gates", "persons", "exceptions", "message"):
        table.add_column(column)
    for r in runs:
        took = f"{(r.finished_at - r.started_at).total_seconds():.0f} s" if r.finished_at else "…"
        gate_results = (r.counts or {}).get("gates", {})
        failed_gates = [f for f, ok in gate_results.items() if not ok]
        gates = (
            ("failed: " + ", ".join(failed_gates))
            if failed_gates
            else (f"{len(gate_results)} passed" if gate_results else "")
        )
        publish = (r.counts or {}).get("publish", {})
        exceptions = publish.get("exceptions", {})
        style = {"failed": "red", "gate_failed": "yellow", "running": "cyan"}.get(r.status)
        table.add_row(
            str(r.id),
            r.kind,
            r.as_of.isoformat(),
            r.status,
            took,
            gates,
            f"{publish['persons']:,} ({publish.get('persons_written', 0):,} written)" if "persons" in publish else "",
            f"{exceptions.get('new', 0):,} new, {exceptions.get('open', 0):,} open" if exceptions else "",
            r.message or "",
            style=style,
        )
    console.print(table)


def mask_url_for(cfg, db: str | None) -> str:
    from nominal.store.db import mask_url

    return mask_url(_db_url(cfg, db))


@app.command()
def unlock(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Clear the run lock left by a run on another machine that can no longer finish."""
    from nominal.store import writes

    cfg = _load(config)
    cleared = writes.clear_lock(_open_store(cfg, db))
    console.print("lock cleared" if cleared else "no lock was held", highlight=False)


RecordOpt = Annotated[str, typer.Option("--record", help="the record decided about, FEED:SOURCE_KEY")]
OtherOpt = Annotated[str, typer.Option("--other", help="the other record, FEED:SOURCE_KEY")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (kept with the decision)")]
ByOpt = Annotated[str, typer.Option("--by", help="who decided")]


def _record(value: str) -> tuple[str, str]:
    feed, sep, key = value.partition(":")
    if not sep or not feed or not key:
        raise typer.BadParameter(
            f"a record is FEED:SOURCE_KEY, e.g. police:N0000123 (got {len(value)} characters without that form)"
        )
    return feed, key


def _decide(config: Path | None, db: str | None, kind: str, **fields) -> None:
    from nominal.store import writes

    cfg = _load(config)
    try:
        decision = writes.record_decision(_open_store(cfg, db), kind, **fields)
    except ValueError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    console.print(f"decision {decision} recorded: {kind}; the next night honours it", highlight=False)


@decide_app.command("link")
def decide_link(
    record: RecordOpt, other: OtherOpt, reason: ReasonOpt, by: ByOpt, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Two records are the same person: matching links them on every later night."""
    (feed, key), (other_feed, other_key) = _record(record), _record(other)
    _decide(
        config,
        db,
        "link",
        feed=feed,
        source_key=key,
        other_feed=other_feed,
        other_source_key=other_key,
        reason=reason,
        decided_by=by,
    )


@decide_app.command("do-not-link")
def decide_do_not_link(
    record: RecordOpt, other: OtherOpt, reason: ReasonOpt, by: ByOpt, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Two records are different people: matching never links them."""
    (feed, key), (other_feed, other_key) = _record(record), _record(other)
    _decide(
        config,
        db,
        "do_not_link",
        feed=feed,
        source_key=key,
        other_feed=other_feed,
        other_source_key=other_key,
        reason=reason,
        decided_by=by,
    )


@decide_app.command("accept-value")
def decide_accept_value(
    record: RecordOpt,
    field: Annotated[str, typer.Option("--field", help="the golden record's field, e.g. date_of_birth")],
    reason: ReasonOpt,
    by: ByOpt,
    value: Annotated[
        str | None,
        typer.Option("--value", help="the value seen (dates YYYY-MM-DD): the decision lapses if the source changes it"),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Publish this record's value of FIELD for its person, whatever the survivorship rules say."""
    from nominal.publish.golden import GOLDEN_FIELDS

    if field not in GOLDEN_FIELDS:
        raise _fail(
            NominalError(f"--field {field!r} is not a golden field: one of {', '.join(GOLDEN_FIELDS)}"), EXIT_USAGE
        )
    feed, key = _record(record)
    _decide(
        config, db, "accept_value", feed=feed, source_key=key, field=field, value=value, reason=reason, decided_by=by
    )


@decide_app.command("dismiss")
def decide_dismiss(
    exception: Annotated[
        str,
        typer.Option("--exception", help="the exception's fingerprint, or its reference from a report (12 characters)"),
    ],
    reason: ReasonOpt,
    by: ByOpt,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Dismiss an exception: it stays dismissed while its data is unchanged, and reopens if it changes."""
    from sqlalchemy import select

    from nominal.store.db import session_scope
    from nominal.store.models import ExceptionRecord

    cfg = _load(config)
    engine = _open_store(cfg, db)
    if len(exception) < 12:
        raise _fail(NominalError("--exception needs at least the 12 characters of a report's reference"), EXIT_USAGE)
    with session_scope(engine) as session:
        found = session.execute(
            select(
                ExceptionRecord.fingerprint, ExceptionRecord.data_hash, ExceptionRecord.feed, ExceptionRecord.source_key
            )
            .where(ExceptionRecord.fingerprint.startswith(exception))
            .limit(2)
        ).all()
    if len(found) != 1:
        raise _fail(
            NominalError(f"{'no' if not found else 'more than one'} exception has the reference {exception}"),
            EXIT_USAGE,
        )
    fingerprint, data_hash, feed, key = found[0]
    _decide(
        config,
        db,
        "dismiss",
        feed=feed or "",
        source_key=key or "",
        exception_fingerprint=fingerprint,
        value=data_hash or "",
        reason=reason,
        decided_by=by,
    )


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

    cfg = _load(config)
    schedule_cron = cron or cfg.schedule.cron
    config_path = str(Path(config or cfg.source).resolve())
    console.print(
        f"serving deployment nightly_sync/{name}: cron {schedule_cron!r} ({cfg.schedule.timezone}), config {config_path}",
        highlight=False,
    )
    nightly_sync.serve(
        name=name,
        cron=schedule_cron,
        parameters={"config_path": config_path, "landing": str(landing.resolve()) if landing else None, "db_url": db},
        tags=["nominal"],
        description="nominal nightly sync: ingest, validate, match, publish",
    )


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo's files go")] = Path("nominal-demo"),
    people: Annotated[int, typer.Option("--people", min=10)] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    start_date: Annotated[str, typer.Option("--start-date")] = "2026-11-23",
    verbose: VerboseOpt = False,
) -> None:
    """Generate three nights of synthetic feeds and run them through the nightly flow."""
    setup_logging(verbose)
    from nominal.config import SHIPPED_CONFIG, load_config
    from nominal.synthetic import generate as run_generator

    start = _as_of(start_date)
    if directory.exists():
        shutil.rmtree(directory)  # the demo starts from nothing each time
    directory.mkdir(parents=True)
    console.print(f"[bold]1.[/bold] generating {people} synthetic people, three nights from {start} …")
    report = run_generator(people=people, seed=seed, out=directory, nights=3, start_date=start)
    for night, feeds in report.as_dict()["nights"].items():
        console.print(f"   {night}: " + ", ".join(f"{feed} {info['rows']} rows" for feed, info in feeds.items()))
    config_path = directory / "nominal.yaml"  # the shipped config: its relative paths now mean the demo folder
    config_path.write_text(SHIPPED_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(config_path)
    console.print(
        f"[bold]2.[/bold] three nights through the nightly flow (config {config_path}, store {cfg.db_url}) …",
        highlight=False,
    )
    nights = [start + dt.timedelta(days=i) for i in range(3)]
    _run_nights(cfg, config_path, nights, landing=None, db=None, full=False, runner="threads", address=None)
    console.print(
        f"landing: {cfg.landing_dir}\narchive: {cfg.archive_dir}\nreports: {cfg.reports_dir}\ntruth:   {directory / 'truth'}\n"
        f"status:  nominal status --config {config_path}",
        highlight=False,
    )


@app.command()
def schema() -> None:
    """Print the canonical person record that passes between the stages."""
    from nominal.canonical import schema_markdown

    typer.echo(schema_markdown())


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Create or migrate the store's tables to the latest schema."""
    from nominal.store import db as store_db

    url = db or _load(config).db_url
    try:
        store_db.upgrade(url)
    except NominalError as exc:
        raise _fail(exc) from None
    console.print(f"store at {store_db.mask_url(url)} is up to date", highlight=False)


@config_app.command("show")
def config_show(config: ConfigOpt = None) -> None:
    """Print the configuration file in use (copy it to ./nominal.yaml to change it)."""
    from nominal.config import default_config_path

    path = config or default_config_path()
    _load(path)
    typer.echo(Path(path).read_text(encoding="utf-8"), nl=False)


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate the configuration, its mapping files and connector options."""
    cfg = _load(config)
    console.print(f"{cfg.source}: OK, feeds {', '.join(f.name for f in cfg.feeds)}", highlight=False)


def main() -> None:  # pragma: no cover - console script entry
    app()
