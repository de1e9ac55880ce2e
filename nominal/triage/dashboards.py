"""What managers see at a glance: record completeness, matching, the exception backlog and the
nights themselves, over a date range and for one feed or all. Figures only — counts and rates, never
a person's data — so every signed-in role may see them; a table downloaded as CSV is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine

from nominal.clock import utcnow
from nominal.store import audit
from nominal.store import dashboards as store
from nominal.vocab import AuditAction

from .actors import Actor
from .errors import InvalidInput, NotFound
from .roles import Permission

LATE_AFTER = dt.timedelta(hours=26)  # no night published for this long: the night is late
RANGES = {"30": 30, "90": 90, "365": 365}


@dataclass(frozen=True)
class Period:
    """The nights a dashboard covers and the feed it is about (None: every feed)."""

    since: dt.date
    until: dt.date
    feed: str | None = None

    @classmethod
    def of(cls, days: str | int | None = None, feed: str | None = None, until: dt.date | None = None) -> Period:
        end = until or utcnow().date()
        span = RANGES.get(str(days), 30) if days is not None else 30
        return cls(end - dt.timedelta(days=span - 1), end, feed or None)


@dataclass
class Health:
    """Whether the last night published, and when."""

    last_published: dt.datetime | None
    last_status: str | None
    late: bool
    failed: bool
    message: str | None

    @property
    def alarm(self) -> bool:
        return self.late or self.failed


@dataclass
class Dashboard:
    """One dashboard: its tables by name (each a chart's data), and the nights it covers."""

    name: str
    period: Period
    health: Health
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    latest_run_id: int | None = None


def health(engine: Engine) -> Health:
    last = store.last_published(engine)
    runs = store.last_runs(engine, 1)
    status = str(runs["status"].iloc[0]) if len(runs) else None
    late = last is None or utcnow() - last > LATE_AFTER
    failed = status is not None and status not in ("succeeded", "running")
    message = None
    if failed:
        message = f"The last night ({runs['as_of'].iloc[0]:%d %B %Y}) did not publish: {str(status).replace('_', ' ')}."
    elif late:
        message = "No night has published in the last 26 hours." if last else "No night has published yet."
    return Health(last, status, late, failed, message)


def _nights(engine: Engine, period: Period) -> pd.DataFrame:
    return store.nights(engine, period.since, period.until)


def completeness(engine: Engine, actor: Actor, period: Period) -> Dashboard:
    """For each feed and field: completeness and validity of the latest night, and their trend."""
    actor.require(Permission.VIEW_QUEUE)
    nights = _nights(engine, period)
    run_ids = [int(r) for r in nights["run_id"]]
    trend = store.completeness(engine, run_ids, period.feed)
    board = Dashboard("completeness", period, health(engine))
    if trend.empty:
        board.tables = {"latest": trend, "trend": trend, "feeds": store.feed_health(engine, run_ids)}
        return board
    latest_night = trend["as_of"].max()
    latest = trend[trend["as_of"] == latest_night].drop(columns=["as_of"]).reset_index(drop=True)
    board.tables = {"latest": latest, "trend": trend, "feeds": store.feed_health(engine, run_ids)}
    board.latest_run_id = int(nights["run_id"].iloc[-1])
    return board


def matching(engine: Engine, actor: Actor, period: Period) -> Dashboard:
    """People by the feeds they appear in, links by how they were made, review band, merges and splits."""
    actor.require(Permission.VIEW_QUEUE)
    nights = _nights(engine, period)
    run_ids = [int(r) for r in nights["run_id"]]
    board = Dashboard("matching", period, health(engine))
    per_night = store.match_counts(engine, run_ids)
    latest = int(nights["run_id"].iloc[-1]) if len(nights) else None
    combinations = store.feed_combinations(engine, latest) if latest else pd.DataFrame(columns=["feeds", "persons"])
    board.tables = {"combinations": combinations, "per_night": per_night}
    board.latest_run_id = latest
    return board


def exceptions(engine: Engine, actor: Actor, period: Period) -> Dashboard:
    """The backlog: open by kind and severity, opened vs closed per night, ageing, by assignee, the
    oldest critical items and cross-agency discrepancies by rule."""
    actor.require(Permission.VIEW_QUEUE)
    nights = _nights(engine, period)
    run_ids = [int(r) for r in nights["run_id"]]
    live = store.open_exceptions(engine, period.feed)
    board = Dashboard("exceptions", period, health(engine))
    by_kind = live.groupby(["kind", "severity"], as_index=False)["open"].sum() if len(live) else live
    by_assignee = (
        live.assign(assignee=live["assignee"].fillna("nobody yet")).groupby("assignee", as_index=False)["open"].sum()
        if len(live)
        else live
    )
    discrepancies = (
        live[live["kind"] == "discrepancy"].groupby("rule", as_index=False)["open"].sum() if len(live) else live
    )
    oldest = store.oldest_critical(engine, 10, period.feed)
    oldest = oldest.assign(reference=oldest["fingerprint"].str[:12]).drop(columns=["fingerprint", "detail"])
    board.tables = {
        "by_kind": by_kind,
        "per_night": store.exceptions_per_night(engine, run_ids, period.feed),
        "ageing": store.ageing(engine, utcnow(), period.feed),
        "by_assignee": by_assignee,
        "oldest_critical": oldest,
        "discrepancies": discrepancies,
    }
    board.latest_run_id = int(nights["run_id"].iloc[-1]) if len(nights) else None
    return board


def nights(engine: Engine, actor: Actor, period: Period) -> Dashboard:
    """The last nights: how long each stage took, gates and counts."""
    actor.require(Permission.VIEW_QUEUE)
    found = _nights(engine, period)
    run_ids = [int(r) for r in found["run_id"]]
    board = Dashboard("runs", period, health(engine))
    board.tables = {
        "runs": store.last_runs(engine, 60),
        "stages": store.run_stages(engine, run_ids),
        "gates": store.feed_health(engine, run_ids),
    }
    board.latest_run_id = run_ids[-1] if run_ids else None
    return board


BOARDS = {"completeness": completeness, "matching": matching, "exceptions": exceptions, "runs": nights}


def csv(engine: Engine, actor: Actor, board: str, table: str, period: Period) -> str:
    """One dashboard table as CSV (figures only; audited as an export)."""
    actor.require(Permission.EXPORT)
    if board not in BOARDS:
        raise NotFound(f"no dashboard {board!r}")
    found = BOARDS[board](engine, actor, period)
    if table not in found.tables:
        raise NotFound(f"the {board} dashboard has no table {table!r}")
    frame = found.tables[table]
    if "detail" in frame.columns:
        raise InvalidInput("that table holds detail text: it is not exported")
    audit.record(engine, actor.audit(AuditAction.EXPORT, "dashboard", f"{board}/{table}", rows=len(frame)))
    return frame.to_csv(index=False)
