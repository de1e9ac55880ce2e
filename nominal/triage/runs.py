"""The last nights, as the runs page and the dashboards show them (everyone signed in may see them:
they hold counts, never personal data)."""

from __future__ import annotations

from sqlalchemy import Engine

from nominal.store import views
from nominal.store.views import RunView

from .actors import Actor
from .roles import Permission


def last_runs(engine: Engine, actor: Actor, limit: int = 30, kind: str | None = None) -> list[RunView]:
    actor.require(Permission.VIEW_QUEUE)
    return views.runs(engine, limit, kind)
