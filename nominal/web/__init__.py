"""The data officers' web app: server-rendered pages (FastAPI + Jinja2) beside the JSON API, in one app.

Pages only call the triage service (``nominal.triage``) and render what it returns; every rule —
who may see or do what, the workflow, masking, the audit log — is the service's. Deny by default:
every page depends on the signed-in user (``deps.Who``) and a refusal of the service becomes a page
saying why (or the sign-in page). Every form carries the session's CSRF token, checked by the API's
dependency; every response carries a Content-Security-Policy with no inline script or style.

- ``routes/``     one router per area: sign in, queue, exceptions, reviews, persons, search, audit, runs
- ``templates/``  Jinja2 (autoescaped), GOV.UK Design System patterns
- ``static/``     nominal.css, app.js and the vendored govuk-frontend CSS (its version and licence beside it)
- ``charts.py``   the review's waterfall and the person's graph, drawn as SVG on the server
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from nominal.api import api_router_app, app_state
from nominal.config import Config

from . import errors
from .routes import audit, auth, exceptions, persons, queue, reviews, runs, search

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(engine: Engine, config: Config | None = None) -> FastAPI:
    """The web app and the JSON API (under ``/api/``) over one store."""
    app = FastAPI(
        title="nominal triage",
        description="Exceptions, match reviews, persons, decisions, the audit log. Sign in first: POST /api/session.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.nominal = app_state(engine, config)
    api_router_app(app)
    for module in (auth, queue, exceptions, reviews, persons, search, audit, runs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        path = request.url.path
        if not path.startswith("/static/") and not path.startswith("/api/docs"):
            response.headers.setdefault("Cache-Control", "no-store")  # personal data is never cached
        return response

    return app
