"""What every command shares: options, exit codes, loading the configuration, opening the store.

The commands import the stages and the flow inside their bodies, not here or at the top of their
modules: ``import nominal.flows.nightly`` takes about 2.3 s (Prefect) and validation's GX about 5 s,
while ``nominal status`` or ``nominal config check`` need neither and start in well under a second.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from nominal.config import Config
from nominal.errors import ConfigError, NominalError
from nominal.flows.configuration import load_config
from nominal.logs import console
from nominal.store import db as store_db

# Exit codes (README): 0 success, 1 the data failed (a feed refused, a gate failed), 2 usage or configuration.
EXIT_DATA, EXIT_USAGE = 1, 2

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="config file (default ./nominal.yaml, else the shipped one)")
]
LandingOpt = Annotated[Path | None, typer.Option("--landing", help="landing folder (overrides the config)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="store URL (overrides config and NOMINAL_DB_URL)")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="more detail in the log")]
AsOfOpt = Annotated[str, typer.Option("--as-of", help="the night to load, YYYY-MM-DD")]


def as_of(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def load(config_path: Path | None) -> Config:
    """The configuration, checked against the stages; a mistake ends the command with exit 2."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red]: {exc}", highlight=False, markup=True)
        raise typer.Exit(EXIT_USAGE) from None


def db_url(config: Config, db: str | None) -> str:
    return db or config.db_url


def fail(exc: Exception, code: int = EXIT_DATA) -> NoReturn:
    """End the command with nominal's one clear line (the error's text is masked where it is made)."""
    console.print(f"[red]error[/red]: {exc}", highlight=False)
    raise typer.Exit(code)


def open_store(config: Config, db: str | None) -> Engine:
    try:
        return store_db.ensure_schema(db_url(config, db))
    except NominalError as exc:
        fail(exc)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
