"""The ``nominal`` command line. Verbs, flags and output files are a contract users script against.

One module per group of verbs; each command parses its options, calls the flow or the store and
prints the result. No rule lives here.

- ``feeds``     generate, ingest, validate, schema
- ``matching``  match, evaluate
- ``runs``      sync, backfill, schedule, status, unlock, demo
- ``decide``    decide link | do-not-link | accept-value | dismiss | withdraw
- ``users``     users add | disable | enable | role | password | list | token
- ``casework``  exceptions list | show | assign | start | resolve | dismiss | reopen | comment,
                person show, review next, audit search, serve
- ``oversight`` report --week, alerts check-late | test
- ``admin``     db upgrade, config show | check

Exit codes: 0 success, 1 the data failed (a feed refused, a gate failed), 2 a usage or
configuration error.
"""

from __future__ import annotations

import typer

from . import admin, casework, decide, feeds, matching, oversight, runs, users

app = typer.Typer(
    name="nominal",
    help="Records integration and data quality for police, probation and prison nominals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for group in (feeds.app, matching.app, runs.app):
    app.add_typer(group)  # no name: the group's commands are top-level verbs
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.config_app, name="config")
app.add_typer(decide.app, name="decide")
app.add_typer(users.app, name="users")
app.add_typer(casework.exceptions_app, name="exceptions")
app.add_typer(casework.person_app, name="person")
app.add_typer(casework.review_app, name="review")
app.add_typer(casework.audit_app, name="audit")
app.command("serve")(casework.serve)
app.command("report")(oversight.report)
app.add_typer(oversight.alerts_app, name="alerts")


def main() -> None:  # pragma: no cover - console script entry
    app()


__all__ = ["app", "main"]
