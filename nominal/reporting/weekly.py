"""``nominal report --week YYYY-Www``: one page for managers, as HTML and PDF, ready to e-mail:
record completeness by feed, the exception backlog, open discrepancies and the week's nights.
Figures only (counts and rates): nothing of a person. The PDF is made by WeasyPrint from the HTML."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from sqlalchemy import Engine

from nominal.clock import utcnow
from nominal.errors import NominalError
from nominal.publish.reports import KIND_WORDS, REPORT_CSS
from nominal.store import audit
from nominal.store import dashboards as figures
from nominal.store.audit import AuditEntry
from nominal.vocab import AuditAction

_PAGES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        found = WEEK.match(text.strip())
        if not found:
            raise NominalError(f"a week is YYYY-Www, e.g. 2026-W48 (not {text!r})")
        year, number = int(found.group(1)), int(found.group(2))
        try:
            dt.date.fromisocalendar(year, number, 1)
        except ValueError:
            raise NominalError(f"{text} is not a week of {year}") from None
        return cls(year, number)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def first(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 1)

    @property
    def last(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 7)


def _day(value: dt.date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def render(engine: Engine, week: Week) -> str:
    """The report as HTML."""
    nights = figures.nights(engine, week.first, week.last)
    run_ids = [int(r) for r in nights["run_id"]]
    runs = figures.last_runs(engine, 400)
    runs = runs[(runs["as_of"] >= week.first) & (runs["as_of"] <= week.last)].sort_values("as_of")
    completeness = figures.completeness(engine, run_ids)
    per_night = figures.exceptions_per_night(engine, run_ids)
    live = figures.open_exceptions(engine)
    published_nights = len(nights)
    expected = min(7, (min(week.last, utcnow().date()) - week.first).days + 1) if week.first <= utcnow().date() else 0
    all_published = published_nights >= expected and not (runs["status"] != "succeeded").any()
    headline = "Every night published" if all_published else "Not every night published"
    sentence = f"{published_nights} of the week's {max(expected, published_nights)} nights published."
    return _PAGES.get_template("weekly.html").render(
        css=REPORT_CSS.read_text(encoding="utf-8"),
        week={
            "label": week.label,
            "first": _day(week.first),
            "last": _day(week.last),
            "all_published": all_published,
            "headline": headline,
            "sentence": sentence,
        },
        completeness=_completeness(completeness),
        backlog=_backlog(per_night),
        discrepancies=[
            {"rule": str(rule).replace("_", " ").capitalize(), "open": f"{int(n):,}"}
            for rule, n in (
                live[live["kind"] == "discrepancy"].groupby("rule")["open"].sum().sort_values(ascending=False).items()
                if len(live)
                else []
            )
        ],
        nights=[_night(r) for r in runs.itertuples()],
        made=f"{utcnow():%d %B %Y %H:%M} UTC",
    )


def _completeness(frame: pd.DataFrame) -> list[dict[str, str]]:
    if frame.empty:
        return []
    out = []
    for feed, part in frame.groupby("feed"):
        latest = part[part["as_of"] == part["as_of"].max()]
        weakest = latest.sort_values("completeness").iloc[0]
        out.append(
            {
                "feed": str(feed).capitalize(),
                "complete": f"{part['completeness'].mean():.1%}",
                "valid": f"{part['validity'].mean():.1%}" if part["validity"].notna().any() else "–",
                "latest": f"{latest['completeness'].mean():.1%}",
                "weakest": f"{str(weakest['field']).replace('_', ' ')} ({weakest['completeness']:.0%})",
            }
        )
    return out


def _backlog(per_night: pd.DataFrame) -> dict[str, object]:
    if per_night.empty:
        return {"sentence": "No figures: no night published this week.", "rows": []}
    last = per_night[per_night["as_of"] == per_night["as_of"].max()]
    by = per_night.groupby("kind")[["opened", "closed"]].sum()
    open_now = last.groupby("kind")["open"].sum()
    rows = [
        {
            "kind": KIND_WORDS.get(str(kind), str(kind)).capitalize(),
            "opened": f"{int(by.loc[kind, 'opened']):,}",
            "closed": f"{int(by.loc[kind, 'closed']):,}",
            "open": f"{int(open_now.get(kind, 0)):,}",
        }
        for kind in by.index
    ]
    opened, closed, left = int(by["opened"].sum()), int(by["closed"].sum()), int(open_now.sum())
    trend = "shrank" if closed > opened else ("grew" if opened > closed else "held steady")
    sentence = f"The backlog {trend}: {opened:,} exceptions opened and {closed:,} closed; "
    sentence += f"{left:,} open at the end of the week."
    return {"sentence": sentence, "rows": rows}


def _night(run: Any) -> dict[str, str]:  # a row of figures.last_runs
    status = str(run.status)
    started, finished = run.started_at, run.finished_at
    took = f"{(finished - started).total_seconds() / 60:.0f} min" if finished is not None else "–"
    tags = {"succeeded": ("Published", "tag--green"), "gate_failed": ("Stopped at a gate", "tag--red")}
    outcome, tag = tags.get(status, ("Failed" if status == "failed" else status.capitalize(), "tag--red"))
    why = "" if status == "succeeded" else str(run.message or "")
    return {"night": _day(run.as_of), "outcome": outcome, "tag": tag, "took": took, "why": why}


def write(engine: Engine, week: Week, out: Path) -> tuple[Path, Path]:
    """``weekly-<week>.html`` and ``.pdf`` in ``out``; the report's making is audited as an export."""
    # WeasyPrint is imported here: it takes a second and is needed by this command only
    from weasyprint import HTML

    out.mkdir(parents=True, exist_ok=True)
    page = render(engine, week)
    html_path, pdf_path = out / f"weekly-{week.label}.html", out / f"weekly-{week.label}.pdf"
    html_path.write_text(page, encoding="utf-8")
    HTML(string=page, base_url=str(out)).write_pdf(pdf_path)
    audit.record(engine, AuditEntry(AuditAction.EXPORT, "weekly_report", week.label, detail={"files": 2}))
    return html_path, pdf_path
