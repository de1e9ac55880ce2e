"""What every page depends on: who is signed in (the API's dependency: the session cookie, and on a
POST the form's CSRF token), the templates, and the words pages use for the service's values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from nominal.api.deps import AppState, State, signed_in
from nominal.triage import auth
from nominal.triage.actors import Actor
from nominal.triage.roles import Permission

TEMPLATES = Path(__file__).parent / "templates"
SERVICE = "nominal"

Who = Annotated[auth.Authenticated, Depends(signed_in)]
__all__ = ["AppState", "State", "Who", "flash", "page", "redirect", "render"]

# Words for the service's values (the values themselves are the service's vocabularies).
KINDS = {
    "validation": "Validation",
    "parse": "Unreadable value",
    "rule_skipped": "Rule skipped",
    "schema_drift": "Columns changed",
    "feed": "Delivery",
    "match_review": "Match review",
    "conflict": "Conflict",
    "discrepancy": "Discrepancy",
}
STATUSES = {
    "open": "Open",
    "assigned": "Assigned",
    "in_progress": "In progress",
    "resolved": "Resolved",
    "dismissed": "Dismissed",
}
STATUS_TAGS = {
    "open": "govuk-tag--blue",
    "assigned": "govuk-tag--purple",
    "in_progress": "govuk-tag--yellow",
    "resolved": "govuk-tag--green",
    "dismissed": "govuk-tag--grey",
}
SEVERITY_TAGS = {"critical": "govuk-tag--red", "error": "govuk-tag--orange", "warning": "govuk-tag--grey"}
RUN_TAGS = {
    "succeeded": "govuk-tag--green",
    "failed": "govuk-tag--red",
    "gate_failed": "govuk-tag--orange",
    "running": "govuk-tag--blue",
}
FIELDS = {
    "feed": "Feed",
    "source_key": "Record key",
    "person_id": "Person",
    "forenames": "Forenames",
    "surname": "Surname",
    "aliases": "Aliases",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "pnc_id": "PNC ID",
    "cro_number": "CRO number",
    "noms_number": "NOMS number",
    "crn": "CRN",
    "ni_number": "NI number",
    "postcode": "Postcode",
    "address": "Address",
    "mappa_category": "MAPPA category",
    "mappa_level": "MAPPA level",
    "risk_level": "Risk level",
    "custody_status": "Custody status",
    "supervision_status": "Supervision status",
    "registration_type": "Registration type",
    "registration_start": "Registration start",
    "notification_due": "Notification due",
    "release_date": "Release date",
    "record_updated_at": "Record last updated",
    "extract_date": "Extract date",
    "row": "Row in delivery",
    "linked_by": "Linked by",
    "linked_on": "Linked on",
    "match_probability": "Match probability",
}
ACTIONS = {
    "assign": "Assign",
    "unassign": "Unassign",
    "start": "Start work",
    "resolve": "Resolve",
    "dismiss": "Dismiss",
    "reopen": "Reopen",
    "comment": "Comment",
    "accept_value": "Accept this value",
    "link": "Link",
    "do_not_link": "Do not link",
}
# What a page says after a change (``?done=<code>``: a fixed code in the URL, never data).
DONE = {
    "assign": "Assigned.",
    "unassign": "Unassigned: it is back in the queue for anyone.",
    "start": "Started: it is yours and in progress.",
    "resolve": "Resolved.",
    "dismiss": "Dismissed: it stays dismissed while its data is unchanged.",
    "reopen": "Reopened.",
    "comment": "Comment added.",
    "accept_value": "Value accepted: the golden record takes it from the next night on.",
    "link": "Linked: the two records are one person from the next night on.",
    "do_not_link": "Kept apart: the two records will not be linked by any later night.",
    "not_sure": "Comment added: the pair stays in the queue.",
    "unlink": "Record unlinked: from the next night it is kept apart from this person's other records.",
    "none_left": "Nothing is left for you under these filters.",
    "no_reviews": "No match reviews are left for you.",
    "signed_out": "You have signed out.",
}


def words(table: dict[str, str], value: object) -> str:
    text = "" if value is None else str(value)
    return table.get(text, text.replace("_", " ").capitalize())


def day(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%-d %b %Y")
    if isinstance(value, dt.date):
        return value.strftime("%-d %b %Y")
    return "" if value is None else str(value)


def moment(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%-d %b %Y %H:%M")
    return day(value)


def shown(value: object) -> str:
    """A record's value as a page shows it (dates as dates, nothing as nothing)."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, dt.datetime):
        return moment(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=day,
        moment=moment,
        shown=shown,
        kind=lambda v: words(KINDS, v),
        status=lambda v: words(STATUSES, v),
        field=lambda v: words(FIELDS, v),
        action=lambda v: words(ACTIONS, v),
        status_tag=lambda v: STATUS_TAGS.get(str(v), "govuk-tag--grey"),
        severity_tag=lambda v: SEVERITY_TAGS.get(str(v), "govuk-tag--grey"),
        run_tag=lambda v: RUN_TAGS.get(str(v), "govuk-tag--grey"),
    )
    env.globals.update(service=SERVICE, Permission=Permission)
    return env


ENV = _environment()


def render(
    request: Request,
    template: str,
    who: auth.Authenticated | None = None,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page: the template with who is signed in (name, role, the session's CSRF token for forms)."""
    actor: Actor | None = who.actor if who is not None else None
    done = request.query_params.get("done")
    html = ENV.get_template(template).render(
        request=request,
        user=actor,
        csrf=who.csrf_token if who is not None else None,
        may=(lambda permission: actor is not None and actor.may(Permission(permission))),
        flash=DONE.get(done or ""),
        errors=errors or [],
        **context,
    )
    return HTMLResponse(html, status_code=status)


def page(request: Request, **changes: object) -> str:
    """This page's URL with some query values changed (None drops one): for filters and paging."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in changes and k != "done"]
    for key, value in changes.items():
        if isinstance(value, list | tuple):
            query += [(key, str(v)) for v in value]
        elif value is not None and value != "":
            query.append((key, str(value)))
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def redirect(path: str, done: str | None = None, **query: object) -> RedirectResponse:
    """See other (after a POST): ``done`` names the banner the next page shows."""
    values = [(k, str(v)) for k, v in query.items() if v not in (None, "")]
    if done:
        values.append(("done", done))
    return RedirectResponse(path + (f"?{urlencode(values)}" if values else ""), status_code=303)


def flash(code: str) -> str | None:
    return DONE.get(code)
