"""A person (``/api/persons``), search (``/api/search``: POST, so that no search term is in a URL)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from nominal.api.deps import CurrentActor, State
from nominal.triage import persons as service
from nominal.triage import search as searching
from nominal.triage.persons import PersonDetail
from nominal.triage.search import Hit

router = APIRouter(tags=["persons"])


@router.get("/persons/{person_id}", response_model=PersonDetail)
def show_person(person_id: str, actor: CurrentActor, app: State) -> PersonDetail:
    return service.show(app.engine, actor, person_id)


class UnlinkIn(BaseModel):
    feed: str
    source_key: str
    reason: str = Field(min_length=1, max_length=4000)


class Unlinked(BaseModel):
    decisions: int


@router.post("/persons/{person_id}/unlink", response_model=Unlinked)
def unlink(person_id: str, body: UnlinkIn, actor: CurrentActor, app: State) -> Unlinked:
    """The record is not this person: a do-not-link decision against each of the person's other records."""
    return Unlinked(decisions=service.unlink(app.engine, actor, person_id, body.feed, body.source_key, body.reason))


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class Created(BaseModel):
    id: int


@router.post("/persons/{person_id}/comments", response_model=Created, status_code=201)
def comment(person_id: str, body: CommentIn, actor: CurrentActor, app: State) -> Created:
    return Created(id=service.comment(app.engine, actor, person_id, body.text))


class SearchIn(BaseModel):
    name: str | None = Field(None, max_length=200, description="'SURNAME', 'SURNAME, FORENAMES' or 'Forenames Surname'")
    date_of_birth: str | None = Field(None, description="YYYY-MM-DD")
    identifier: str | None = Field(None, max_length=64, description="PNC ID, CRO, NOMS, CRN, NI number or record key")
    limit: int = Field(50, ge=1, le=200)


@router.post("/search", response_model=list[Hit])
def search(body: SearchIn, actor: CurrentActor, app: State) -> list[Hit]:
    return searching.search(
        app.engine,
        actor,
        name=body.name,
        date_of_birth=body.date_of_birth,
        identifier=body.identifier,
        limit=body.limit,
    )
