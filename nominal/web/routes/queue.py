"""The queue (``/queue``): open exceptions and review pairs, filtered and sorted by values kept in the
URL (never personal data), counts per kind, keyset paging; several selected at once to assign or
dismiss; "next for me"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from nominal.api.deps import AppState, State
from nominal.store.views import SORTS, QueueFilter
from nominal.triage import exceptions as service
from nominal.triage.errors import InvalidInput
from nominal.triage.exceptions import ExceptionItem
from nominal.vocab import ExceptionKind, ExceptionStatus, Severity
from nominal.web.deps import KINDS, Who, page, redirect, render
from nominal.web.errors import local_path

router = APIRouter(include_in_schema=False)
FILTERS = ("feed", "kind", "severity", "rule", "status", "assignee", "min_age", "max_age", "sort")
PAGE_SIZE = 50


def item_url(item: ExceptionItem) -> str:
    """Where an exception is worked: a match review on its review page, the rest on their own."""
    return f"/reviews/{item.id}" if item.kind == ExceptionKind.MATCH_REVIEW else f"/exceptions/{item.id}"


@dataclass(frozen=True)
class Asked:
    """The queue's filters as the URL gives them (each a value, never personal data)."""

    feed: str = ""
    kind: str = ""
    severity: str = ""
    rule: str = ""
    statuses: tuple[str, ...] = ()
    assignee: str = ""
    min_age: str = ""
    max_age: str = ""
    sort: str = "oldest"

    @classmethod
    def of(cls, request: Request) -> Asked:
        q = request.query_params
        return cls(
            feed=q.get("feed", "").strip(),
            kind=q.get("kind", "").strip(),
            severity=q.get("severity", "").strip(),
            rule=q.get("rule", "").strip()[:128],
            statuses=tuple(s for s in q.getlist("status") if s),
            assignee=q.get("assignee", "").strip()[:64],
            min_age=q.get("min_age", "").strip(),
            max_age=q.get("max_age", "").strip(),
            sort=q.get("sort", "oldest") if q.get("sort") in SORTS else "oldest",
        )

    def filter(self, app: AppState, who: Who) -> QueueFilter:
        ages = []
        for label, text in (("older than", self.min_age), ("newer than", self.max_age)):
            if text and not text.isdigit():
                raise InvalidInput(f"Age {label}: enter a whole number of days, like 7")
            ages.append(int(text) if text else None)
        return service.queue_filter(
            app.engine,
            who.actor,
            statuses=self.statuses,
            feed=self.feed,
            kind=self.kind,
            severity=self.severity,
            rule=self.rule,
            assignee=self.assignee or None,
            min_age=ages[0],
            max_age=ages[1],
        )


def feeds(app: AppState) -> list[str]:
    return [f.name for f in app.config.feeds] if app.config is not None else []


@router.get("/queue")
def queue(request: Request, who: Who, app: State) -> Response:
    tidy = [(k, v) for k, v in request.query_params.multi_items() if v != ""]
    if len(tidy) != len(request.query_params.multi_items()):  # an empty field of the filter form
        return RedirectResponse("/queue" + _query(tidy), status_code=303)
    asked = Asked.of(request)
    errors: list[str] = []
    try:
        wanted = asked.filter(app, who)
        found = service.queue(
            app.engine, who.actor, wanted, after=request.query_params.get("after"), limit=PAGE_SIZE, sort=asked.sort
        )
    except InvalidInput as exc:
        errors.append(str(exc))
        found = service.QueuePage([], None, {})
    return render(
        request,
        "queue.html",
        who,
        errors=errors,
        title="Queue",
        nav="reviews" if asked.kind == ExceptionKind.MATCH_REVIEW else "queue",
        asked=asked,
        page_=found,
        rows=[(i, item_url(i)) for i in found.items],
        kinds=KINDS,
        counts=[(k, found.counts.get(k, 0)) for k in KINDS if found.counts.get(k)],
        total=sum(found.counts.values()),
        severities=list(Severity),
        statuses=list(ExceptionStatus),
        feeds=feeds(app),
        here=page(request),
        first_page=page(request, after=None) if request.query_params.get("after") else None,
        next_page=page(request, after=found.next_cursor) if found.next_cursor else None,
        kind_url=lambda kind: page(request, kind=kind, after=None),
        all_kinds_url=page(request, kind=None, after=None),
        next_url="/queue/next" + _query([(k, v) for k, v in tidy if k in FILTERS and k != "sort"]),
    )


def _query(items: list[tuple[str, str]]) -> str:
    return f"?{urlencode(items)}" if items else ""


@router.get("/queue/next")
def next_for_me(request: Request, who: Who, app: State) -> Response:
    """The next exception for me under the queue's filters: mine first, then nobody's, oldest first."""
    wanted = Asked.of(request).filter(app, who)
    found = service.next_for(app.engine, who.actor, wanted)
    if found is None:
        back = [(k, v) for k, v in request.query_params.multi_items() if k in FILTERS]
        return RedirectResponse("/queue" + _query([*back, ("done", "none_left")]), status_code=303)
    return redirect(item_url(found))


@router.post("/queue/actions")
def act_on_many(
    request: Request,
    who: Who,
    app: State,
    action: Annotated[str, Form()] = "",
    item: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form(max_length=4000)] = "",
    assignee: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str, Form()] = "/queue",
) -> Response:
    """Assign or dismiss the selected exceptions; each succeeds or fails on its own."""
    back = local_path(back)
    errors = []
    targets = []
    for value in item or []:
        ident, _, version = value.partition(":")
        if ident.isdigit() and version.isdigit():
            targets.append((int(ident), int(version)))
    if not targets:
        errors.append("Select at least one exception")
    if action not in ("assign_me", "assign", "dismiss"):
        errors.append("Choose what to do with the selected exceptions")
    if action == "dismiss" and not note.strip():
        errors.append("Say why you dismiss them")
    if action == "assign" and not assignee.strip():
        errors.append("Enter the user name of the officer to assign them to")
    if errors:
        return render(request, "bulk_done.html", who, status=422, errors=errors, title="Nothing was done", back=back)
    step = "dismiss" if action == "dismiss" else "assign"
    to = assignee.strip() if action == "assign" else "me"
    outcomes = service.act_on_many(app.engine, who.actor, targets, step, note or None, to if step == "assign" else None)
    done = [o for o in outcomes if o.ok]
    refused = [o for o in outcomes if not o.ok]
    return render(
        request,
        "bulk_done.html",
        who,
        title=f"{len(done)} of {len(outcomes)} {'dismissed' if step == 'dismiss' else 'assigned'}",
        done=done,
        refused=refused,
        back=back,
    )
