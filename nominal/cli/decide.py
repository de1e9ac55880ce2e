"""``decide``: record an officer's decision; matching and publish honour it on every later night.

Records are named ``FEED:SOURCE_KEY``, or by the reference the night's reports print for an
exception (``--exception REF``: for link / do-not-link, the review's two records, and the review is
settled). Each asks who decides: ``--user NAME`` (``--by`` also works) or ``NOMINAL_USER_TOKEN``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nominal.logs import console
from nominal.triage import decisions, reviews
from nominal.triage.errors import InvalidInput
from nominal.triage.reviews import Verdict
from nominal.vocab import DecisionKind

from .common import ConfigOpt, DbOpt
from .signin import working

app = typer.Typer(
    help="Record an officer's decision; matching and publish honour it on every later night.", no_args_is_help=True
)

RecordOpt = Annotated[str | None, typer.Option("--record", help="the record decided about, FEED:SOURCE_KEY")]
OtherOpt = Annotated[str | None, typer.Option("--other", help="the other record, FEED:SOURCE_KEY")]
ExceptionOpt = Annotated[
    str | None, typer.Option("--exception", help="the exception's reference from a report (12 characters)")
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (kept with the decision)")]
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user", "--by", help="who decides: your sign-in name (the password is asked), or NOMINAL_USER_TOKEN"
    ),
]


def _record(value: str | None, what: str = "--record") -> tuple[str, str]:
    feed, sep, key = (value or "").partition(":")
    if not sep or not feed or not key:
        raise typer.BadParameter(
            f"{what} is FEED:SOURCE_KEY, e.g. police:N0000123 (got {len(value or '')} characters without that form)"
        )
    return feed, key


def _pair(
    kind: DecisionKind,
    record: str | None,
    other: str | None,
    exception: str | None,
    reason: str,
    user: str | None,
    config: ConfigOpt,
    db: DbOpt,
) -> None:
    with working(config, db, user) as (cfg, engine, actor):
        if exception:
            row = decisions.exception_by_reference(engine, exception)
            verdict = Verdict.LINK if kind is DecisionKind.LINK else Verdict.DO_NOT_LINK
            reviews.decide(engine, actor, row.id, row.version, verdict, reason)
            console.print(f"exception {row.reference} settled: {kind}; the next night honours it", highlight=False)
            return
        if not (record and other):
            raise InvalidInput("name the two records (--record and --other), or the review (--exception REF)")
        decision = decisions.decide_pair(engine, actor, kind, _record(record), _record(other, "--other"), reason)
    console.print(f"decision {decision} recorded: {kind}; the next night honours it", highlight=False)


@app.command("link")
def decide_link(
    reason: ReasonOpt,
    record: RecordOpt = None,
    other: OtherOpt = None,
    exception: ExceptionOpt = None,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Two records are the same person: matching links them on every later night."""
    _pair(DecisionKind.LINK, record, other, exception, reason, user, config, db)


@app.command("do-not-link")
def decide_do_not_link(
    reason: ReasonOpt,
    record: RecordOpt = None,
    other: OtherOpt = None,
    exception: ExceptionOpt = None,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Two records are different people: matching never links them."""
    _pair(DecisionKind.DO_NOT_LINK, record, other, exception, reason, user, config, db)


@app.command("accept-value")
def decide_accept_value(
    record: Annotated[str, typer.Option("--record", help="the record whose value is right, FEED:SOURCE_KEY")],
    field: Annotated[str, typer.Option("--field", help="the golden record's field, e.g. date_of_birth")],
    reason: ReasonOpt,
    value: Annotated[
        str | None,
        typer.Option("--value", help="the value seen (dates YYYY-MM-DD): the decision lapses if the source changes it"),
    ] = None,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Publish this record's value of FIELD for its person, whatever the survivorship rules say."""
    with working(config, db, user) as (cfg, engine, actor):
        decision = decisions.accept_value(engine, actor, _record(record), field, value, reason)
    console.print(f"decision {decision} recorded: accept_value; the next night honours it", highlight=False)


@app.command("dismiss")
def decide_dismiss(
    exception: Annotated[
        str, typer.Option("--exception", help="the exception's reference from a report (12 characters)")
    ],
    reason: ReasonOpt,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Dismiss an exception: it stays dismissed while its data is unchanged, and reopens if it changes."""
    with working(config, db, user) as (cfg, engine, actor):
        row = decisions.dismiss(engine, actor, exception, reason)
    console.print(f"exception {row.reference} dismissed; the next night keeps it so while its data is unchanged")


@app.command("withdraw")
def decide_withdraw(
    decision: Annotated[int, typer.Option("--decision", help="the decision's number")],
    reason: ReasonOpt,
    user: UserOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Withdraw a decision (your own; a supervisor's, anyone's): later nights no longer honour it."""
    with working(config, db, user) as (cfg, engine, actor):
        decisions.withdraw(engine, actor, decision, reason)
    console.print(f"decision {decision} withdrawn; the next night no longer honours it", highlight=False)
