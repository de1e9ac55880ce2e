"""Reads of the store for the stages, the CLI and the web app (writes are in ``store.writes``).

Functions return plain values or detached model objects loaded in full, so callers never hold
a session open.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, func, select

from nominal.clock import utcnow
from nominal.store import bulk
from nominal.store.db import session_scope
from nominal.store.models import Decision, Delivery, ExceptionRecord, Person, PersonEvent, PersonLink, Run, SourceRecord
from nominal.tables import ACCEPTED_VALUES, DISMISSALS, EXCEPTIONS, LINKS, PUBLISHED_PERSONS, PublishedState

LOADED = ("loaded", "redelivered")  # delivery statuses whose rows went on to be mapped


def last_runs(engine: Engine, limit: int = 10) -> list[Run]:
    """The most recently started runs, newest first."""
    with session_scope(engine) as session:
        return list(session.scalars(select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)))


def recent_delivery_rows(engine: Engine, feed: str, before: date, limit: int = 7) -> list[int]:
    """Row counts of the feed's last ``limit`` nights loaded before ``before``, newest first.

    Validation compares tonight's row count with these. One count per as-of date: the latest
    delivery that was loaded for it (``loaded``, or ``redelivered`` when the source sent a new
    extract for a night already loaded). Rejected extracts and repeats of an extract already
    loaded say nothing about the feed's size and are left out.
    """
    latest = (
        select(func.max(Delivery.id))
        .where(Delivery.feed == feed, Delivery.status.in_(LOADED), Delivery.as_of < before)
        .group_by(Delivery.as_of)
    )
    query = select(Delivery.rows).where(Delivery.id.in_(latest)).order_by(Delivery.as_of.desc()).limit(limit)
    with session_scope(engine) as session:
        return list(session.scalars(query))


def last_delivery_columns(engine: Engine, feed: str, before: date) -> list[str] | None:
    """The source columns of the feed's last loaded delivery before ``before`` (None if none recorded)."""
    query = (
        select(Delivery.columns)
        .where(
            Delivery.feed == feed, Delivery.status.in_(LOADED), Delivery.as_of < before, Delivery.columns.is_not(None)
        )
        .order_by(Delivery.as_of.desc(), Delivery.id.desc())
        .limit(1)
    )
    with session_scope(engine) as session:
        return session.scalars(query).first()


def current_links(engine: Engine) -> pd.DataFrame:
    """Every current source record's person: feed, source_key, person_id (matching keeps ids stable with it)."""
    return _frame(engine, select(PersonLink.feed, PersonLink.source_key, PersonLink.person_id))


def _frame(engine: Engine, query: Select[*tuple[Any, ...]], types: dict[str, str] | None = None) -> pd.DataFrame:
    with engine.connect() as connection:
        return bulk.read(connection, query, types)


def highest_person_number(engine: Engine) -> int:
    """The largest person id number ever issued (ids are never reused, even once retired)."""
    with session_scope(engine) as session:
        ids = [
            session.scalar(select(func.max(Person.person_id))),
            session.scalar(select(func.max(PersonEvent.new_person_id))),
        ]
    numbers = [int(i[1:]) for i in ids if isinstance(i, str) and i[1:].isdigit()]
    return max(numbers, default=0)


def active_decisions(engine: Engine) -> pd.DataFrame:
    """Officers' decisions still in force, oldest first (a later one about the same pair wins)."""
    columns = [
        "kind",
        "feed_a",
        "source_key_a",
        "feed_b",
        "source_key_b",
        "exception_fingerprint",
        "field",
        "value",
        "decided_by_id",
        "decided_at",
    ]
    with session_scope(engine) as session:
        rows = session.execute(
            select(*(getattr(Decision, c) for c in columns))
            .where(Decision.active.is_(True))
            .order_by(Decision.decided_at, Decision.id)
        ).all()
    return pd.DataFrame(rows, columns=columns)


def published_state(engine: Engine) -> PublishedState:
    """What a night's publication is computed against: the store as last published."""
    return PublishedState(
        persons=published_persons(engine),
        links=published_links(engine),
        exceptions=exceptions_for_merge(engine),
        dismissed=dismiss_decisions(engine),
        accepted=value_decisions(engine),
        rules=published_rules(engine),
        source_records=source_record_count(engine),
    )


def source_record_count(engine: Engine) -> int:
    """How many source records the store keeps (fewer than links: a store upgraded from before 0006)."""
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(SourceRecord)) or 0)


def published_persons(engine: Engine) -> pd.DataFrame:
    """Every person in the store with status and content hash (publish writes only what changed)."""
    return _frame(engine, select(*(getattr(Person, c) for c in PUBLISHED_PERSONS.columns)))


def published_links(engine: Engine) -> pd.DataFrame:
    """Every current link with how it was made (publish rewrites only the links that changed)."""
    return _frame(
        engine,
        select(*(getattr(PersonLink, c) for c in LINKS.columns)),
        {"match_probability": "float", "record_hash": "int"},
    )


def published_rules(engine: Engine) -> str | None:
    """The publish rules' fingerprint of the last published night (None before the first)."""
    query = (
        select(Run.counts)
        .where(Run.kind == "sync", Run.status == "succeeded")
        .order_by(Run.finished_at.desc(), Run.id.desc())
        .limit(1)
    )
    with session_scope(engine) as session:
        counts = session.scalars(query).first() or {}
    publish: dict[str, Any] = counts.get("publish", {})
    rules: str | None = publish.get("rules")
    return rules


def value_decisions(engine: Engine) -> pd.DataFrame:
    """Officers' active decisions to publish a record's value for a field, oldest first: feed,
    source_key, field, value (the value they accepted as text, or empty for whatever it holds)."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Decision.feed_a, Decision.source_key_a, Decision.field, Decision.value)
            .where(Decision.active.is_(True), Decision.kind == "accept_value", Decision.field.is_not(None))
            .order_by(Decision.decided_at, Decision.id)
        ).all()
    return pd.DataFrame(rows, columns=list(ACCEPTED_VALUES.columns))


def exceptions_for_merge(engine: Engine) -> pd.DataFrame:
    """The exceptions a night can change: all of them but those resolved more than a year ago."""
    since = utcnow().replace(year=utcnow().year - 1)
    query = select(*(getattr(ExceptionRecord, c) for c in EXCEPTIONS.columns)).where(
        (ExceptionRecord.status != "resolved") | (ExceptionRecord.resolved_at >= since)
    )
    types = {
        "row": "int",
        "first_seen_run_id": "int",
        "last_seen_run_id": "int",
        "version": "int",
        "first_seen_at": "datetime",
        "last_seen_at": "datetime",
        "resolved_at": "datetime",
    }
    return _frame(engine, query, types)


def dismiss_decisions(engine: Engine) -> pd.DataFrame:
    """Officers' active decisions to dismiss an exception (value: the data hash they saw, or empty)."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Decision.exception_fingerprint, Decision.value)
            .where(Decision.active.is_(True), Decision.kind == "dismiss", Decision.exception_fingerprint.is_not(None))
            .order_by(Decision.decided_at, Decision.id)
        ).all()
    return pd.DataFrame(rows, columns=list(DISMISSALS.columns)).fillna({"value": ""})
