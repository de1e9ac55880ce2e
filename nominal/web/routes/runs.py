"""The last nights (``/runs``): status, gates, counts and each night's reports; the reports folder's
files served read-only behind sign-in (``/runs/{night}/reports/…``), each download audited as an
export by the service. Report files are downloads, never pages of this site: their HTML is shown
sandboxed (no script, no access to this site), and each feed's Data Docs come as a zip that opens
offline."""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from nominal.api.deps import AppState, State
from nominal.triage import reports, runs
from nominal.triage.errors import NotFound
from nominal.triage.roles import Permission
from nominal.web.deps import Who, render

router = APIRouter(include_in_schema=False)
# A report's HTML is the pipeline's own masked summary; shown sandboxed, it can run nothing.
REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def reports_dir(app: AppState) -> Path:
    if app.config is None:
        raise NotFound("no reports folder is configured")
    return app.config.reports_dir


def _night(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise NotFound(f"no night {text!r}") from None


@router.get("/runs")
def last_runs(request: Request, who: Who, app: State) -> Response:
    found = runs.last_runs(app.engine, who.actor, limit=30)
    folder = app.config.reports_dir if app.config is not None else None
    with_reports = {r.as_of for r in found if folder is not None and (folder / r.as_of.isoformat()).is_dir()}
    rows = []
    for r in found:
        counts = r.counts or {}
        gates = counts.get("gates", {}) if isinstance(counts.get("gates"), dict) else {}
        publish = counts.get("publish", {}) if isinstance(counts.get("publish"), dict) else {}
        exceptions = publish.get("exceptions", {}) if isinstance(publish.get("exceptions"), dict) else {}
        took = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
        rows.append(
            {
                "run": r,
                "gates": sorted(gates.items()),
                "persons": publish.get("persons"),
                "new": exceptions.get("new"),
                "open": exceptions.get("open"),
                "closed": exceptions.get("closed"),
                "took": took,
                "reports": r.as_of in with_reports,
            }
        )
    return render(
        request, "runs.html", who, title="Nights", nav="runs", rows=rows, may_export=who.actor.may(Permission.EXPORT)
    )


@router.get("/runs/{night}/reports")
def night_reports(night: str, request: Request, who: Who, app: State) -> Response:
    found = reports.listing(reports_dir(app), who.actor, _night(night))
    names = [f.name for f in app.config.feeds] if app.config is not None else []
    return render(
        request,
        "reports.html",
        who,
        title=f"Reports for the night of {found.night:%-d %B %Y}",
        nav="runs",
        r=found,
        groups=_grouped(found.files, names),
    )


def _grouped(files: list[reports.ReportFile], feeds: list[str]) -> list[tuple[str, list[reports.ReportFile]]]:
    """The night's files as a page lists them: each exceptions report once, its CSV and XLSX together."""
    groups: dict[str, list[reports.ReportFile]] = {}
    for f in files:
        groups.setdefault(_title(f.name, feeds), []).append(f)
    return list(groups.items())


def _title(name: str, feeds: list[str]) -> str:
    stem = name.rsplit(".", 1)[0]
    if name == "summary.html":
        return "Summary of the night"
    if name == "summary.json":
        return "Summary of the night, as data (JSON)"
    if stem.startswith("exceptions_"):
        rest = stem.removeprefix("exceptions_")
        for feed in [*feeds, "all_feeds"]:
            if rest.startswith(feed + "_"):
                kind = rest.removeprefix(feed + "_").replace("_", " ")
                return f"Exceptions: {feed.replace('_', ' ')}, {kind}"
    return name


@router.get("/runs/{night}/reports/{name}")
def report_file(night: str, name: str, who: Who, app: State) -> Response:
    path = reports.report_file(app.engine, reports_dir(app), who.actor, _night(night), name)
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    inline = path.suffix in (".html", ".json")
    response = FileResponse(
        path, media_type=kind, filename=path.name, content_disposition_type="inline" if inline else "attachment"
    )
    if path.suffix == ".html":
        response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


@router.get("/runs/{night}/data-docs/{feed}.zip")
def data_docs(night: str, feed: str, who: Who, app: State) -> Response:
    body = reports.data_docs_zip(app.engine, reports_dir(app), who.actor, _night(night), feed)
    name = f"{feed}-data-docs-{night}.zip"
    return Response(
        body, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
