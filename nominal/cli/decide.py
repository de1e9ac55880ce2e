"""``decide``: record an officer's decision; matching and publish honour it on every later night."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from nominal.errors import NominalError
from nominal.logs import console
from nominal.store import writes
from nominal.store.db import session_scope
from nominal.store.models import ExceptionRecord
from nominal.tables import GOLDEN_FIELDS
from nominal.vocab import DecisionKind

from .common import EXIT_USAGE, ConfigOpt, DbOpt, fail, load, open_store

app = typer.Typer(
    help="Record an officer's decision; matching and publish honour it on every later night.", no_args_is_help=True
)

RecordOpt = Annotated[str, typer.Option("--record", help="the record decided about, FEED:SOURCE_KEY")]
OtherOpt = Annotated[str, typer.Option("--other", help="the other record, FEED:SOURCE_KEY")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (kept with the decision)")]
ByOpt = Annotated[str, typer.Option("--by", help="who decided")]


def _record(value: str) -> tuple[str, str]:
    feed, sep, key = value.partition(":")
    if not sep or not feed or not key:
        raise typer.BadParameter(
            f"a record is FEED:SOURCE_KEY, e.g. police:N0000123 (got {len(value)} characters without that form)"
        )
    return feed, key


def _decide(config: Path | None, db: str | None, kind: DecisionKind, **fields: Any) -> None:
    cfg = load(config)
    try:
        decision = writes.record_decision(open_store(cfg, db), kind, **fields)
    except ValueError as exc:
        fail(exc, EXIT_USAGE)
    console.print(f"decision {decision} recorded: {kind}; the next night honours it", highlight=False)


def _pair(
    kind: DecisionKind, record: str, other: str, reason: str, by: str, config: Path | None, db: str | None
) -> None:
    (feed, key), (other_feed, other_key) = _record(record), _record(other)
    _decide(
        config,
        db,
        kind,
        feed=feed,
        source_key=key,
        other_feed=other_feed,
        other_source_key=other_key,
        reason=reason,
        decided_by=by,
    )


@app.command("link")
def decide_link(
    record: RecordOpt, other: OtherOpt, reason: ReasonOpt, by: ByOpt, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Two records are the same person: matching links them on every later night."""
    _pair(DecisionKind.LINK, record, other, reason, by, config, db)


@app.command("do-not-link")
def decide_do_not_link(
    record: RecordOpt, other: OtherOpt, reason: ReasonOpt, by: ByOpt, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Two records are different people: matching never links them."""
    _pair(DecisionKind.DO_NOT_LINK, record, other, reason, by, config, db)


@app.command("accept-value")
def decide_accept_value(
    record: RecordOpt,
    field: Annotated[str, typer.Option("--field", help="the golden record's field, e.g. date_of_birth")],
    reason: ReasonOpt,
    by: ByOpt,
    value: Annotated[
        str | None,
        typer.Option("--value", help="the value seen (dates YYYY-MM-DD): the decision lapses if the source changes it"),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Publish this record's value of FIELD for its person, whatever the survivorship rules say."""
    if field not in GOLDEN_FIELDS:
        fail(NominalError(f"--field {field!r} is not a golden field: one of {', '.join(GOLDEN_FIELDS)}"), EXIT_USAGE)
    feed, key = _record(record)
    _decide(
        config,
        db,
        DecisionKind.ACCEPT_VALUE,
        feed=feed,
        source_key=key,
        field=field,
        value=value,
        reason=reason,
        decided_by=by,
    )


@app.command("dismiss")
def decide_dismiss(
    exception: Annotated[
        str,
        typer.Option("--exception", help="the exception's fingerprint, or its reference from a report (12 characters)"),
    ],
    reason: ReasonOpt,
    by: ByOpt,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Dismiss an exception: it stays dismissed while its data is unchanged, and reopens if it changes."""
    cfg = load(config)
    engine = open_store(cfg, db)
    if len(exception) < 12:
        fail(NominalError("--exception needs at least the 12 characters of a report's reference"), EXIT_USAGE)
    columns = (ExceptionRecord.fingerprint, ExceptionRecord.data_hash, ExceptionRecord.feed, ExceptionRecord.source_key)
    with session_scope(engine) as session:
        found = session.execute(
            select(*columns).where(ExceptionRecord.fingerprint.startswith(exception)).limit(2)
        ).all()
    if len(found) != 1:
        which = "no" if not found else "more than one"
        fail(NominalError(f"{which} exception has the reference {exception}"), EXIT_USAGE)
    fingerprint, data_hash, feed, key = found[0]
    _decide(
        config,
        db,
        DecisionKind.DISMISS,
        feed=feed or "",
        source_key=key or "",
        exception_fingerprint=fingerprint,
        value=data_hash or "",
        reason=reason,
        decided_by=by,
    )
