"""Decisions (``/api/decisions``), the audit log (``/api/audit``), users (``/api/users``) and runs (``/api/runs``)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from nominal.api.deps import CurrentActor, State
from nominal.store.audit import AuditRow
from nominal.store.users import UserView
from nominal.store.views import DecisionView, RunView
from nominal.triage import audit, decisions, runs, users
from nominal.triage.errors import InvalidInput
from nominal.vocab import DecisionKind

router = APIRouter(tags=["decisions, audit, users, runs"])


class RecordKey(BaseModel):
    feed: str
    source_key: str


class DecisionIn(BaseModel):
    kind: str = Field(description="link, do_not_link or accept_value (dismiss: an exception's action)")
    record: RecordKey
    other: RecordKey | None = None
    field: str | None = None
    value: str | None = None
    reason: str = Field(min_length=1, max_length=4000)


class Created(BaseModel):
    id: int


@router.post("/decisions", response_model=Created, status_code=201)
def decide(body: DecisionIn, actor: CurrentActor, app: State) -> Created:
    record = (body.record.feed, body.record.source_key)
    if body.kind == DecisionKind.ACCEPT_VALUE:
        return Created(id=decisions.accept_value(app.engine, actor, record, body.field or "", body.value, body.reason))
    if body.other is None:
        raise InvalidInput("a link or do-not-link decision names the other record")
    kind = DecisionKind(body.kind)
    other = (body.other.feed, body.other.source_key)
    return Created(id=decisions.decide_pair(app.engine, actor, kind, record, other, body.reason))


class WithdrawIn(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


@router.post("/decisions/{decision_id}/withdraw", response_model=DecisionView)
def withdraw(decision_id: int, body: WithdrawIn, actor: CurrentActor, app: State) -> DecisionView:
    return decisions.withdraw(app.engine, actor, decision_id, body.reason)


@router.get("/audit", response_model=list[AuditRow])
def search_audit(
    actor: CurrentActor,
    app: State,
    user: str | None = None,
    person_id: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditRow]:
    """The audit log by user, person and date, newest first (``before``: the last id seen, for the next page)."""
    return audit.search(
        app.engine,
        actor,
        user=user,
        person_id=person_id,
        since=since,
        until=until,
        action=action,
        before_id=before,
        limit=limit,
    )


@router.get("/users", response_model=list[UserView])
def list_users(actor: CurrentActor, app: State) -> list[UserView]:
    return users.list_users(app.engine, actor)


class UserIn(BaseModel):
    name: str
    display_name: str = ""
    role: str
    password: str | None = Field(None, min_length=12)


@router.post("/users", response_model=UserView, status_code=201)
def add_user(body: UserIn, actor: CurrentActor, app: State) -> UserView:
    return users.add_user(app.engine, actor, body.name, body.display_name or body.name, body.role, body.password)


class UserChange(BaseModel):
    role: str | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=12)


@router.post("/users/{name}", response_model=UserView)
def change_user(name: str, body: UserChange, actor: CurrentActor, app: State) -> UserView:
    """Change a user's role, disable or enable them, or set a password (anyone may set their own)."""
    changed = None
    if body.role is not None:
        changed = users.set_role(app.engine, actor, name, body.role)
    if body.active is False:
        changed = users.disable(app.engine, actor, name)
    if body.active is True:
        changed = users.enable(app.engine, actor, name)
    if body.password is not None:
        changed = users.set_password(app.engine, actor, name, body.password)
    if changed is None:
        raise InvalidInput("say what to change: role, active or password")
    return changed


@router.get("/runs", response_model=list[RunView])
def list_runs(actor: CurrentActor, app: State, limit: int = Query(30, ge=1, le=400)) -> list[RunView]:
    return runs.last_runs(app.engine, actor, limit)
