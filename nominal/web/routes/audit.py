"""The audit log (``/audit``, supervisors and admins): who read or changed what, when, why and from
where, by user, person and date; reading it is itself audited (the service does)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nominal.api.deps import State
from nominal.triage import audit as service
from nominal.triage.errors import InvalidInput, NotFound
from nominal.triage.roles import Permission
from nominal.vocab import AuditAction
from nominal.web.deps import Who, page, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


def _date(text: str, label: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label}: enter a date as YYYY-MM-DD, like 2026-11-23") from None


@router.get("/audit")
def audit_log(request: Request, who: Who, app: State) -> Response:
    who.actor.require(Permission.READ_AUDIT)
    q = request.query_params
    asked = {k: q.get(k, "").strip() for k in ("user", "person_id", "since", "until", "action")}
    before = q.get("before", "")
    errors: list[str] = []
    rows = []
    try:
        rows = service.search(
            app.engine,
            who.actor,
            user=asked["user"] or None,
            person_id=asked["person_id"].upper() or None,
            since=_date(asked["since"], "From"),
            until=_date(asked["until"], "To"),
            action=asked["action"] or None,
            before_id=int(before) if before.isdigit() else None,
            limit=PAGE_SIZE,
        )
    except (InvalidInput, NotFound) as exc:
        errors.append(str(exc).capitalize())
    return render(
        request,
        "audit.html",
        who,
        errors=errors,
        title="Audit log",
        nav="audit",
        rows=rows,
        asked=asked,
        actions=list(AuditAction),
        older=page(request, before=rows[-1].id) if len(rows) == PAGE_SIZE else None,
        newest=page(request, before=None) if before else None,
    )
