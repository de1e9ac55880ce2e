"""``nightly_sync``: the night ops schedule — every feed ingested and validated concurrently,
gates checked, matching, then one atomic publication with its reports.

- A feed whose source is unreachable is retried with back-off; a data error is never retried.
- A failed gate stops the night before matching: the exceptions found are still recorded, the
  run is ``gate_failed`` with the reasons, and nothing is published.
- One run at a time, by a lock in the store; a run killed mid-night is marked failed by the next.
- Rerunning a night is idempotent: the same ids, no duplicate exceptions.

The stages are the plain functions of flows/ingest, validate, match and publish/; this module
only orchestrates them. ``run_night`` is the flow's body, so the CLI and tests call one code path.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from nominal.config import Config, load_config
from nominal.errors import NominalError, SourceUnavailable
from nominal.expectations.run import FeedValidation, failed_feed
from nominal.stopwatch import Stopwatch

from .ingest import (
    FeedIngest,
    fetch_context,
    ingest_counts,
    ingest_feed,
    record_deliveries,
)

log = logging.getLogger("nominal.sync")

# On a Dask cluster, candidate pairs are compared in partitions of about this many.
PAIRS_PER_PARTITION = 250_000


class GateFailed(NominalError):
    """A feed's gate failed: the night stopped before publish."""


@dataclass
class FeedNight:
    ingest: FeedIngest
    validation: FeedValidation


def _unreachable_only(task, task_run, state) -> bool:
    """Retry a feed only when its source could not be reached; a data error will not go away."""
    try:
        state.result()
    except SourceUnavailable:
        return True
    except BaseException:
        return False
    return False


@task(
    name="ingest and validate feed", cache_policy=NO_CACHE, persist_result=False, retry_condition_fn=_unreachable_only
)
def ingest_and_validate(
    config: Config, feed_name: str, as_of: dt.date, landing: Path | None, docs_dir: Path | None, db_url: str
) -> FeedNight:
    from nominal.store import db

    from .validate import validate_feeds

    feed = config.feed(feed_name)
    ingest = ingest_feed(config, feed, fetch_context(config, as_of, landing), raise_unavailable=True)
    if not ingest.ok:
        return FeedNight(ingest, failed_feed(feed_name, ingest.error or {}))
    checked = validate_feeds(config, as_of, [ingest], engine=db.engine_for(db_url), docs_dir=docs_dir)
    return FeedNight(ingest, checked.feeds[0])


@task(name="match", cache_policy=NO_CACHE, persist_result=False)
def match_task(
    config: Config,
    frames: list[pd.DataFrame],
    db_url: str,
    full: bool,
    previous_links: pd.DataFrame | None = None,
    pairs_per_partition: int = PAIRS_PER_PARTITION,
):
    """Matching, in the flow's process (it holds the night's records). When the flow runs on Dask
    (``--runner dask``) its candidate pairs are compared in partitions across the cluster."""
    from nominal.store import db

    from .match import match_records

    address = _dask_scheduler()
    compare_pairs = _compare_on_cluster(frames, pairs_per_partition, address) if address else None
    return match_records(
        config,
        frames,
        engine=db.engine_for(db_url),
        full=full,
        previous_links=previous_links,
        compare_pairs=compare_pairs,
    )


def _dask_scheduler() -> str | None:
    """The scheduler address of the flow's Dask task runner (None when it runs on threads), read
    as prefect_dask.get_dask_client reads it in a flow (inside a task it looks for a worker's)."""
    from prefect.context import FlowRunContext

    runner = getattr(FlowRunContext.get(), "task_runner", None)
    if type(runner).__name__ != "DaskTaskRunner" or getattr(runner, "_client", None) is None:
        return None
    return runner._client.scheduler_info()["address"]


def _compare_on_cluster(frames: list[pd.DataFrame], pairs_per_partition: int, address: str):
    """Compare candidate pairs as Dask tasks, ``pairs_per_partition`` each, on the flow's cluster;
    the night's frames go to each worker once. A night with few pairs compares them here."""
    import uuid

    from nominal.matching.comparisons import compare
    from nominal.matching.partitions import compare_partition, joined, partition_bounds

    def compare_pairs(records, settings, a, b):
        if len(a) <= pairs_per_partition:
            return compare(records, settings, a, b)
        from distributed import Client

        night = uuid.uuid4().hex
        with Client(address) as client:  # the cluster prefect-dask runs the flow's tasks on
            shared = client.scatter(frames, broadcast=True)
            parts = [
                client.submit(compare_partition, night, shared, settings, a[lo:hi], b[lo:hi], pure=False)
                for lo, hi in partition_bounds(len(a), pairs_per_partition)
            ]
            gammas = client.gather(parts)
        log.info("compared %d candidate pairs in %d partitions on the Dask cluster", len(a), len(parts))
        compare_pairs.partitions = len(parts)
        return joined(gammas)

    compare_pairs.partitions = 1
    return compare_pairs


def _feed_task(config: Config):
    retries = config.schedule.retries
    delays = exponential_backoff(backoff_factor=config.schedule.retry_delay_seconds)(retries) if retries else 0
    return ingest_and_validate.with_options(retries=retries, retry_delay_seconds=delays)


def staging_folder_path(config: Config, as_of: dt.date, run_id: int) -> Path:
    from nominal.publish.reports import staging_path

    return staging_path(config.reports_dir, as_of, run_id)


def _unreachable_feed(feed: str, exc: BaseException) -> FeedNight:
    error = {"text": f"{feed}: source unreachable after retries: {exc}"}
    return FeedNight(FeedIngest(feed=feed, status="failed", error=error), failed_feed(feed, error))


def run_night(
    config: Config,
    as_of: dt.date,
    *,
    landing: Path | None = None,
    db_url: str | None = None,
    full: bool = False,
    pairs_per_partition: int = PAIRS_PER_PARTITION,
) -> dict:
    """One night end to end, inside the flow (its tasks need a flow run); returns its summary. Raises GateFailed,
    StoreUnavailable, RunLocked or the stage's error, after recording the run's end."""
    from nominal.store import db, writes

    url = db_url or config.db_url
    engine = db.ensure_schema(url)  # a database that is down fails here: nothing started, nothing published
    feeds = [f.name for f in config.enabled_feeds()]
    writes.acquire_lock(engine, as_of)
    try:
        abandoned = writes.fail_abandoned_runs(engine)
        if abandoned:
            log.warning("%d earlier run(s) had stopped without finishing: marked failed", abandoned)
        run_id = writes.start_run(engine, "sync", as_of, feeds)
        try:
            return _night(config, engine, url, run_id, as_of, landing, full, pairs_per_partition)
        except BaseException as exc:
            if not isinstance(exc, GateFailed):
                # a data or disk error says where; anything else only its kind (its text could hold a value)
                message = str(exc) if isinstance(exc, (NominalError, OSError)) else exc.__class__.__name__
                writes.finish_run(engine, run_id, "failed", {}, f"sync stopped: {message}")
                shutil.rmtree(staging_folder_path(config, as_of, run_id), ignore_errors=True)
            raise
    finally:
        writes.release_lock(engine)


def _night(
    config: Config,
    engine,
    url: str,
    run_id: int,
    as_of: dt.date,
    landing: Path | None,
    full: bool,
    pairs_per_partition: int,
) -> dict:
    from nominal.publish.exceptions import merge_exceptions
    from nominal.publish.publication import StoreNow, prepare, validation_findings
    from nominal.publish.reports import commit_reports, stage_reports, staging_folder
    from nominal.publish.rules import load_rules
    from nominal.store import writes

    from .match import save_state

    watch = Stopwatch()
    lap, seconds = watch.lap, watch.seconds

    rules = load_rules(config.publish_rules_path())  # a bad rules file stops the night before any work
    final = config.reports_dir / as_of.isoformat()
    staging = staging_folder(config.reports_dir, as_of, run_id)
    docs = (lambda name: staging / "data_docs" / name) if config.validation.data_docs else (lambda name: None)
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nominal-store-read")
    reading = reader.submit(
        StoreNow.read, engine
    )  # the store as last published, read while the feeds load (the lock is ours)
    reader.shutdown(wait=False)
    feed_task = _feed_task(config)
    futures = {
        name: feed_task.submit(config, name, as_of, landing, docs(name), url)
        for name in (f.name for f in config.enabled_feeds())
    }
    nights: list[FeedNight] = []
    for name, future in futures.items():
        try:
            nights.append(future.result())
        except SourceUnavailable as exc:
            nights.append(_unreachable_feed(name, exc))
    lap("ingest_validate")
    ingests = [n.ingest for n in nights]
    record_deliveries(engine, run_id, as_of, ingests)
    gates = {n.validation.feed: n.validation.gate.as_dict() for n in nights}
    metrics = pd.concat([n.validation.metrics for n in nights], ignore_index=True).to_dict("records")
    validation = pd.concat([n.validation.exceptions for n in nights], ignore_index=True)
    counts: dict = {"ingest": ingest_counts(ingests), "gates": {f: g["passed"] for f, g in gates.items()}}
    loaded = [n.ingest for n in nights if n.ingest.ok]
    records = (
        pd.concat([i.canonical for i in loaded], ignore_index=True)
        if loaded
        else pd.DataFrame(columns=["feed", "source_key"])
    )

    failed = [f"{feed}: {'; '.join(g['reasons'])}" for feed, g in gates.items() if not g["passed"]]
    if failed:
        message = "gate failed, nothing published — " + " | ".join(failed)
        people = records.assign(person_id=pd.NA)
        rows = merge_exceptions(
            validation_findings(validation, people), reading.result().exceptions, run_id, writes.utcnow(), set()
        )
        pending = stage_reports(staging, as_of, run_id, "gate_failed", rows, counts, gates)
        try:
            writes.record_exceptions(
                engine, run_id, rows, metrics, "gate_failed", counts, message, before_commit=pending.finish
            )
        finally:
            pending.close()
        commit_reports(staging, final)
        _artifacts(as_of, run_id, "gate_failed", counts, gates)
        raise GateFailed(message)

    for ingest in loaded:  # the night's records are in ``records`` now: one copy in memory, not two
        ingest.canonical = None
    in_store = reading.result()  # read once: matching keeps person ids stable with its links
    lap("read_store")  # what is left of the read once the feeds are in
    result = match_task(
        config, [records], url, full, in_store.links[["feed", "source_key", "person_id"]], pairs_per_partition
    )
    lap("match")
    counts["match"] = {
        **{k: v for k, v in result.stats.items() if k not in ("seconds", "peak_mb")},
        "match_rate": float((result.clusters.groupby("person_id")["source_key"].transform("size") > 1).mean()),
    }
    night = prepare(
        records,
        result.clusters,
        result.review_pairs,
        result.events,
        validation,
        in_store,
        rules,
        run_id=run_id,
        as_of=as_of,
        scope_feeds={i.feed for i in loaded},
        metrics=metrics,
        full=full,
    )
    counts["publish"] = night.counts
    lap("prepare_publication")
    pending = stage_reports(staging, as_of, run_id, "succeeded", night.exceptions_tonight, counts, gates)
    lap("reports")
    counts["seconds"] = seconds
    try:
        counts["store_seconds"] = writes.publish_night(
            engine, run_id, night.publication, counts, before_commit=pending.finish
        )
    finally:
        pending.close()
    lap("publish")  # includes waiting for the workbooks, written meanwhile
    commit_reports(staging, final)
    save_state(result, config.match_state_dir)  # after the commit: a failed night leaves the last state
    lap("save_state")
    log.info("night %s published in %s", as_of, seconds)
    _artifacts(as_of, run_id, "succeeded", counts, gates)
    return {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "status": "succeeded",
        "reports": str(final),
        "counts": counts,
        "gates": gates,
        "seconds": seconds,
    }


def _artifacts(as_of: dt.date, run_id: int, status: str, counts: dict, gates: dict) -> None:
    """A masked summary for the Prefect UI: counts only, never a name, date of birth or identifier."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact
    from prefect.context import get_run_context

    try:
        get_run_context()
    except Exception:  # called outside a flow run (plain run_night): nothing to attach to
        return
    publish = counts.get("publish", {})
    exceptions = publish.get("exceptions", {})
    lines = [
        f"# nominal night {as_of} — run {run_id}: **{status}**",
        "",
        "| feed | gate | rows | error rate |",
        "|---|---|---|---|",
        *[
            f"| {f} | {'passed' if g['passed'] else 'FAILED'} | {g.get('rows', 0):,} | {g.get('error_rate', 0):.1%} |"
            for f, g in gates.items()
        ],
        "",
        f"Persons: {publish.get('persons', 0):,} ({publish.get('persons_written', 0):,} written, {publish.get('persons_retired', 0):,} retired). "
        f"Exceptions: {exceptions.get('new', 0):,} new, {exceptions.get('open', 0):,} open, {exceptions.get('closed', 0):,} closed.",
    ]
    create_markdown_artifact("\n".join(lines), key="nightly-summary", description=f"night {as_of}")
    table = [
        {
            "feed": f,
            "gate": "passed" if g["passed"] else "failed",
            "rows": g.get("rows", 0),
            "error_rate": round(g.get("error_rate", 0), 4),
        }
        for f, g in gates.items()
    ]
    create_table_artifact(table, key="nightly-gates", description=f"gates, night {as_of}")


@flow(name="nightly_sync", persist_result=False, log_prints=False)
def nightly_sync(
    as_of: str | None = None,
    config_path: str | None = None,
    landing: str | None = None,
    db_url: str | None = None,
    full: bool = False,
    config: Any = None,  # a loaded Config; Any because Prefect validates parameters by annotation
    pairs_per_partition: int = PAIRS_PER_PARTITION,
) -> dict:
    """The nightly sync. ``as_of`` defaults to today (a scheduled run is for its own night);
    ``config`` (a loaded Config) is for callers that hold one, else ``config_path`` is loaded."""
    night = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    config = config or load_config(config_path)
    get_run_logger().info("night %s: feeds %s", night, ", ".join(f.name for f in config.enabled_feeds()))
    return run_night(
        config,
        night,
        landing=Path(landing) if landing else None,
        db_url=db_url,
        full=full,
        pairs_per_partition=pairs_per_partition,
    )


def sync_flow(runner: str = "threads", address: str | None = None):
    """The flow with its task runner: threads (default) or a Dask cluster through prefect-dask."""
    if runner == "dask":
        from prefect_dask import DaskTaskRunner

        options = (
            {"address": address}
            if address
            else {"cluster_kwargs": {"n_workers": 2, "threads_per_worker": 1, "processes": True}}
        )
        return nightly_sync.with_options(task_runner=DaskTaskRunner(**options))
    return nightly_sync


def run_night_in_flow(
    config: Config,
    night: dt.date,
    *,
    landing: Path | None = None,
    db_url: str | None = None,
    full: bool = False,
    runner: str = "threads",
    address: str | None = None,
    pairs_per_partition: int = PAIRS_PER_PARTITION,
) -> dict:
    """Run one night through the flow with a loaded config (the CLI and tests)."""
    flow_ = sync_flow(runner, address)
    return flow_(
        as_of=night.isoformat(),
        config=config,
        landing=str(landing) if landing else None,
        db_url=db_url,
        full=full,
        pairs_per_partition=pairs_per_partition,
    )
