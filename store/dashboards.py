"""What the dashboards read: each night's figures from the typed per-night tables and the live state
of the exceptions, as frames (a chart draws one; its table shows it; a CSV downloads it).

A night is counted once: its latest successful ``sync`` run (a night re-run, or validated again by
``nominal validate``, is not counted twice).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Engine, and_, case, func, select

from nominal.store.db import session_scope
from nominal.store.models import (
    ExceptionRecord,
    NightExceptionCount,
    NightFeedCombination,
    NightMatchCount,
    QualityMetric,
    Run,
    RunStage,
    User,
)
from nominal.vocab import OPEN_STATUSES, RunKind, RunStatus


def nights(engine: Engine, since: date | None = None, until: date | None = None) -> pd.DataFrame:
    """One row per published night: as_of, run_id (its latest successful sync), started, finished."""
    latest = (
        select(func.max(Run.id)).where(Run.kind == RunKind.SYNC, Run.status == RunStatus.SUCCEEDED).group_by(Run.as_of)
    )
    query = select(Run.as_of, Run.id.label("run_id"), Run.started_at, Run.finished_at).where(Run.id.in_(latest))
    if since is not None:
        query = query.where(Run.as_of >= since)
    if until is not None:
        query = query.where(Run.as_of <= until)
    return _frame(engine, query.order_by(Run.as_of))


def _frame(engine: Engine, query: object) -> pd.DataFrame:
    with session_scope(engine) as session:
        result = session.execute(query)  # type: ignore[call-overload]
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def completeness(engine: Engine, run_ids: list[int], feed: str | None = None) -> pd.DataFrame:
    """Completeness and validity per night, feed and field: as_of, feed, field, completeness, validity, rows_checked."""
    if not run_ids:
        return pd.DataFrame(columns=["as_of", "feed", "field", "completeness", "validity", "rows_checked"])
    q = QualityMetric
    query = (
        select(
            Run.as_of,
            q.feed,
            q.field,
            q.completeness_rate.label("completeness"),
            q.validity_rate.label("validity"),
            q.rows_checked,
        )
        .join(Run, Run.id == q.run_id)
        .where(q.run_id.in_(run_ids), q.field.is_not(None))
    )
    if feed:
        query = query.where(q.feed == feed)
    return _frame(engine, query.order_by(Run.as_of, q.feed, q.field))


def feed_health(engine: Engine, run_ids: list[int]) -> pd.DataFrame:
    """Per night and feed: rows, error rate, gate passed."""
    q = QualityMetric
    query = (
        select(Run.as_of, q.run_id, q.feed, q.rows, q.error_rate, q.gate_passed)
        .join(Run, Run.id == q.run_id)
        .where(q.run_id.in_(run_ids), q.field.is_(None))
        .order_by(Run.as_of, q.feed)
    )
    return _frame(engine, query)


def match_counts(engine: Engine, run_ids: list[int]) -> pd.DataFrame:
    m = NightMatchCount
    query = select(Run.as_of, m).join(Run, Run.id == m.run_id).where(m.run_id.in_(run_ids)).order_by(Run.as_of)
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    columns = [c.name for c in NightMatchCount.__table__.columns]
    return pd.DataFrame(
        [{"as_of": as_of, **{c: getattr(row, c) for c in columns}} for as_of, row in rows],
        columns=["as_of", *columns],
    )


def feed_combinations(engine: Engine, run_id: int) -> pd.DataFrame:
    n = NightFeedCombination
    return _frame(engine, select(n.feeds, n.persons).where(n.run_id == run_id).order_by(n.persons.desc(), n.feeds))


def exceptions_per_night(engine: Engine, run_ids: list[int], feed: str | None = None) -> pd.DataFrame:
    """Per night: exceptions opened and closed, and open ones left, by kind."""
    n = NightExceptionCount
    live = n.status.in_(list(OPEN_STATUSES))
    query = (
        select(
            Run.as_of,
            n.kind,
            func.sum(n.opened).label("opened"),
            func.sum(n.closed).label("closed"),
            func.sum(case((live, n.count), else_=0)).label("open"),
        )
        .join(Run, Run.id == n.run_id)
        .where(n.run_id.in_(run_ids))
        .group_by(Run.as_of, n.kind)
        .order_by(Run.as_of, n.kind)
    )
    if feed:
        query = query.where(n.feed == feed)
    return _frame(engine, query)


def open_exceptions(engine: Engine, feed: str | None = None) -> pd.DataFrame:
    """The live exceptions by kind, severity, rule and assignee, with when each was first seen (for ageing)."""
    e = ExceptionRecord
    query = (
        select(
            e.kind,
            e.severity,
            e.rule,
            e.feed,
            User.display_name.label("assignee"),
            func.min(e.first_seen_at).label("oldest"),
            func.count().label("open"),
        )
        .outerjoin(User, User.id == e.assignee_id)
        .where(e.status.in_(list(OPEN_STATUSES)))
        .group_by(e.kind, e.severity, e.rule, e.feed, User.display_name)
    )
    if feed:
        query = query.where(e.feed == feed)
    return _frame(engine, query)


def ageing(engine: Engine, now: datetime, feed: str | None = None) -> pd.DataFrame:
    """Live exceptions by age band of the night they were first seen: 0–7, 8–30, 31–90, 90+ days."""
    e = ExceptionRecord
    query = select(e.kind, e.severity, e.first_seen_at).where(e.status.in_(list(OPEN_STATUSES)))
    if feed:
        query = query.where(e.feed == feed)
    frame = _frame(engine, query)  # the ages are worked out here: date arithmetic differs between the backends
    days = (pd.Timestamp(now) - pd.to_datetime(frame["first_seen_at"], utc=True)).dt.days
    frame["band"] = pd.cut(days, [-1, 7, 30, 90, 10**6], labels=["0–7 days", "8–30 days", "31–90 days", "90+ days"])
    return frame.groupby(["band", "kind"], observed=False).size().reset_index(name="open")


def oldest_critical(engine: Engine, limit: int = 10, feed: str | None = None) -> pd.DataFrame:
    e = ExceptionRecord
    query = (
        select(e.id, e.fingerprint, e.kind, e.rule, e.feed, e.person_id, e.first_seen_at, e.status, e.detail)
        .where(e.status.in_(list(OPEN_STATUSES)), e.severity == "critical")
        .order_by(e.first_seen_at, e.id)
        .limit(limit)
    )
    if feed:
        query = query.where(e.feed == feed)
    return _frame(engine, query)


def run_stages(engine: Engine, run_ids: list[int]) -> pd.DataFrame:
    s = RunStage
    query = (
        select(Run.as_of, s.run_id, s.stage, s.seconds)
        .join(Run, Run.id == s.run_id)
        .where(s.run_id.in_(run_ids))
        .order_by(Run.as_of, s.stage)
    )
    return _frame(engine, query)


def last_runs(engine: Engine, limit: int = 30) -> pd.DataFrame:
    query = (
        select(Run.id.label("run_id"), Run.kind, Run.as_of, Run.status, Run.started_at, Run.finished_at, Run.message)
        .where(Run.kind == RunKind.SYNC)
        .order_by(Run.started_at.desc(), Run.id.desc())
        .limit(limit)
    )
    return _frame(engine, query)


def last_published(engine: Engine) -> datetime | None:
    """When a night last published (the end of the latest successful sync)."""
    with session_scope(engine) as session:
        return session.scalar(
            select(func.max(Run.finished_at)).where(and_(Run.kind == RunKind.SYNC, Run.status == RunStatus.SUCCEEDED))
        )
