"""What every route depends on: the store, the settings, and who is asking.

A request is signed in by the session cookie (the web app) or by ``Authorization: Bearer <token>``
(the CLI, an API client). A state-changing request signed in by cookie must also carry the session's
CSRF token (header ``X-CSRF-Token``, or the form field ``csrf_token``): a page of another site cannot
post in the officer's name. Deny by default: every route asks for an actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from nominal.config import Config, TriageConfig
from nominal.triage import auth
from nominal.triage.actors import Actor
from nominal.triage.errors import Forbidden, NotSignedIn
from nominal.triage.rules import RuleWords

COOKIE = "nominal_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class AppState:
    """What the app holds for its life: the store, the configuration, the rules' words."""

    engine: Engine
    config: Config | None
    settings: TriageConfig
    words: RuleWords


def state(request: Request) -> AppState:
    found: AppState = request.app.state.nominal
    return found


State = Annotated[AppState, Depends(state)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _secret(request: Request) -> tuple[str | None, bool]:
    """(the presented secret, whether it came in the cookie)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return request.cookies.get(COOKIE), True


async def signed_in(request: Request, app: State) -> auth.Authenticated:
    secret, from_cookie = _secret(request)
    who = auth.authenticate(app.engine, secret, client_address(request), app.settings)
    if from_cookie and request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            given = str((await request.form()).get("csrf_token") or "") or None
        if not auth.csrf_matches(who.csrf_token, given):
            raise Forbidden("the form's security token is missing or out of date: reload the page and try again")
    request.state.actor = who.actor
    return who


def actor(who: Annotated[auth.Authenticated, Depends(signed_in)]) -> Actor:
    return who.actor


def maybe_actor(request: Request, app: State) -> Actor | None:
    """The signed-in actor, or None (for pages that show a sign-in link instead)."""
    secret, _ = _secret(request)
    try:
        return auth.authenticate(app.engine, secret, client_address(request), app.settings).actor
    except NotSignedIn:
        return None


CurrentActor = Annotated[Actor, Depends(actor)]
