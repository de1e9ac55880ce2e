"""``nightly_sync``: the night ops schedule — every feed ingested and validated concurrently,
gates checked, matching, then one atomic publication with its reports.

- A feed whose source is unreachable is retried with back-off; a data error is never retried.
- A failed gate stops the night before matching: the exceptions found are still recorded, the
  run is ``gate_failed`` with the reasons, and nothing is published.
- One run at a time, by a lock in the store; a run killed mid-night is marked failed by the next.
- Rerunning a night is idempotent: the same ids, no duplicate exceptions.

Each stage of the night is a Prefect task over the stages' plain functions, so the Prefect UI shows
the night's timeline stage by stage: ingest and validate (one task per feed, concurrent), match,
prepare publication, stage reports, publish (the store's one writing transaction), reports in
place, save matching's state. ``run_night`` is the flow's body, so the CLI and tests call one path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, get_run_context
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote
from sqlalchemy import Engine

from nominal.clock import utcnow
from nominal.config import Config
from nominal.errors import NominalError, SourceUnavailable
from nominal.expectations.run import FeedValidation, failed_feed
from nominal.matching.comparisons import Gamma, compare
from nominal.matching.model import Model
from nominal.matching.partitions import compare_partition, joined, partition_bounds
from nominal.matching.pipeline import MatchResult
from nominal.matching.prepare import Records
from nominal.matching.settings import Settings
from nominal.publish import reports
from nominal.publish.publication import NightPublication, prepare, stopped_night
from nominal.publish.rules import PublishRules, load_rules
from nominal.stopwatch import Stopwatch
from nominal.store import db, queries, writes
from nominal.tables import PublishedState
from nominal.vocab import RunKind, RunStatus

from . import alerts
from .configuration import load_config
from .ingest import FAILED, FeedIngest, NightIngest, fetch_context, ingest_feed, record_deliveries
from .match import match_records, save_state
from .runs import RunRecord, masked_reason, start_run
from .validate import validate_feeds

log = logging.getLogger("nominal.sync")

# On a Dask cluster, candidate pairs are compared in partitions of about this many.
PAIRS_PER_PARTITION = 250_000


class GateFailed(NominalError):
    """A feed's gate failed: the night stopped before publish."""


@dataclass
class FeedNight:
    ingest: FeedIngest
    validation: FeedValidation


@dataclass
class NightSummary:
    """How a night ended: what ``nominal sync`` prints and the flow returns."""

    as_of: dt.date
    run_id: int
    status: RunStatus
    reports: Path
    counts: dict[str, Any]  # as kept in the run's counts: per stage
    gates: dict[str, dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def publish(self) -> dict[str, Any]:
        return dict(self.counts.get("publish", {}))


# --- the tasks ----------------------------------------------------------------------------------


def _unreachable_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a feed only when its source could not be reached; a data error will not go away."""
    try:
        state.result()
    except SourceUnavailable:
        return True
    except BaseException:
        return False
    return False


@task(
    name="ingest and validate feed",
    cache_policy=NO_CACHE,
    persist_result=False,
    retry_condition_fn=_unreachable_only,
)
def ingest_and_validate(
    config: Config, feed_name: str, as_of: dt.date, landing: Path | None, docs_dir: Path | None, db_url: str
) -> FeedNight:
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
) -> MatchResult:
    """Matching, in the flow's process (it holds the night's records). When the flow runs on Dask
    (``--runner dask``) its candidate pairs are compared in partitions across the cluster."""
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


def _quoted(result: MatchResult) -> MatchResult:
    """``result`` wrapped in Prefect's quote(), so that Prefect does not walk the trained model's settings.

    Prefect unwraps it before calling the task, which receives the MatchResult itself; typed as that,
    since Prefect's typed Task.__call__ does not know of quote()."""
    return cast(MatchResult, quote(result))


@task(name="prepare publication", cache_policy=NO_CACHE, persist_result=False)
def prepare_task(
    records: pd.DataFrame,
    result: MatchResult,  # passed quoted: Prefect must not walk the trained model's settings
    validation: pd.DataFrame,
    published: PublishedState,
    rules: PublishRules,
    run_id: int,
    as_of: dt.date,
    scope_feeds: set[str],
    metrics: list[dict[str, Any]],
    full: bool,
) -> NightPublication:
    return prepare(
        records,
        result.clusters,
        result.review_pairs,
        result.events,
        validation,
        published,
        rules,
        run_id=run_id,
        as_of=as_of,
        scope_feeds=scope_feeds,
        metrics=metrics,
        full=full,
        model_version=model_version(result.model),
    )


def model_version(model: Model) -> str:
    """A fingerprint of the trained model, kept with the review pairs it scored."""
    return hashlib.sha256(json.dumps(model.as_dict(), sort_keys=True, default=str).encode()).hexdigest()[:16]


@task(name="stage reports", cache_policy=NO_CACHE, persist_result=False)
def stage_reports_task(
    staging: Path,
    as_of: dt.date,
    run_id: int,
    status: str,
    night: NightPublication,
    counts: dict[str, Any],
    gates: dict,
) -> reports.PendingReports:
    """The night's reports into its staging folder (the workbooks are written meanwhile)."""
    return reports.stage_reports(
        staging, as_of, run_id, status, night.exceptions_tonight, counts, gates, night.reopened
    )


@task(name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish_task(
    engine: Engine, run_id: int, night: NightPublication, counts: dict[str, Any], pending: reports.PendingReports
) -> dict[str, float]:
    """The store's one writing transaction; the workbooks must be written before it commits."""
    try:
        return writes.publish_night(engine, run_id, night.publication, counts, before_commit=pending.finish)
    finally:
        pending.close()


@task(name="reports in place", cache_policy=NO_CACHE, persist_result=False)
def reports_in_place_task(staging: Path, final: Path) -> Path:
    return reports.commit_reports(staging, final)


@task(name="save matching state", cache_policy=NO_CACHE, persist_result=False)
def save_state_task(result: MatchResult, state_dir: Path) -> None:  # passed quoted, as to prepare_task
    save_state(result, state_dir)


# --- Dask -----------------------------------------------------------------------------------------


def _dask_scheduler() -> str | None:
    """The scheduler address of the flow's Dask task runner (None when it runs on threads), read
    as prefect_dask.get_dask_client reads it in a flow (inside a task it looks for a worker's)."""
    runner = getattr(FlowRunContext.get(), "task_runner", None)
    if type(runner).__name__ != "DaskTaskRunner" or getattr(runner, "_client", None) is None:
        return None
    return str(runner._client.scheduler_info()["address"])  # type: ignore[union-attr]


class _ClusterComparer:
    """Compares candidate pairs as Dask tasks, ``pairs_per_partition`` each, on the flow's cluster;
    the night's frames go to each worker once. A night with few pairs compares them here."""

    def __init__(self, frames: list[pd.DataFrame], pairs_per_partition: int, address: str):
        self.frames, self.pairs_per_partition, self.address = frames, pairs_per_partition, address
        self.partitions = 1  # read by matching for its stats

    def __call__(self, records: Records, settings: Settings, a: np.ndarray, b: np.ndarray) -> Gamma:
        if len(a) <= self.pairs_per_partition:
            return compare(records, settings, a, b)
        # distributed is imported only on a Dask night: it takes half a second to import
        from distributed import Client

        night = uuid.uuid4().hex
        with Client(self.address) as client:  # the cluster prefect-dask runs the flow's tasks on
            shared = client.scatter(self.frames, broadcast=True)
            bounds = partition_bounds(len(a), self.pairs_per_partition)
            parts = [
                client.submit(compare_partition, night, shared, settings, a[lo:hi], b[lo:hi], pure=False)
                for lo, hi in bounds
            ]
            gammas = client.gather(parts)
        log.info("compared %d candidate pairs in %d partitions on the Dask cluster", len(a), len(parts))
        self.partitions = len(parts)
        return joined(gammas)


def _compare_on_cluster(frames: list[pd.DataFrame], pairs_per_partition: int, address: str) -> _ClusterComparer:
    return _ClusterComparer(frames, pairs_per_partition, address)


# --- the night ------------------------------------------------------------------------------------


def _feed_task(config: Config) -> Any:
    retries = config.schedule.retries
    delays = exponential_backoff(backoff_factor=config.schedule.retry_delay_seconds)(retries) if retries else 0
    return ingest_and_validate.with_options(retries=retries, retry_delay_seconds=delays)


def _unreachable_feed(feed: str, exc: BaseException) -> FeedNight:
    error = {"text": f"{feed}: source unreachable after retries: {exc}"}
    return FeedNight(FeedIngest(feed=feed, status=FAILED, error=error), failed_feed(feed, error))


def run_night(
    config: Config,
    as_of: dt.date,
    *,
    landing: Path | None = None,
    db_url: str | None = None,
    full: bool = False,
    pairs_per_partition: int = PAIRS_PER_PARTITION,
) -> NightSummary:
    """One night end to end, inside the flow (its tasks need a flow run); returns its summary. Raises GateFailed,
    StoreUnavailable, RunLocked or the stage's error, after recording the run's end."""
    url = db_url or config.db_url
    engine = db.ensure_schema(url)  # a database that is down fails here: nothing started, nothing published
    rules = load_rules(config.publish_rules_path())  # a bad rules file stops the night before any work
    writes.acquire_lock(engine, as_of)
    try:
        abandoned = writes.fail_abandoned_runs(engine)
        if abandoned:
            log.warning("%d earlier run(s) had stopped without finishing: marked failed", abandoned)
        run = start_run(engine, RunKind.SYNC, as_of, [f.name for f in config.enabled_feeds()])
        night = _Night(config, engine, url, run, rules, landing, full, pairs_per_partition)
        try:
            return night.run()
        except BaseException as exc:
            if not isinstance(exc, GateFailed):
                run.fail("sync", exc)
                shutil.rmtree(night.staging_path, ignore_errors=True)
            if isinstance(exc, Exception):  # not an interruption: somebody should know by morning
                alerts.night_failed(config, as_of, isinstance(exc, GateFailed), run.message or str(exc))
            raise
    finally:
        writes.release_lock(engine)


class _Night:
    """One night's run: the flow's body as a recipe of stages."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        url: str,
        run: RunRecord,
        rules: PublishRules,
        landing: Path | None,
        full: bool,
        pairs_per_partition: int,
    ):
        self.config, self.engine, self.url, self.record, self.rules = config, engine, url, run, rules
        self.landing, self.full, self.pairs_per_partition = landing, full, pairs_per_partition
        self.as_of = run.as_of
        self.staging_path = reports.staging_path(config.reports_dir, self.as_of, run.run_id)
        self.final = config.reports_dir / self.as_of.isoformat()
        self.watch = Stopwatch()

    def run(self) -> NightSummary:
        lap = self.watch.lap
        staging = reports.staging_folder(self.config.reports_dir, self.as_of, self.record.run_id)
        reading = self._read_store()  # the store as last published, read while the feeds load
        nights = self._ingest_and_validate(staging)
        lap("ingest_validate")
        ingests = NightIngest(self.as_of, self.record.run_id, [n.ingest for n in nights])
        record_deliveries(self.engine, self.record.run_id, self.as_of, ingests.feeds)
        gates = {n.validation.feed: n.validation.gate.as_dict() for n in nights}
        metrics = pd.concat([n.validation.metrics for n in nights], ignore_index=True).to_dict("records")
        validation = pd.concat([n.validation.exceptions for n in nights], ignore_index=True)
        counts: dict[str, Any] = {"ingest": ingests.counts(), "gates": {f: g["passed"] for f, g in gates.items()}}
        records = self._records(ingests)

        failed = [f"{feed}: {'; '.join(g['reasons'])}" for feed, g in gates.items() if not g["passed"]]
        if failed:
            self._stop(staging, records, validation, reading.result(), metrics, counts, gates, failed)

        published = reading.result()  # read once: matching keeps person ids stable with its links
        lap("read_store")  # what is left of the read once the feeds are in
        links = published.links[["feed", "source_key", "person_id"]]
        result = match_task(self.config, [records], self.url, self.full, links, self.pairs_per_partition)
        lap("match")
        counts["match"] = _match_counts(result)
        scope = {i.feed for i in ingests.feeds if i.ok}
        night = prepare_task(
            records,
            _quoted(result),
            validation,
            published,
            self.rules,
            self.record.run_id,
            self.as_of,
            scope,
            metrics,
            self.full,
        )
        counts["publish"] = night.counts
        lap("prepare_publication")
        pending = stage_reports_task(staging, self.as_of, self.record.run_id, RunStatus.SUCCEEDED, night, counts, gates)
        lap("reports")
        counts["seconds"] = self.watch.seconds
        counts["store_seconds"] = publish_task(self.engine, self.record.run_id, night, counts, pending)
        self.record.mark_finished(RunStatus.SUCCEEDED, counts)
        lap("publish")  # includes waiting for the workbooks, written meanwhile
        reports_in_place_task(staging, self.final)
        # after the commit: a failed night leaves the last state
        save_state_task(_quoted(result), self.config.match_state_dir)
        lap("save_state")
        log.info("night %s published in %s", self.as_of, self.watch.seconds)
        _artifacts(self.as_of, self.record.run_id, RunStatus.SUCCEEDED, counts, gates)
        return NightSummary(
            self.as_of, self.record.run_id, RunStatus.SUCCEEDED, self.final, counts, gates, self.watch.seconds
        )

    def _read_store(self) -> Future[PublishedState]:
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nominal-store-read")
        reading = reader.submit(queries.published_state, self.engine)  # the lock is ours: nothing else writes
        reader.shutdown(wait=False)
        return reading

    def _ingest_and_validate(self, staging: Path) -> list[FeedNight]:
        docs: Callable[[str], Path | None] = (
            (lambda name: staging / "data_docs" / name) if self.config.validation.data_docs else (lambda name: None)
        )
        feed_task = _feed_task(self.config)
        names = [f.name for f in self.config.enabled_feeds()]
        futures = {n: feed_task.submit(self.config, n, self.as_of, self.landing, docs(n), self.url) for n in names}
        nights: list[FeedNight] = []
        for name, future in futures.items():
            try:
                nights.append(future.result())
            except SourceUnavailable as exc:
                nights.append(_unreachable_feed(name, exc))
        return nights

    @staticmethod
    def _records(ingests: NightIngest) -> pd.DataFrame:
        """Tonight's records of every loaded feed, in one frame (each feed's own copy is let go)."""
        loaded = [i for i in ingests.feeds if i.ok and i.canonical is not None]
        if not loaded:
            return pd.DataFrame(columns=["feed", "source_key"])
        records = pd.concat([i.canonical for i in loaded], ignore_index=True)
        for ingest in loaded:  # one copy in memory, not two
            ingest.canonical = None
        return records

    def _stop(
        self,
        staging: Path,
        records: pd.DataFrame,
        validation: pd.DataFrame,
        published: PublishedState,
        metrics: list[dict[str, Any]],
        counts: dict[str, Any],
        gates: dict[str, dict[str, Any]],
        failed: list[str],
    ) -> None:
        """A gate failed: tonight's exceptions are recorded with the run's end, nothing is published."""
        message = "gate failed, nothing published — " + " | ".join(failed)
        night = stopped_night(records, validation, published, self.record.run_id, utcnow(), metrics)
        pending = stage_reports_task(
            staging, self.as_of, self.record.run_id, RunStatus.GATE_FAILED, night, counts, gates
        )
        try:
            writes.record_stopped_night(
                self.engine,
                self.record.run_id,
                night.publication,
                RunStatus.GATE_FAILED,
                counts,
                message,
                before_commit=pending.finish,
            )
        finally:
            pending.close()
        self.record.mark_finished(RunStatus.GATE_FAILED, counts, message)
        reports_in_place_task(staging, self.final)
        _artifacts(self.as_of, self.record.run_id, RunStatus.GATE_FAILED, counts, gates)
        raise GateFailed(message)


def _match_counts(result: MatchResult) -> dict[str, Any]:
    person_sizes = result.clusters.groupby("person_id")["source_key"].transform("size")
    stats = {k: v for k, v in result.stats.items() if k not in ("seconds", "peak_mb")}
    return {**stats, "match_rate": float((person_sizes > 1).mean())}


def _artifacts(as_of: dt.date, run_id: int, status: str, counts: dict[str, Any], gates: dict[str, Any]) -> None:
    """A masked summary for the Prefect UI: counts only, never a name, date of birth or identifier."""
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
        f"Persons: {publish.get('persons', 0):,} ({publish.get('persons_written', 0):,} written, "
        f"{publish.get('persons_retired', 0):,} retired). Exceptions: {exceptions.get('new', 0):,} new, "
        f"{exceptions.get('open', 0):,} open, {exceptions.get('closed', 0):,} closed.",
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


# --- the flow -------------------------------------------------------------------------------------


@flow(name="nightly_sync", persist_result=False, log_prints=False)
def nightly_sync(
    as_of: str | None = None,
    config_path: str | None = None,
    landing: str | None = None,
    db_url: str | None = None,
    full: bool = False,
    config: Any = None,  # a loaded Config; Any because Prefect validates parameters by annotation
    pairs_per_partition: int = PAIRS_PER_PARTITION,
) -> NightSummary:
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


def sync_flow(runner: str = "threads", address: str | None = None) -> Any:
    """The flow with its task runner: threads (default) or a Dask cluster through prefect-dask."""
    if runner == "dask":
        # prefect_dask is imported only for a Dask night: with distributed it takes half a second
        from prefect_dask import DaskTaskRunner

        options: dict[str, Any] = (
            {"address": address}
            if address
            else {"cluster_kwargs": {"n_workers": 2, "threads_per_worker": 1, "processes": True}}
        )
        # prefect-dask subclasses the bare TaskRunner, so mypy takes its future type to be the type variable's
        # default, PrefectConcurrentFuture; with_options wants TaskRunner[PrefectFuture[Any]] (it is invariant)
        return nightly_sync.with_options(task_runner=DaskTaskRunner(**options))  # type: ignore[arg-type]
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
) -> NightSummary:
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


__all__ = ["GateFailed", "NightSummary", "masked_reason", "nightly_sync", "run_night", "run_night_in_flow", "sync_flow"]
