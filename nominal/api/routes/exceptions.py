"""The exception queue and the work on one exception (``/api/exceptions``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from nominal.api.deps import CurrentActor, State
from nominal.store.views import QueueFilter
from nominal.triage import exceptions as service
from nominal.triage.exceptions import ExceptionDetail, ExceptionItem, Outcome, QueuePage

router = APIRouter(prefix="/exceptions", tags=["exceptions"])


class Filters(BaseModel):
    """Queue filters; values only (no personal data), so they may sit in a URL."""

    feed: str | None = None
    kind: str | None = None
    severity: str | None = None
    rule: str | None = None
    field: str | None = Field(None, description="the canonical field at fault, e.g. pnc_id")
    status: list[str] = Field(default_factory=list, description="statuses (default: open, assigned, in progress)")
    assignee: str | None = Field(None, description="'me', 'none', or a user's name")
    min_age: int | None = Field(None, ge=0, description="first seen at least this many days ago")
    max_age: int | None = Field(None, ge=0, description="first seen at most this many days ago")
    person_id: str | None = None


class Listing(Filters):
    """A page of the queue: the filters, the order and where the page starts (FastAPI expands one
    model of query parameters only when it is the route's only query parameter)."""

    sort: str = Field("oldest", description="oldest or newest first")
    after: str | None = Field(None, description="the previous page's next_cursor")
    limit: int = Field(50, ge=1, le=500)


def queue_filter(app: State, actor: CurrentActor, filters: Filters) -> QueueFilter:
    return service.queue_filter(
        app.engine,
        actor,
        statuses=filters.status,
        feed=filters.feed,
        kind=filters.kind,
        severity=filters.severity,
        rule=filters.rule,
        field=filters.field,
        assignee=filters.assignee,
        min_age=filters.min_age,
        max_age=filters.max_age,
        person_id=filters.person_id,
    )


FiltersQuery = Annotated[Filters, Query()]


@router.get("", response_model=QueuePage)
def list_exceptions(actor: CurrentActor, app: State, listing: Annotated[Listing, Query()]) -> QueuePage:
    """A page of the queue (keyset paging: pass ``next_cursor`` back as ``after``), with counts by kind."""
    wanted = queue_filter(app, actor, listing)
    return service.queue(app.engine, actor, wanted, after=listing.after, limit=listing.limit, sort=listing.sort)


@router.get("/next", response_model=ExceptionItem | None)
def next_exception(actor: CurrentActor, app: State, filters: FiltersQuery) -> ExceptionItem | None:
    """The next exception for me: mine first, then nobody's, oldest first."""
    return service.next_for(app.engine, actor, queue_filter(app, actor, filters))


@router.get("/{exception_id}", response_model=ExceptionDetail)
def show_exception(exception_id: int, actor: CurrentActor, app: State) -> ExceptionDetail:
    return service.show(app.engine, actor, exception_id, app.words)


class ActionIn(BaseModel):
    action: str = Field(description="assign, unassign, start, resolve, dismiss, reopen or comment")
    version: int = Field(description="the exception's version as you saw it")
    note: str | None = Field(None, max_length=4000, description="why (needed to resolve, dismiss, reopen)")
    assignee: str | None = Field(None, description="for assign: a user's name, or 'me'")


@router.post("/{exception_id}/actions", response_model=ExceptionItem)
def act(exception_id: int, body: ActionIn, actor: CurrentActor, app: State) -> ExceptionItem:
    return service.act(app.engine, actor, exception_id, body.version, body.action, body.note, body.assignee)


class Target(BaseModel):
    id: int
    version: int


class ManyIn(BaseModel):
    items: list[Target] = Field(max_length=500)
    action: str
    note: str | None = Field(None, max_length=4000)
    assignee: str | None = None


@router.post("/actions", response_model=list[Outcome])
def act_on_many(body: ManyIn, actor: CurrentActor, app: State) -> list[Outcome]:
    """The same action on several exceptions; each succeeds or fails on its own."""
    targets = [(t.id, t.version) for t in body.items]
    return service.act_on_many(app.engine, actor, targets, body.action, body.note, body.assignee)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class Created(BaseModel):
    id: int


@router.post("/{exception_id}/comments", response_model=Created, status_code=201)
def comment(exception_id: int, body: CommentIn, actor: CurrentActor, app: State) -> Created:
    return Created(id=service.comment(app.engine, actor, exception_id, body.text))


class AcceptIn(BaseModel):
    version: int
    reason: str = Field(min_length=1, max_length=4000)


@router.post("/{exception_id}/accept-value", response_model=ExceptionItem)
def accept_value(exception_id: int, body: AcceptIn, actor: CurrentActor, app: State) -> ExceptionItem:
    """Publish this conflict's record's value for its person (an officer's decision); the conflict is resolved."""
    return service.accept_value(app.engine, actor, exception_id, body.version, body.reason)
