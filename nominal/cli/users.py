"""``users``: add, disable, enable, change the role or password of a user; list them; an access token.

The first user of a store is added without signing in, and must be an admin; after that an admin
signs in (``--user NAME``, password asked, or ``NOMINAL_USER_TOKEN``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nominal.logs import console
from nominal.store import users as user_store
from nominal.triage import auth, users
from nominal.triage.auth import TOKEN
from nominal.vocab import Role

from .common import ConfigOpt, DbOpt, load, open_store
from .signin import UserOpt, ask_password, refusals, signed_in, working

app = typer.Typer(help="Who may sign in to triage, and as what.", no_args_is_help=True)

RoleOpt = Annotated[Role, typer.Option("--role", help="viewer, officer, supervisor or admin")]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the sign-in name, e.g. j.smith")],
    role: RoleOpt,
    display_name: Annotated[str, typer.Option("--display-name", help="the name shown, e.g. 'Jo Smith'")] = "",
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a user (asks for their password). The store's first user must be an admin."""
    cfg = load(config)
    engine = open_store(cfg, db)
    with refusals():
        if user_store.count_users(engine) == 0 and user is None:
            password = ask_password(f"password for {name}", confirm=True)
            added = users.add_user(engine, None, name, display_name or name, role, password)
        else:
            with signed_in(engine, cfg, user) as actor:
                password = ask_password(f"password for {name}", confirm=True)
                added = users.add_user(engine, actor, name, display_name or name, role, password)
    console.print(f"user {added.name} added as {added.role}", highlight=False)


@app.command("disable")
def disable(name: str, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Disable a user: they can no longer sign in, and their sessions end at once."""
    with working(config, db, user) as (cfg, engine, actor):
        users.disable(engine, actor, name)
    console.print(f"user {name} disabled", highlight=False)


@app.command("enable")
def enable(name: str, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Let a disabled user sign in again."""
    with working(config, db, user) as (cfg, engine, actor):
        users.enable(engine, actor, name)
    console.print(f"user {name} enabled", highlight=False)


@app.command("role")
def role(name: str, new_role: RoleOpt, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Change a user's role."""
    with working(config, db, user) as (cfg, engine, actor):
        changed = users.set_role(engine, actor, name, new_role)
    console.print(f"user {changed.name} is now {changed.role}", highlight=False)


@app.command("password")
def password(name: str, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Set a user's password (an admin, or the user themself); their sessions end."""
    with working(config, db, user) as (cfg, engine, actor):
        users.set_password(engine, actor, name, ask_password(f"new password for {name}", confirm=True))
    console.print(f"password of {name} changed", highlight=False)


@app.command("list")
def list_users(user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """The users, their roles and when they last signed in."""
    with working(config, db, user) as (cfg, engine, actor):
        found = users.list_users(engine, actor)
    table = Table(title="users")
    for column in ("name", "display name", "role", "active", "can sign in", "last sign-in"):
        table.add_column(column)
    for u in found:
        last = f"{u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else ""
        active, can = "yes" if u.active else "no", "yes" if u.can_sign_in else "no"
        table.add_row(u.name, u.display_name, u.role, active, can, last)
    console.print(table)


@app.command("token")
def token(
    user: Annotated[str, typer.Option("--user", help="your sign-in name")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """An access token for NOMINAL_USER_TOKEN (printed once; it lasts triage.token_days)."""
    cfg = load(config)
    engine = open_store(cfg, db)
    with refusals():
        signed = auth.sign_in(engine, user, ask_password(f"password for {user}"), "cli", cfg.triage, kind=TOKEN)
    console.print(f"token for {signed.actor.name}, until {signed.expires_at:%Y-%m-%d %H:%M} UTC:", highlight=False)
    typer.echo(signed.secret)
