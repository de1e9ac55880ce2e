"""Matching on its own: ``match`` a night into persons, ``evaluate`` a match against the truth."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from nominal.errors import ConfigError, NominalError
from nominal.logs import console, setup_logging

from .common import EXIT_USAGE, ConfigOpt, DbOpt, LandingOpt, VerboseOpt, as_of, fail, load, open_store, progress

app = typer.Typer()


@app.command()
def match(
    out: Annotated[
        Path, typer.Option("--out", help="output folder: clusters.csv, pairs.parquet, model.json, review.parquet")
    ],
    as_of_: Annotated[
        str | None, typer.Option("--as-of", help="the night to match, YYYY-MM-DD (default today)")
    ] = None,
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
    from nominal.flows.match import run_match

    setup_logging(verbose)
    night = as_of(as_of_) if as_of_ else dt.date.today()
    cfg = load(config)
    engine = open_store(cfg, db) if db else None  # previous ids and officers' decisions come from a store
    with progress() as bar:
        task = bar.add_task("ingesting", total=len(cfg.enabled_feeds()))
        try:
            summary = run_match(
                cfg,
                night,
                out,
                engine,
                landing=landing,
                full=full,
                retrain=retrain,
                threshold=threshold,
                state_dir=state,
                on_feed_done=lambda r: bar.update(task, advance=1, description=f"{r.feed}: {r.status}"),
                on_stage=lambda stage: bar.update(task, description=f"{stage} …"),
            )
        except ConfigError as exc:
            fail(exc, EXIT_USAGE)
        except NominalError as exc:
            fail(exc)
    for failed in summary.not_matched:
        console.print(f"[yellow]not matched[/yellow] {(failed.error or {}).get('text')}", highlight=False)
    for feed in summary.validation.failed:
        reasons = "; ".join(feed.gate.reasons)
        console.print(f"[yellow]{feed.feed}: gate failed[/yellow] ({reasons}); matched regardless", highlight=False)
    how = f"incremental, {summary.changed_records:,} new or changed" if summary.incremental else "full"
    console.print(
        f"{summary.records:,} records → {summary.persons:,} persons: {summary.links:,} links, "
        f"{summary.reviews:,} pairs for review, {summary.links_cut:,} links cut by constraints "
        f"({how}; {summary.seconds:.1f} s)",
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
            fail(NominalError(f"{path} not found"), EXIT_USAGE)
    clusters = pd.read_csv(clusters_path, dtype=str)
    truth_frame = pd.read_csv(truth, dtype=str)
    missing = {"feed", "source_key"} - set(truth_frame.columns)
    if missing or len(truth_frame.columns) < 3:
        fail(NominalError(f"{truth}: needs columns feed, source_key and a true id"), EXIT_USAGE)
    result = score(clusters, truth_frame)
    if thresholds:
        pairs = pd.read_parquet(out / "pairs.parquet")
        result["thresholds"] = threshold_sweep(clusters, pairs, truth_frame, [float(t) for t in thresholds.split(",")])
    (out / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    p, c = result["pairwise"], result["clusters"]
    console.print(
        f"pairwise  precision {p['precision']:.4f}  recall {p['recall']:.4f}  F1 {p['f1']:.4f}", highlight=False
    )
    console.print(
        f"clusters  {c['persons']:,} persons for {c['true_people']:,} true people; "
        f"exactly right {c['exactly_right_share']:.2%}; {c['true_people_split']:,} people split, "
        f"{c['persons_merging_people']:,} persons merging people; B-cubed F1 {c['b_cubed']['f1']:.4f}",
        highlight=False,
    )
    for row in result.get("thresholds", []):
        console.print(
            f"  threshold {row['threshold']:.3f}: precision {row['precision']:.4f} "
            f"recall {row['recall']:.4f} F1 {row['f1']:.4f}",
            highlight=False,
        )
