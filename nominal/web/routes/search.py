"""Search (``/search``): by name (fuzzy), date of birth or any identifier. The terms are posted,
never put in a URL; officers see the records, viewers see them masked (the service decides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from nominal.api.deps import State
from nominal.triage import search as service
from nominal.triage.errors import InvalidInput
from nominal.web.deps import Who, render

router = APIRouter(include_in_schema=False)


@router.get("/search")
def search_page(request: Request, who: Who) -> Response:
    return render(request, "search.html", who, title="Search", nav="search", hits=None, asked={})


@router.post("/search")
def search(
    request: Request,
    who: Who,
    app: State,
    name: Annotated[str, Form(max_length=200)] = "",
    date_of_birth: Annotated[str, Form(max_length=10)] = "",
    identifier: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    asked = {"name": name, "date_of_birth": date_of_birth, "identifier": identifier}
    try:
        hits = service.search(
            app.engine, who.actor, name=name or None, date_of_birth=date_of_birth or None, identifier=identifier or None
        )
    except InvalidInput as exc:
        return render(
            request,
            "search.html",
            who,
            status=422,
            errors=[str(exc).capitalize()],
            title="Search",
            nav="search",
            hits=None,
            asked=asked,
        )
    return render(request, "search.html", who, title="Search results", nav="search", hits=hits, asked=asked)
