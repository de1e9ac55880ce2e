"""Match review (``/api/reviews``): the pair a review exception asks about, and the officer's verdict."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from nominal.api.deps import CurrentActor, State
from nominal.triage import reviews as service
from nominal.triage.exceptions import ExceptionItem
from nominal.triage.reviews import ReviewDetail

router = APIRouter(prefix="/reviews", tags=["match review"])


@router.get("/next", response_model=ExceptionItem | None)
def next_review(actor: CurrentActor, app: State) -> ExceptionItem | None:
    return service.next_review(app.engine, actor)


@router.get("/{exception_id}", response_model=ReviewDetail)
def show_review(exception_id: int, actor: CurrentActor, app: State) -> ReviewDetail:
    """Both records side by side, each comparison's weight, identifiers' validity, each person's other records."""
    return service.show(app.engine, actor, exception_id)


class VerdictIn(BaseModel):
    verdict: str = Field(description="link, do_not_link or not_sure")
    version: int
    reason: str = Field("", max_length=4000)


@router.post("/{exception_id}/decision", response_model=ExceptionItem)
def decide(exception_id: int, body: VerdictIn, actor: CurrentActor, app: State) -> ExceptionItem:
    return service.decide(app.engine, actor, exception_id, body.version, body.verdict, body.reason)
