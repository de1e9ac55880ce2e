"""A person (``/persons/{person_id}``): the golden record with each value's lineage and the values an
officer accepted, the linked records, a graph of the records with the scores between them, the
person's exceptions and discrepancies, merge and split history; unlink a record (a do-not-link)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from nominal.api.deps import AppState, State
from nominal.triage import persons as service
from nominal.triage.errors import InvalidInput, NotAllowedNow, NotFound
from nominal.vocab import ExceptionKind
from nominal.web import charts
from nominal.web.deps import Who, redirect, render

from .queue import item_url

router = APIRouter(include_in_schema=False)


def person_page(
    request: Request, who: Who, app: AppState, person_id: str, errors: list[str] | None = None, status: int = 200
) -> Response:
    p = service.show(app.engine, who.actor, person_id)
    keys = [f"{r['feed']}:{r['source_key']}" for r in p.records]
    drawing = charts.graph(p.person_id, keys, p.edges)
    discrepancies = [e for e in p.exceptions if e.kind == ExceptionKind.DISCREPANCY]
    others = [e for e in p.exceptions if e.kind != ExceptionKind.DISCREPANCY]
    return render(
        request,
        "person.html",
        who,
        status=status,
        errors=errors,
        title=f"Person {p.person_id}",
        nav="search",
        p=p,
        golden=[g for g in p.golden if g.value not in (None, "")],
        graph=drawing,
        exceptions=[(e, item_url(e)) for e in others],
        discrepancies=[(e, item_url(e)) for e in discrepancies],
    )


@router.get("/persons/{person_id}")
def show(person_id: str, request: Request, who: Who, app: State) -> Response:
    return person_page(request, who, app, person_id)


@router.post("/persons/{person_id}/unlink")
def unlink(
    person_id: str,
    request: Request,
    who: Who,
    app: State,
    record: Annotated[str, Form(max_length=256)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """``record`` is "feed:key" of one of the person's records (in the form's body, never in a URL)."""
    feed, _, source_key = record.partition(":")
    if not (feed and source_key):
        return person_page(request, who, app, person_id, ["Choose the record to unlink"], 422)
    try:
        service.unlink(app.engine, who.actor, person_id, feed, source_key, reason)
    except (InvalidInput, NotAllowedNow, NotFound) as exc:
        return person_page(request, who, app, person_id, [str(exc).capitalize()], exc.status_code)
    return redirect(f"/persons/{person_id}", done="unlink")


@router.post("/persons/{person_id}/comment")
def comment(
    person_id: str, request: Request, who: Who, app: State, text: Annotated[str, Form(max_length=4000)] = ""
) -> Response:
    try:
        service.comment(app.engine, who.actor, person_id, text)
    except InvalidInput as exc:
        return person_page(request, who, app, person_id, [str(exc).capitalize()], exc.status_code)
    return redirect(f"/persons/{person_id}", done="comment")
