"""Signing in and out (``/sign-in``, ``/sign-out``).

The sign-in form has no session yet, so its CSRF token is a double-submit one: a random value in
a short-lived cookie and in the form, which must agree. After sign-in the session's own token is
in every form.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from nominal.api.deps import State, client_address
from nominal.api.routes.auth import set_session_cookie
from nominal.triage import auth
from nominal.triage.errors import NotSignedIn, TooManyAttempts
from nominal.web.deps import Who, redirect, render
from nominal.web.errors import clear_session, local_path

router = APIRouter(include_in_schema=False)
SIGN_IN_COOKIE = "nominal_sign_in"


@router.get("/")
def home(who: Who) -> RedirectResponse:
    return redirect("/queue")


def _form(
    request: Request, app: State, *, errors: list[str] | None = None, name: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    ended = request.query_params.get("ended") == "1" and not errors
    response = render(
        request,
        "sign_in.html",
        status=status,
        title="Sign in",
        errors=errors,
        sign_in_token=token,
        name=name,
        next=local_path(request.query_params.get("next")),
        ended=ended,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=app.settings.secure_cookies,
        samesite="strict",
        path="/sign-in",
    )
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, app: State) -> Response:
    return _form(request, app)


@router.post("/sign-in")
def sign_in(
    request: Request,
    app: State,
    name: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    if not auth.csrf_matches(request.cookies.get(SIGN_IN_COOKIE), csrf_token):
        return _form(request, app, errors=["The page had expired: try signing in again."], name=name, status=400)
    missing = [m for m, v in (("Enter your user name", name), ("Enter your password", password)) if not v.strip()]
    if missing:
        return _form(request, app, errors=missing, name=name, status=422)
    try:
        signed = auth.sign_in(app.engine, name, password, client_address(request), app.settings)
    except TooManyAttempts as exc:
        return _form(request, app, errors=[str(exc).capitalize()], name=name, status=429)
    except NotSignedIn as exc:
        return _form(request, app, errors=[str(exc).capitalize()], name=name, status=401)
    response = RedirectResponse(local_path(next), status_code=303)
    set_session_cookie(response, signed.secret, app.settings.secure_cookies)
    response.delete_cookie(
        SIGN_IN_COOKIE, path="/sign-in", secure=app.settings.secure_cookies, httponly=True, samesite="strict"
    )
    return response


@router.post("/sign-out")
def sign_out(who: Who, app: State) -> Response:
    auth.sign_out(app.engine, who.actor)
    response = redirect("/sign-in", done="signed_out")
    clear_session(response, app.settings.secure_cookies)
    return response
