"""Reads of the store for the stages, the CLI and the web app (writes are in ``store.writes``).

Functions return plain values or detached model objects loaded in full, so callers never hold
a session open.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, func, select

from store.db import session_scope
from store.models import Delivery, Run

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
        .where(Delivery.feed == feed, Delivery.status.in_(LOADED), Delivery.as_of < before, Delivery.columns.is_not(None))
        .order_by(Delivery.as_of.desc(), Delivery.id.desc())
        .limit(1)
    )
    with session_scope(engine) as session:
        return session.scalars(query).first()
