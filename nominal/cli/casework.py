"""Casework without the browser: ``exceptions list|show|assign|start|resolve|dismiss|reopen|comment``,
``person show``, ``review next``, ``audit search``; and ``serve`` (the API and web app).

Each asks who is working (``--user NAME``, or ``NOMINAL_USER_TOKEN``) and calls the triage service;
what a role may see and do is the service's to decide.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from nominal.config import Config
from nominal.logs import console
from nominal.triage import audit, exceptions, persons, reviews
from nominal.triage.reviews import Verdict
from nominal.triage.rules import RuleWords
from nominal.triage.workflow import Action

from .common import ConfigOpt, DbOpt, load, open_store
from .signin import UserOpt, working

exceptions_app = typer.Typer(help="The exception queue and the work on one exception.", no_args_is_help=True)
person_app = typer.Typer(help="A person's golden record, records and history.", no_args_is_help=True)
review_app = typer.Typer(help="Match review, one pair at a time.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log (supervisors and admins).", no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(help="the exception's number (from `nominal exceptions list`)")]


def _say(text: object) -> None:
    console.print(escape(str(text)), highlight=False)


@exceptions_app.command("list")
def list_exceptions(
    feed: Annotated[str | None, typer.Option("--feed")] = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    severity: Annotated[str | None, typer.Option("--severity")] = None,
    rule: Annotated[str | None, typer.Option("--rule")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="repeat for several; default the live ones")
    ] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="me, none or a user's name")] = None,
    min_age: Annotated[int | None, typer.Option("--min-age", help="first seen at least N days ago")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    after: Annotated[str | None, typer.Option("--after", help="the cursor a previous page printed")] = None,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """A page of the queue, oldest first."""
    with working(config, db, user) as (cfg, engine, actor):
        wanted = exceptions.queue_filter(
            engine,
            actor,
            statuses=status or (),
            feed=feed,
            kind=kind,
            severity=severity,
            rule=rule,
            assignee=assignee,
            min_age=min_age,
        )
        page = exceptions.queue(engine, actor, wanted, after=after, limit=limit)
    table = Table(title=", ".join(f"{k} {n:,}" for k, n in sorted(page.counts.items())) or "no exceptions")
    for column in ("no.", "ref", "kind", "severity", "rule", "feed", "record", "status", "assignee", "age", "detail"):
        table.add_column(column)
    for e in page.items:
        table.add_row(
            str(e.id),
            e.reference,
            e.kind,
            e.severity,
            escape(e.rule),
            e.feed or "",
            e.record or "",
            e.status,
            escape(e.assignee or ""),
            f"{e.age_days} d",
            escape(e.detail[:80]),
        )
    console.print(table)
    if page.next_cursor:
        _say(f"more: --after {page.next_cursor}")


@exceptions_app.command("show")
def show(exception_id: IdArg, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """One exception: its rule in words, the record(s), its history, comments and what you may do."""
    with working(config, db, user) as (cfg, engine, actor):
        detail = exceptions.show(engine, actor, exception_id, RuleWords(cfg))
    e = detail.item
    _say(f"{e.reference}  {e.kind} / {e.rule}  ({e.severity}, {e.status}, version {e.version})")
    _say(f"rule: {detail.rule_text}")
    _say(f"detail: {e.detail}")
    for record in detail.records:
        _say("record: " + ", ".join(f"{k} {v}" for k, v in record.items() if v not in (None, "", {}) and k != "raw"))
    for event in detail.history:
        who = event.user or f"night (run {event.run_id})"
        _say(
            f"  {event.at:%Y-%m-%d %H:%M}  {who}: {event.action} {event.from_status or ''} → {event.to_status or ''}  "
            f"{event.note or ''}"
        )
    for note in detail.comments:
        _say(f"  comment by {note.user} at {note.at:%Y-%m-%d %H:%M}: {note.text}")
    _say(f"you may: {', '.join(detail.actions) or 'nothing'}")


def _act(
    action: Action, exception_id: int, note: str | None, assignee: str | None, user: str | None, config: Any, db: Any
) -> None:
    with working(config, db, user) as (cfg, engine, actor):
        current = exceptions.show(engine, actor, exception_id, RuleWords(cfg)).item
        done = exceptions.act(engine, actor, exception_id, current.version, action, note, assignee)
    _say(f"{done.reference}: {done.status}" + (f", assigned to {done.assignee}" if done.assignee else ""))


NoteOpt = Annotated[str | None, typer.Option("--note", help="why (needed to resolve, dismiss, reopen)")]


@exceptions_app.command("assign")
def assign(
    exception_id: IdArg,
    to: Annotated[str, typer.Option("--to", help="me, or (supervisors) a user's name")] = "me",
    note: NoteOpt = None,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Assign an exception to yourself or (supervisors) to another officer."""
    _act(Action.ASSIGN, exception_id, note, to, user, config, db)


@exceptions_app.command("start")
def start(exception_id: IdArg, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Say you are working on it."""
    _act(Action.START, exception_id, None, None, user, config, db)


@exceptions_app.command("resolve")
def resolve(
    exception_id: IdArg, note: NoteOpt = None, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Resolve it, saying how."""
    _act(Action.RESOLVE, exception_id, note, None, user, config, db)


@exceptions_app.command("dismiss")
def dismiss(
    exception_id: IdArg, note: NoteOpt = None, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Dismiss it, saying why: it stays dismissed while its data is unchanged."""
    _act(Action.DISMISS, exception_id, note, None, user, config, db)


@exceptions_app.command("reopen")
def reopen(
    exception_id: IdArg, note: NoteOpt = None, user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Reopen a resolved or dismissed exception (supervisors), saying why."""
    _act(Action.REOPEN, exception_id, note, None, user, config, db)


@exceptions_app.command("comment")
def comment_on(
    exception_id: IdArg,
    text: Annotated[str, typer.Option("--text", help="the comment")],
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a comment to an exception's history."""
    with working(config, db, user) as (cfg, engine, actor):
        exceptions.comment(engine, actor, exception_id, text)
    _say("comment added")


@person_app.command("show")
def person_show(
    person_id: Annotated[str, typer.Argument(help="the person's id, e.g. P000001234")],
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """A person's golden record (with where each value came from), records, exceptions and history."""
    with working(config, db, user) as (cfg, engine, actor):
        p = persons.show(engine, actor, person_id)
    _say(f"{p.person_id}  {p.status}" + (f" ({p.status_reason})" if p.status_reason else ""))
    table = Table(title="golden record")
    for column in ("field", "value", "from", "accepted by an officer"):
        table.add_column(column)
    for g in p.golden:
        if g.value is not None:
            table.add_row(g.field, escape(str(g.value)), f"{g.feed or ''}", "yes" if g.accepted else "")
    console.print(table)
    for r in p.records:
        how = r.get("linked_by") or ""
        _say(f"record {r['feed']}:{r['source_key']}  {r.get('surname')}, {r.get('forenames')}  linked by {how}")
    for e in p.exceptions:
        _say(f"exception {e.id} {e.reference} {e.kind}/{e.rule} {e.status}")
    for event in p.events:
        _say(f"{event.at:%Y-%m-%d} {event.kind}: {', '.join(event.old_person_ids)} → {event.new_person_id or ''}")


@review_app.command("next")
def review_next(user: UserOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """One match review at a time: the two records side by side, then link, do-not-link, not sure or skip."""
    skipped: list[int] = []
    with working(config, db, user) as (_cfg, engine, actor):
        while (found := reviews.next_review(engine, actor, skipped)) is not None:
            detail = reviews.show(engine, actor, found.id)
            _say(f"\n{found.reference}: {detail.reason.replace('_', ' ')}, probability {detail.probability:.4f}")
            table = Table()
            for column in ("", "record A", "record B", ""):
                table.add_column(column)
            for f in detail.fields:
                mark = "" if f.same is None else ("same" if f.same else "DIFFERENT")
                table.add_row(
                    f.label,
                    escape(str(f.a if f.a is not None else "")),
                    escape(str(f.b if f.b is not None else "")),
                    mark,
                )
            console.print(table)
            for c in detail.comparisons:
                _say(f"  {c.comparison}: {c.label} ({c.weight:+.1f})")
            choice = typer.prompt("link (l), do not link (n), not sure (s), skip (k), quit (q)", default="k")
            verdict = {"l": Verdict.LINK, "n": Verdict.DO_NOT_LINK, "s": Verdict.NOT_SURE}.get(
                choice.strip().lower()[:1]
            )
            if choice.strip().lower().startswith("q"):
                break
            if verdict is None:
                skipped.append(found.id)
                continue
            reason = typer.prompt("why", default="" if verdict is Verdict.NOT_SURE else None)
            reviews.decide(engine, actor, found.id, found.version, verdict, reason)
            if verdict is Verdict.NOT_SURE:
                skipped.append(found.id)
        else:
            _say("no more pairs to review")


@audit_app.command("search")
def audit_search(
    by: Annotated[str | None, typer.Option("--by-user", help="the user whose actions")] = None,
    person: Annotated[str | None, typer.Option("--person", help="a person's id")] = None,
    since: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD (inclusive)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object a row")] = False,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Who read or changed what, when, why and from where; newest first."""
    start = dt.date.fromisoformat(since) if since else None
    end = dt.date.fromisoformat(until) if until else None
    with working(config, db, user) as (_cfg, engine, actor):
        rows = audit.search(engine, actor, user=by, person_id=person, since=start, until=end, limit=limit)
    if as_json:
        for r in rows:
            typer.echo(json.dumps(dataclasses.asdict(r), default=str))
        return
    table = Table(title=f"audit log ({len(rows)} rows)")
    for column in ("at", "who", "action", "object", "person", "why", "from"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            r.user_name or "system",
            r.action,
            f"{r.object_type} {r.object_id or ''}",
            r.person_id or "",
            escape(r.reason or ""),
            r.client_address or "",
        )
    console.print(table)


ServeHost = Annotated[str, typer.Option("--host", help="address to listen on")]
ServePort = Annotated[int, typer.Option("--port", help="port to listen on")]


def serve(config: ConfigOpt = None, db: DbOpt = None, host: ServeHost = "127.0.0.1", port: ServePort = 8000) -> None:
    """Serve the triage web app and its JSON API (uvicorn); the API's OpenAPI page is /api/docs."""
    cfg = load(config)
    serve_app(cfg, open_store(cfg, db), host, port)


def serve_app(cfg: Config, engine: Engine, host: str, port: int) -> None:
    """The web app (its pages and the JSON API under /api/) on ``host``:``port`` until Ctrl+C."""
    # the web server and its app are imported only to serve: they add half a second to every other command
    import uvicorn

    from nominal.web import create_app

    where = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    console.print(f"nominal triage on {where} (API: {where}api/); stop with Ctrl+C", highlight=False)
    uvicorn.run(create_app(engine, cfg), host=host, port=port, log_level="info", server_header=False)
