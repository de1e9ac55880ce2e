"""One exception (``/exceptions/{id}``): its record(s), the rule in words, the value as sent (masked
for viewers), its history across nights and hands, comments, and the actions the user's role allows
now (the service says which)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from nominal.api.deps import AppState, State
from nominal.triage import exceptions as service
from nominal.triage.errors import InvalidInput, NotAllowedNow, StaleVersion
from nominal.vocab import ExceptionKind
from nominal.web.deps import Who, redirect, render

router = APIRouter(include_in_schema=False)
NOTE_LABELS = {
    "resolve": "How was it resolved?",
    "dismiss": "Why is it not a problem?",
    "reopen": "Why reopen it?",
}
RETRY = (InvalidInput, NotAllowedNow, StaleVersion)  # shown on the page, which is read again


def exception_page(
    request: Request, who: Who, app: AppState, exception_id: int, errors: list[str] | None = None, status: int = 200
) -> Response:
    detail = service.show(app.engine, who.actor, exception_id, app.words)
    e = detail.item
    field = e.field
    records = []
    for record in detail.records:
        raw = record.get("raw") or {}
        as_sent = raw.get(f"{field}_raw") if field else None
        records.append({"record": record, "as_sent": as_sent, "value": record.get(field) if field else None})
    return render(
        request,
        "exception.html",
        who,
        status=status,
        errors=errors,
        title=f"Exception {e.reference}",
        nav="queue",
        d=detail,
        e=e,
        records=records,
        is_review=e.kind == ExceptionKind.MATCH_REVIEW,
        note_actions=[a for a in detail.actions if a in NOTE_LABELS],
        note_labels=NOTE_LABELS,
    )


@router.get("/exceptions/{exception_id}")
def show(exception_id: int, request: Request, who: Who, app: State) -> Response:
    return exception_page(request, who, app, exception_id)


@router.post("/exceptions/{exception_id}/action")
def act(
    exception_id: int,
    request: Request,
    who: Who,
    app: State,
    action: Annotated[str, Form()],
    version: Annotated[int, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
    assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if action not in ("assign", "unassign", "start", "resolve", "dismiss", "reopen"):
        return exception_page(request, who, app, exception_id, [f"{action!r} is not an action"], 422)
    try:
        service.act(app.engine, who.actor, exception_id, version, action, note or None, assignee or None)
    except RETRY as exc:
        return exception_page(request, who, app, exception_id, [str(exc).capitalize()], exc.status_code)
    return redirect(f"/exceptions/{exception_id}", done=action)


@router.post("/exceptions/{exception_id}/comment")
def comment(
    exception_id: int, request: Request, who: Who, app: State, text: Annotated[str, Form(max_length=4000)] = ""
) -> Response:
    try:
        service.comment(app.engine, who.actor, exception_id, text)
    except RETRY as exc:
        return exception_page(request, who, app, exception_id, [str(exc).capitalize()], exc.status_code)
    return redirect(f"/exceptions/{exception_id}", done="comment")


@router.post("/exceptions/{exception_id}/accept-value")
def accept_value(
    exception_id: int,
    request: Request,
    who: Who,
    app: State,
    version: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        service.accept_value(app.engine, who.actor, exception_id, version, reason)
    except RETRY as exc:
        return exception_page(request, who, app, exception_id, [str(exc).capitalize()], exc.status_code)
    return redirect(f"/exceptions/{exception_id}", done="accept_value")
