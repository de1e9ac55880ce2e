"""Match review (``/reviews/{id}``): the two records side by side with their differences, the
identifiers' check characters, the probability and a waterfall of how each comparison moved the match
weight, the other records in each person; link, do not link, or not sure; then the next pair."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from nominal.api.deps import AppState, State
from nominal.triage import reviews as service
from nominal.triage.errors import InvalidInput, NotAllowedNow, StaleVersion
from nominal.web import charts
from nominal.web.deps import Who, redirect, render

router = APIRouter(include_in_schema=False)
COMPARISONS = {
    "forenames": "Forenames",
    "forename": "Forename",
    "other_forenames": "Other forenames",
    "surname": "Surname",
    "names_swapped": "Names swapped",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "postcode": "Postcode",
    "pnc_id": "PNC ID",
    "cro_number": "CRO number",
    "noms_number": "NOMS number",
    "crn": "CRN",
    "ni_number": "NI number",
}


def _skips(text: str | None) -> list[int]:
    return [int(s) for s in (text or "").split(",") if s.isdigit()][:200]


def _levels(explanation: str | None) -> dict[str, str]:
    """Each comparison's level in the words of the pair's explanation ("date of birth: different (-19.9); …")."""
    out = {}
    for part in (explanation or "").split("; "):
        name, _, rest = part.partition(": ")
        if rest:
            out[name.strip()] = rest.rsplit(" (", 1)[0].strip()
    return out


def review_page(
    request: Request, who: Who, app: AppState, exception_id: int, errors: list[str] | None = None, status: int = 200
) -> Response:
    detail = service.show(app.engine, who.actor, exception_id)
    said = _levels(detail.explanation)
    steps = [
        (
            COMPARISONS.get(c.comparison, c.comparison.replace("_", " ").capitalize()),
            said.get(c.comparison.replace("_", " "), c.label),
            c.weight,
        )
        for c in detail.comparisons
    ]
    chart = charts.waterfall(detail.prior_weight, steps, detail.match_weight)
    differ = sum(1 for f in detail.fields if f.same is False)
    return render(
        request,
        "review.html",
        who,
        status=status,
        errors=errors,
        title=f"Match review {detail.item.reference}",
        nav="reviews",
        d=detail,
        e=detail.item,
        chart=chart,
        steps=steps,
        differ=differ,
        reason=app.words.describe(detail.item.kind, detail.reason),
        skip=request.query_params.get("skip", ""),
        may_decide=any(a in detail.actions for a in ("link", "do_not_link")),
    )


@router.get("/reviews/next")
def next_review(request: Request, who: Who, app: State) -> Response:
    """The next pair for me (mine first, then nobody's, oldest first), skipping those I was not sure of."""
    skip = request.query_params.get("skip", "")
    found = service.next_review(app.engine, who.actor, _skips(skip))
    done = request.query_params.get("done")
    if found is None:
        return redirect("/queue", done=done or "no_reviews", kind="match_review")
    return redirect(f"/reviews/{found.id}", done=done, skip=skip or None)


@router.get("/reviews/{exception_id}")
def show(exception_id: int, request: Request, who: Who, app: State) -> Response:
    return review_page(request, who, app, exception_id)


@router.post("/reviews/{exception_id}/decision")
def decide(
    exception_id: int,
    request: Request,
    who: Who,
    app: State,
    version: Annotated[int, Form()],
    verdict: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    skip: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if verdict not in ("link", "do_not_link", "not_sure"):
        return review_page(request, who, app, exception_id, ["Choose link, do not link or not sure"], 422)
    try:
        service.decide(app.engine, who.actor, exception_id, version, verdict, reason)
    except (InvalidInput, NotAllowedNow, StaleVersion) as exc:
        return review_page(request, who, app, exception_id, [str(exc).capitalize()], exc.status_code)
    skips = _skips(skip)
    if verdict == "not_sure":
        skips.append(exception_id)
    return redirect("/reviews/next", done=verdict, skip=",".join(map(str, skips)) or None)
