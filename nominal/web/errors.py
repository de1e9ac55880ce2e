"""Refusals as pages: the service's errors (``TriageError``) become the sign-in page (401) or a page
saying what was refused and why; under ``/api/`` they stay JSON, as the API answers them."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from nominal.api.deps import COOKIE, state
from nominal.triage import auth
from nominal.triage.errors import NotSignedIn, TriageError

from .deps import render

TITLES = {
    400: "The request could not be used",
    403: "You cannot do that",
    404: "Page not found",
    409: "It has changed",
    422: "Something is missing",
    429: "Too many attempts",
}


def _api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else the queue (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"


def sign_in_again(request: Request) -> RedirectResponse:
    """To the sign-in page, and back here after (a GET's own path: it holds no personal data)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    ended = "&ended=1" if request.cookies.get(COOKIE) else ""
    target = back if request.method == "GET" else "/queue"
    response = RedirectResponse(f"/sign-in?next={quote(local_path(target), safe='')}{ended}", status_code=303)
    clear_session(response, state(request).settings.secure_cookies)
    return response


def clear_session(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")


def _who(request: Request) -> auth.Authenticated | None:
    """Who is asking, for the error page's header (None when nobody is signed in)."""
    actor = getattr(request.state, "actor", None)
    if actor is None:
        return None
    app = state(request)
    try:
        return auth.authenticate(app.engine, request.cookies.get(COOKIE), None, app.settings)
    except TriageError:
        return None


def error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request, "error.html", _who(request), status=status, title=TITLES.get(status, "Sorry"), message=message
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(TriageError)
    async def refused(request: Request, exc: TriageError) -> Response:
        if _api(request):
            return JSONResponse(
                {"detail": str(exc)}, status_code=exc.status_code, headers={"Cache-Control": "no-store"}
            )
        if isinstance(exc, NotSignedIn):
            return sign_in_again(request)
        return error_page(request, exc.status_code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _api(request):
            return await request_validation_exception_handler(request, exc)
        return error_page(request, 422, "The form was missing something it needs: go back, fill it in and try again.")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _api(request) or request.url.path.startswith("/static/"):
            return await http_exception_handler(request, exc)
        if exc.status_code == 404:
            return error_page(request, 404, "If you typed the web address, check it is correct.")
        return error_page(request, exc.status_code, str(exc.detail))
