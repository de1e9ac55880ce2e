"""One generated night, taken through the stages as plain functions and published into a store: what
the triage service's tests work on (exceptions of every kind, review pairs, persons, source records)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from nominal.config import SHIPPED_CONFIG
from nominal.flows.configuration import load_config
from nominal.flows.ingest import ingest_night
from nominal.flows.nightly import model_version
from nominal.flows.validate import validate_feeds
from nominal.matching.pipeline import MatchResult, match
from nominal.matching.settings import load_settings
from nominal.publish.publication import NightPublication, prepare
from nominal.publish.rules import load_rules
from nominal.store import queries, writes
from nominal.synthetic import generate
from nominal.tables import PublishedState
from nominal.vocab import RunKind

NIGHT = dt.date(2026, 11, 23)


@dataclass
class Night:
    records: pd.DataFrame
    validation: pd.DataFrame
    metrics: list[dict]
    matched: MatchResult
    scope: set[str]


def generated_night(out: Path, people: int = 300, seed: int = 21, night: dt.date = NIGHT, nights: int = 1) -> Night:
    """One night of generated feeds, ingested, validated and matched (no store, no Prefect)."""
    if not (out / "landing").exists():
        generate(people=people, seed=seed, out=out, nights=nights, start_date=NIGHT)
    config = load_config(SHIPPED_CONFIG)
    config.archive = str(out / f"archive-{night}")
    ingests = ingest_night(config, night, out / "landing")
    checked = validate_feeds(config, night, ingests)
    records = pd.concat([i.canonical for i in ingests], ignore_index=True)
    matched = match([i.canonical for i in ingests], load_settings())
    return Night(
        records, checked.exceptions(), checked.metrics().to_dict("records"), matched, {i.feed for i in ingests}
    )


def publish(
    engine: Engine, night: Night, as_of: dt.date = NIGHT, state: PublishedState | None = None
) -> NightPublication:
    """``night`` published into ``engine``'s store as a night's run would (``state``: what the night read first)."""
    run_id = writes.start_run(engine, RunKind.SYNC, as_of, sorted(night.scope))
    prepared = prepare(
        night.records,
        night.matched.clusters,
        night.matched.review_pairs,
        night.matched.events,
        night.validation,
        state if state is not None else queries.published_state(engine),
        load_rules(),
        run_id=run_id,
        as_of=as_of,
        scope_feeds=night.scope,
        metrics=night.metrics,
        model_version=model_version(night.matched.model),
    )
    writes.publish_night(engine, run_id, prepared.publication, {"publish": prepared.counts})
    return prepared
