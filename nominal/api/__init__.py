"""The JSON API of the triage service, under ``/api/`` (FastAPI; its OpenAPI page is at ``/api/docs``).

Routes only parse and call ``nominal.triage``; every rule is there. Deny by default: each route
depends on the signed-in actor, whose role the service checks. Refusals come back as JSON
``{"detail": …}`` with the service's status (401, 403, 404, 409, 422, 429).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from nominal.config import Config, TriageConfig
from nominal.triage.errors import TriageError
from nominal.triage.rules import RuleWords

from .deps import AppState
from .routes import admin, auth, exceptions, persons, reviews


def api_router_app(app: FastAPI) -> None:
    """Mount the API's routes and its error handling on ``app``."""
    for module in (auth, exceptions, reviews, persons, admin):
        app.include_router(module.router, prefix="/api")

    @app.exception_handler(TriageError)
    async def refused(request: Request, exc: TriageError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers={"Cache-Control": "no-store"})


def app_state(engine: Engine, config: Config | None) -> AppState:
    settings = config.triage if config is not None else TriageConfig()
    return AppState(engine=engine, config=config, settings=settings, words=RuleWords(config))


def create_app(engine: Engine, config: Config | None = None) -> FastAPI:
    """The API on its own (the web app, ``nominal.web``, mounts the same routes beside its pages)."""
    app = FastAPI(
        title="nominal triage API",
        description="Exceptions, match reviews, persons, decisions, the audit log. Sign in first: POST /api/session.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.nominal = app_state(engine, config)
    api_router_app(app)

    @app.middleware("http")
    async def no_store(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.url.path.startswith("/api/") and not request.url.path.startswith("/api/docs"):
            response.headers.setdefault("Cache-Control", "no-store")  # personal data is never cached
        return response

    return app
