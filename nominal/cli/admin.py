"""Looking after nominal itself: ``db upgrade`` the store, ``config show`` and ``config check``."""

from __future__ import annotations

from pathlib import Path

import typer

from nominal.config import default_config_path
from nominal.errors import NominalError
from nominal.logs import console
from nominal.store import db as store_db

from .common import ConfigOpt, DbOpt, fail, load

db_app = typer.Typer(help="The published store.", no_args_is_help=True)
config_app = typer.Typer(help="The configuration.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Create or migrate the store's tables to the latest schema."""
    url = db or load(config).db_url
    try:
        store_db.upgrade(url)
    except NominalError as exc:
        fail(exc)
    console.print(f"store at {store_db.mask_url(url)} is up to date", highlight=False)


@config_app.command("show")
def config_show(config: ConfigOpt = None) -> None:
    """Print the configuration file in use (copy it to ./nominal.yaml to change it)."""
    path = config or default_config_path()
    load(path)
    typer.echo(Path(path).read_text(encoding="utf-8"), nl=False)


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate the configuration, its mapping files and connector options."""
    cfg = load(config)
    console.print(f"{cfg.source}: OK, feeds {', '.join(f.name for f in cfg.feeds)}", highlight=False)
