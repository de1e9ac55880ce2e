"""Officers without the browser: users, the queue, one exception's workflow, a review, a person, the
audit log and decisions by a report's reference, from the command line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from nominal.cli import app
from nominal.store.db import ensure_schema
from nominal.store.models import Decision, ExceptionRecord
from tests.nights import generated_night, publish
from tests.people import PASSWORD

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with one published night and no users yet."""
    folder = tmp_path_factory.mktemp("triage_cli")
    url = f"sqlite:///{folder / 'store.db'}"
    publish(ensure_schema(url), generated_night(folder))
    return url


def nominal(url: str, *args: str, password: str | None = None, token: str | None = None, stdin: str | None = None):
    env = {"NOMINAL_USER_TOKEN": token} if token else {}
    given = stdin if stdin is not None else (f"{password}\n" if password else None)
    return runner.invoke(app, [*args, "--db", url], input=given, env=env)


def add_users(url: str) -> None:
    """The first user (an admin) adds the others, signed in, as an administrator would."""
    first = nominal(url, "users", "add", "ada", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert first.exit_code == 0, first.output
    for name, role in (("jo", "officer"), ("sam", "supervisor"), ("vic", "viewer")):
        added = nominal(
            url, "users", "add", name, "--role", role, "--user", "ada", stdin=f"{PASSWORD}\n{PASSWORD}\n{PASSWORD}\n"
        )
        assert added.exit_code == 0, added.output


def test_the_first_user_is_an_admin_who_then_adds_the_officers(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    ensure_schema(url)
    refused = nominal(url, "users", "add", "first.officer", "--role", "officer", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert refused.exit_code == 2 and "the first user must be an admin" in refused.output
    add_users(url)
    unsigned = nominal(url, "users", "add", "kit", "--role", "officer", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert unsigned.exit_code == 2 and "NOMINAL_USER_TOKEN" in unsigned.output  # no longer the first
    wrong = nominal(url, "users", "list", "--user", "ada", password="not it at all")
    assert wrong.exit_code == 2 and "name or password" in wrong.output
    listed = nominal(url, "users", "list", "--user", "ada", password=PASSWORD)
    assert listed.exit_code == 0 and "supervisor" in listed.output and PASSWORD not in listed.output


@pytest.fixture(scope="module")
def token(store):
    """An officer's access token (NOMINAL_USER_TOKEN), as ``nominal users token`` prints it."""
    add_users(store)
    issued = nominal(store, "users", "token", "--user", "jo", password=PASSWORD)
    assert issued.exit_code == 0, issued.output
    return issued.output.strip().splitlines()[-1]


def test_an_officer_works_the_queue_from_the_command_line(store, token):
    listed = nominal(store, "exceptions", "list", "--kind", "validation", "--limit", "5", token=token)
    assert listed.exit_code == 0, listed.output
    assert "validation" in listed.output
    with ensure_schema(store).connect() as c:
        exception_id = c.scalar(
            select(ExceptionRecord.id).where(ExceptionRecord.kind == "validation").order_by(ExceptionRecord.id).limit(1)
        )
    shown = nominal(store, "exceptions", "show", str(exception_id), token=token)
    assert shown.exit_code == 0 and "rule:" in shown.output and "you may:" in shown.output
    assert nominal(store, "exceptions", "assign", str(exception_id), token=token).exit_code == 0
    no_note = nominal(store, "exceptions", "resolve", str(exception_id), token=token)
    assert no_note.exit_code == 2 and "note is needed" in no_note.output
    done = nominal(store, "exceptions", "resolve", str(exception_id), "--note", "fixed at source", token=token)
    assert done.exit_code == 0 and "resolved" in done.output
    refused = nominal(store, "exceptions", "reopen", str(exception_id), "--note", "x", token=token)
    assert refused.exit_code == 2 and "may not reopen" in refused.output
    assert (
        nominal(store, "exceptions", "comment", str(exception_id), "--text", "called the bureau", token=token).exit_code
        == 0
    )


def test_decide_by_a_reports_reference_and_review_in_the_terminal(store, token):
    with ensure_schema(store).connect() as c:
        review = c.execute(
            select(ExceptionRecord.id, ExceptionRecord.fingerprint, ExceptionRecord.person_id)
            .where(ExceptionRecord.kind == "match_review", ExceptionRecord.status == "open")
            .order_by(ExceptionRecord.id)
        ).all()
    assert len(review) >= 2
    linked = nominal(
        store, "decide", "link", "--exception", review[0].fingerprint[:12], "--reason", "same man", token=token
    )
    assert linked.exit_code == 0, linked.output
    # one review at a time: the first pair shown is skipped, the next kept apart, then quit
    answered = nominal(store, "review", "next", token=token, stdin="k\nn\ndifferent dates of birth\nq\n")
    assert answered.exit_code == 0, answered.output
    assert "record A" in answered.output and "probability" in answered.output
    with ensure_schema(store).connect() as c:
        kinds = sorted(c.execute(select(Decision.kind).where(Decision.exception_id.is_not(None))).scalars())
    assert "link" in kinds and "do_not_link" in kinds
    person = nominal(store, "person", "show", review[0].person_id, token=token)
    assert person.exit_code == 0 and "golden record" in person.output


def test_the_audit_log_from_the_command_line_is_a_supervisors(store, token):
    with ensure_schema(store).connect() as c:
        exception_id = str(c.scalar(select(ExceptionRecord.id).order_by(ExceptionRecord.id.desc()).limit(1)))
    assert nominal(store, "exceptions", "show", exception_id, token=token).exit_code == 0
    assert nominal(store, "exceptions", "comment", exception_id, "--text", "see the file", token=token).exit_code == 0
    assert nominal(store, "audit", "search", token=token).exit_code == 2  # an officer may not
    rows = nominal(store, "audit", "search", "--by-user", "jo", "--json", "--user", "sam", password=PASSWORD)
    assert rows.exit_code == 0, rows.output
    actions = {json.loads(line)["action"] for line in rows.output.splitlines() if line.startswith("{")}
    assert {"view_exception", "comment"} <= actions
    assert {json.loads(line)["user_name"] for line in rows.output.splitlines() if line.startswith("{")} == {"jo"}
