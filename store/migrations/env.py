"""Alembic environment for the store, driven by ``store.db`` (no alembic.ini).

``store.db.upgrade`` passes an open connection in ``config.attributes["connection"]`` so that the
migration runs on the store's own engine (SQLite pragmas included) inside its transaction; other
commands (``revision --autogenerate``, offline ``--sql``) get only ``config.attributes["url"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypedDict

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, MetaData

from nominal.store.db import engine_for
from nominal.store.models import Base, UTCDateTime

config = context.config


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Autogenerate would write ``store.models.UTCDateTime()`` into a revision, tying it to code
    # that may change; a revision describes the column as the database holds it.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


class Options(TypedDict):
    """What both the offline and the online runs configure (keyword arguments of ``context.configure``)."""

    target_metadata: MetaData
    compare_type: bool
    render_item: Callable[[str, Any, AutogenContext], str | Literal[False]]
    render_as_batch: bool


OPTIONS: Options = {
    "target_metadata": Base.metadata,
    "compare_type": True,
    "render_item": render_item,
    # SQLite alters most things by rebuilding the table; batch operations do that there and
    # plain ALTERs on PostgreSQL, so one revision serves both.
    "render_as_batch": True,
}


def run_offline() -> None:
    context.configure(url=config.attributes["url"], literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (connection := config.attributes.get("connection")) is not None:
    run_on(connection)
else:
    with engine_for(config.attributes["url"]).connect() as connection:
        run_on(connection)
        connection.commit()
