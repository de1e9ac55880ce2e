"""Who runs an officer's command: ``--user NAME`` (the password is asked for, never an option) or
the access token in ``NOMINAL_USER_TOKEN``. The service's refusals end the command with one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from nominal.config import Config
from nominal.logs import console
from nominal.triage import auth
from nominal.triage.actors import Actor
from nominal.triage.errors import NotSignedIn, TriageError

from .common import EXIT_DATA, EXIT_USAGE, load, open_store

TOKEN_ENV = "NOMINAL_USER_TOKEN"
ADDRESS = "cli"  # what the audit log records as where a command came from

UserOpt = Annotated[
    str | None, typer.Option("--user", help=f"your sign-in name (the password is asked); or set {TOKEN_ENV}")
]


def ask_password(prompt: str, confirm: bool = False) -> str:
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


@contextmanager
def signed_in(engine: Engine, config: Config, user: str | None) -> Iterator[Actor]:
    """The actor for a command: signed in by password for the command's length, or by token."""
    if user is None:
        token = os.environ.get(TOKEN_ENV)
        if not token:
            raise NotSignedIn(f"say who you are: --user NAME, or set {TOKEN_ENV} (nominal users token --user NAME)")
        yield auth.authenticate(engine, token, ADDRESS, config.triage).actor
        return
    signed = auth.sign_in(engine, user, ask_password(f"password for {user}"), ADDRESS, config.triage)
    try:
        yield signed.actor
    finally:
        auth.sign_out(engine, signed.actor)


@contextmanager
def working(config_path: Path | None, db: str | None, user: str | None) -> Iterator[tuple[Config, Engine, Actor]]:
    """What an officer's command works with: the configuration, the store and who is acting; the
    service's refusals end the command with one line."""
    config = load(config_path)
    engine = open_store(config, db)
    with refusals(), signed_in(engine, config, user) as actor:
        yield config, engine, actor


@contextmanager
def refusals() -> Iterator[None]:
    """A refusal of the service (not signed in, not allowed, not found, changed meanwhile …) as one line."""
    try:
        yield
    except TriageError as exc:
        console.print(f"[red]refused[/red]: {exc}", highlight=False)
        code = EXIT_USAGE if exc.status_code in (401, 403, 422) else EXIT_DATA
        raise typer.Exit(code) from None
