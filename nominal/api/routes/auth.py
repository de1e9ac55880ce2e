"""Signing in and out (``/api/session``) and access tokens for the CLI and API clients (``/api/tokens``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from nominal.api.deps import COOKIE, CurrentActor, State, client_address
from nominal.triage import auth

router = APIRouter(tags=["sign in"])


class Credentials(BaseModel):
    name: str
    password: str


class SessionOut(BaseModel):
    name: str
    display_name: str
    role: str
    csrf_token: str | None
    expires_at: datetime


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


class Me(BaseModel):
    name: str
    display_name: str
    role: str


def set_session_cookie(response: Response, secret: str, secure: bool) -> None:
    response.set_cookie(COOKIE, secret, httponly=True, secure=secure, samesite="strict", path="/")


@router.post("/session", response_model=SessionOut)
def sign_in(credentials: Credentials, request: Request, response: Response, app: State) -> SessionOut:
    """Sign in: the session lives in an HttpOnly cookie; send ``csrf_token`` as ``X-CSRF-Token`` on changes."""
    signed = auth.sign_in(app.engine, credentials.name, credentials.password, client_address(request), app.settings)
    set_session_cookie(response, signed.secret, app.settings.secure_cookies)
    a = signed.actor
    return SessionOut(
        name=a.name,
        display_name=a.display_name,
        role=a.role,
        csrf_token=signed.csrf_token,
        expires_at=signed.expires_at,
    )


@router.delete("/session", status_code=204)
def sign_out(actor: CurrentActor, response: Response, app: State) -> Response:
    auth.sign_out(app.engine, actor)
    response.delete_cookie(COOKIE, path="/")
    response.status_code = 204
    return response


@router.post("/tokens", response_model=TokenOut)
def issue_token(credentials: Credentials, request: Request, app: State) -> TokenOut:
    """An access token (for ``NOMINAL_USER_TOKEN`` or an API client's ``Authorization: Bearer``)."""
    signed = auth.sign_in(
        app.engine, credentials.name, credentials.password, client_address(request), app.settings, kind=auth.TOKEN
    )
    return TokenOut(token=signed.secret, expires_at=signed.expires_at)


@router.get("/me", response_model=Me)
def me(actor: CurrentActor) -> Me:
    return Me(name=actor.name, display_name=actor.display_name, role=actor.role)
