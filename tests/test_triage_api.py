"""The triage service through its JSON API, on SQLite and PostgreSQL: every route for every role
(each denial included), the workflow, optimistic concurrency, sign-in, sessions, CSRF, and the
audit rows each audited action leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import DBAPIError

from nominal.api import create_app
from nominal.config import TriageConfig, read_config
from nominal.store.db import dispose_engines, ensure_schema
from nominal.store.models import AuditLog, Decision, ExceptionRecord, UserSession
from nominal.triage.actors import Actor
from tests.nights import generated_night, publish
from tests.people import PASSWORD, make_staff

ROLES = ("viewer1", "officer1", "super1", "admin1")


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return generated_night(tmp_path_factory.mktemp("triage_feeds"))


@dataclass
class Served:
    engine: Engine
    staff: dict[str, Actor]
    app: object
    backend: str

    def client(self, name: str | None = None) -> TestClient:
        """A client signed in as ``name`` (by cookie, with its CSRF token on every request)."""
        client = TestClient(self.app, base_url="https://testserver")
        if name is not None:
            signed = client.post("/api/session", json={"name": name, "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            client.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
        return client

    def first(self, kind: str, status: str = "open") -> int:
        with self.engine.connect() as c:
            return int(
                c.scalar(
                    select(ExceptionRecord.id)
                    .where(ExceptionRecord.kind == kind, ExceptionRecord.status == status)
                    .order_by(ExceptionRecord.id)
                    .limit(1)
                )
            )

    def audit_actions(self, user: str) -> list[str]:
        with self.engine.connect() as c:
            rows = c.execute(
                select(AuditLog.action).where(AuditLog.user_id == self.staff[user].user_id).order_by(AuditLog.id)
            )
            return [r[0] for r in rows]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory, night):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('triage_store') / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        dispose_engines(url)
        with ensure_schema(url).connect() as connection:  # a fresh schema for this module
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
            connection.commit()
        dispose_engines(url)
    engine = ensure_schema(url)
    staff = make_staff(engine)
    publish(engine, night)
    config = read_config()
    config.triage = TriageConfig(sign_in_failures=3, sign_in_pause_minutes=5)
    yield Served(engine, staff, create_app(engine, config), request.param)
    dispose_engines(url)


def version_of(served: Served, exception_id: int) -> int:
    with served.engine.connect() as c:
        return int(c.scalar(select(ExceptionRecord.version).where(ExceptionRecord.id == exception_id)))


# --- deny by default ----------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/me"),
    ("GET", "/api/exceptions"),
    ("GET", "/api/exceptions/next"),
    ("GET", "/api/exceptions/1"),
    ("POST", "/api/exceptions/1/actions"),
    ("POST", "/api/exceptions/actions"),
    ("POST", "/api/exceptions/1/comments"),
    ("POST", "/api/exceptions/1/accept-value"),
    ("GET", "/api/reviews/next"),
    ("GET", "/api/reviews/1"),
    ("POST", "/api/reviews/1/decision"),
    ("GET", "/api/persons/P000000001"),
    ("POST", "/api/persons/P000000001/unlink"),
    ("POST", "/api/persons/P000000001/comments"),
    ("POST", "/api/search"),
    ("POST", "/api/decisions"),
    ("POST", "/api/decisions/1/withdraw"),
    ("GET", "/api/audit"),
    ("GET", "/api/users"),
    ("POST", "/api/users"),
    ("POST", "/api/users/officer1"),
    ("GET", "/api/runs"),
    ("DELETE", "/api/session"),
]


def test_nothing_is_served_to_someone_not_signed_in(served):
    client = served.client()
    for method, path in ROUTES:
        response = client.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["cache-control"] == "no-store"


def test_every_route_is_in_the_openapi_page(served):
    paths = served.client().get("/api/openapi.json").json()["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    for method, path in ROUTES:
        templated = path.replace("/1/", "/{exception_id}/").replace("/1", "/{exception_id}")
        templated = templated.replace("P000000001", "{person_id}").replace("officer1", "{name}")
        templated = templated.replace("decisions/{exception_id}", "decisions/{decision_id}")
        assert (method, templated) in documented, (method, templated)


# --- what each role may do ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, queue, records_unmasked, act, audit_log, users",
    [
        ("viewer1", 200, False, 403, 403, 403),
        ("officer1", 200, True, 200, 403, 403),
        ("super1", 200, True, 200, 200, 403),
        ("admin1", 200, False, 403, 200, 200),
    ],
)
def test_each_role_sees_and_does_what_it_may(served, role, queue, records_unmasked, act, audit_log, users):
    client = served.client(role)
    page = client.get("/api/exceptions", params={"kind": "validation", "limit": 5})
    assert page.status_code == queue
    assert all("*" in (i["record"] or "*") for i in page.json()["items"])  # keys masked in any list
    exception_id = served.first("validation")
    detail = client.get(f"/api/exceptions/{exception_id}").json()
    assert detail["masked"] is (not records_unmasked)
    assert ("start" in detail["actions"]) is (act == 200)
    comment = client.post(f"/api/exceptions/{exception_id}/comments", json={"text": f"looked at it ({role})"})
    assert comment.status_code == (201 if act == 200 else 403)
    assert client.get("/api/audit").status_code == audit_log
    assert client.get("/api/users").status_code == users
    assert client.get("/api/runs").status_code == 200
    found = client.post("/api/search", json={"date_of_birth": "1980-01-01"})
    assert found.status_code == 200


def test_a_viewer_sees_masked_values_and_may_not_decide(served):
    client = served.client("viewer1")
    review_id = served.first("match_review")
    review = client.get(f"/api/reviews/{review_id}")
    assert review.status_code == 200 and review.json()["masked"] and review.json()["actions"] == []
    surname = review.json()["record_a"]["surname"]
    assert surname and "*" in surname
    decided = client.post(
        f"/api/reviews/{review_id}/decision", json={"verdict": "link", "version": 1, "reason": "same person"}
    )
    assert decided.status_code == 403
    person_id = review.json()["item"]["person_id"]
    person = client.get(f"/api/persons/{person_id}").json()
    assert person["masked"] and all("*" in (r["surname"] or "*") for r in person["records"])
    assert (
        client.post(
            f"/api/persons/{person_id}/unlink", json={"feed": "x", "source_key": "y", "reason": "r"}
        ).status_code
        == 403
    )
    kinds = {"link", "do_not_link", "accept_value"}
    for kind in kinds:
        body = {"kind": kind, "record": {"feed": "police", "source_key": "K"}, "reason": "r", "field": "sex"}
        assert (
            client.post("/api/decisions", json=body | {"other": {"feed": "prison", "source_key": "K"}}).status_code
            == 403
        )
    assert served.audit_actions("viewer1").count("view_exception") == 0  # masked views are not disclosures


def test_an_officer_works_an_exception_through_its_workflow(served):
    client = served.client("officer1")
    exception_id = served.first("validation")
    version = version_of(served, exception_id)
    assigned = client.post(f"/api/exceptions/{exception_id}/actions", json={"action": "assign", "version": version})
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    assert assigned.json()["assignee"] == "Officer One"
    stale = client.post(f"/api/exceptions/{exception_id}/actions", json={"action": "start", "version": version})
    assert stale.status_code == 409 and "changed by someone else" in stale.json()["detail"]
    version += 1
    started = client.post(f"/api/exceptions/{exception_id}/actions", json={"action": "start", "version": version})
    assert started.json()["status"] == "in_progress"
    version += 1
    no_note = client.post(f"/api/exceptions/{exception_id}/actions", json={"action": "resolve", "version": version})
    assert no_note.status_code == 422
    resolved = client.post(
        f"/api/exceptions/{exception_id}/actions",
        json={"action": "resolve", "version": version, "note": "corrected at source by the force bureau"},
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = client.post(
        f"/api/exceptions/{exception_id}/actions", json={"action": "reopen", "version": version + 1, "note": "x"}
    )
    assert again.status_code == 403  # only a supervisor reopens
    detail = client.get(f"/api/exceptions/{exception_id}").json()
    steps = [(e["action"], e["from_status"], e["to_status"]) for e in detail["history"]]
    assert steps[0][0] == "opened"
    assert ("assigned", "open", "assigned") in steps and ("resolved", "in_progress", "resolved") in steps
    assert {"change_status", "view_exception"} <= set(served.audit_actions("officer1"))


def test_assigning_to_another_is_a_supervisors_and_work_assigned_to_another_is_not_taken(served):
    officer, supervisor = served.client("officer1"), served.client("super1")
    exception_id = served.first("validation")
    version = version_of(served, exception_id)
    body = {"action": "assign", "version": version, "assignee": "officer2"}
    assert officer.post(f"/api/exceptions/{exception_id}/actions", json=body).status_code == 403
    assert supervisor.post(f"/api/exceptions/{exception_id}/actions", json=body).status_code == 200
    taken = officer.post(f"/api/exceptions/{exception_id}/actions", json={"action": "start", "version": version + 1})
    assert taken.status_code == 403 and "assigned to Officer Two" in taken.json()["detail"]
    viewer = supervisor.post(
        f"/api/exceptions/{exception_id}/actions",
        json={"action": "assign", "version": version + 1, "assignee": "viewer1"},
    )
    assert viewer.status_code == 422  # viewers take no casework
    mine = officer.get("/api/exceptions", params={"assignee": "officer2", "kind": "validation"}).json()["items"]
    assert exception_id in {i["id"] for i in mine}


def test_a_supervisor_reopens_and_an_officer_dismisses_with_a_reason(served):
    officer, supervisor = served.client("officer1"), served.client("super1")
    exception_id = served.first("discrepancy")
    version = version_of(served, exception_id)
    dismissed = officer.post(
        f"/api/exceptions/{exception_id}/actions",
        json={"action": "dismiss", "version": version, "note": "known: release recorded late"},
    )
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    with served.engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Decision).where(Decision.exception_id == exception_id)) == 1
    reopened = supervisor.post(
        f"/api/exceptions/{exception_id}/actions",
        json={"action": "reopen", "version": version + 1, "note": "the release was not recorded after all"},
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    with served.engine.connect() as c:  # the dismissal no longer holds on later nights
        active = (
            select(func.count())
            .select_from(Decision)
            .where(Decision.exception_id == exception_id, Decision.active.is_(True))
        )
        assert c.scalar(active) == 0


def test_several_at_once_each_succeeding_or_failing_on_its_own(served):
    officer = served.client("officer1")
    page = officer.get("/api/exceptions", params={"kind": "validation", "assignee": "none", "limit": 3}).json()
    items = [{"id": i["id"], "version": i["version"]} for i in page["items"]]
    items.append({"id": items[0]["id"], "version": 99})  # stale
    outcomes = officer.post("/api/exceptions/actions", json={"items": items, "action": "assign"}).json()
    assert [o["ok"] for o in outcomes] == [True, True, True, False]
    assert "changed by someone else" in outcomes[-1]["message"]


def test_a_review_shows_both_records_and_a_link_settles_it(served):
    officer = served.client("officer1")
    review_id = served.first("match_review")
    review = officer.get(f"/api/reviews/{review_id}").json()
    assert not review["masked"] and review["record_a"]["surname"] and review["comparisons"]
    assert abs(review["prior_weight"] + sum(c["weight"] for c in review["comparisons"]) - review["match_weight"]) < 1e-6
    assert {f["name"] for f in review["fields"]} >= {"surname", "date_of_birth", "pnc_id"}
    assert "link" in review["actions"] and "do_not_link" in review["actions"]
    version = review["item"]["version"]
    no_reason = officer.post(f"/api/reviews/{review_id}/decision", json={"verdict": "link", "version": version})
    assert no_reason.status_code == 422
    unsure = officer.post(
        f"/api/reviews/{review_id}/decision",
        json={"verdict": "not_sure", "version": version, "reason": "ask probation"},
    )
    assert unsure.status_code == 200 and unsure.json()["status"] == "open"  # stays in the queue, with a comment
    linked = officer.post(
        f"/api/reviews/{review_id}/decision",
        json={"verdict": "link", "version": version, "reason": "same custody photograph"},
    )
    assert linked.status_code == 200 and linked.json()["status"] == "resolved"
    with served.engine.connect() as c:
        decision = c.execute(select(Decision).where(Decision.exception_id == review_id)).one()
        assert decision.kind == "link" and decision.decided_by_id == served.staff["officer1"].user_id
    assert "view_review" in served.audit_actions("officer1") and "decide" in served.audit_actions("officer1")
    assert officer.get("/api/reviews/next").status_code == 200


def test_decisions_are_withdrawn_by_their_maker_or_a_supervisor(served):
    officer1, officer2, supervisor = served.client("officer1"), served.client("officer2"), served.client("super1")
    body = {
        "kind": "do_not_link",
        "record": {"feed": "police", "source_key": "A"},
        "other": {"feed": "prison", "source_key": "B"},
        "reason": "different people: twins",
    }
    made = officer1.post("/api/decisions", json=body)
    assert made.status_code == 201
    decision_id = made.json()["id"]
    refused = officer2.post(f"/api/decisions/{decision_id}/withdraw", json={"reason": "mine now"})
    assert refused.status_code == 403
    withdrawn = supervisor.post(f"/api/decisions/{decision_id}/withdraw", json={"reason": "entered in error"})
    assert withdrawn.status_code == 200 and withdrawn.json()["active"] is False
    assert withdrawn.json()["withdrawn_by"] == "Super One"
    assert officer1.post(f"/api/decisions/{decision_id}/withdraw", json={"reason": "again"}).status_code == 409


def test_a_person_with_lineage_records_and_history_and_unlinking_a_record(served):
    officer = served.client("officer1")
    with served.engine.connect() as c:
        person_id = c.scalar(
            text(
                "SELECT person_id FROM person_links GROUP BY person_id HAVING count(*) >= 2 ORDER BY person_id LIMIT 1"
            )
        )
    person = officer.get(f"/api/persons/{person_id}").json()
    assert not person["masked"] and len(person["records"]) >= 2 and person["may_unlink"]
    surname = next(g for g in person["golden"] if g["field"] == "surname")
    assert surname["feed"] and surname["source_key"]  # lineage: where the value came from
    assert any(e["b"] == f"person:{person_id}" for e in person["edges"])
    record = person["records"][0]
    unlinked = officer.post(
        f"/api/persons/{person_id}/unlink",
        json={"feed": record["feed"], "source_key": record["source_key"], "reason": "not this man: different DOB"},
    )
    assert unlinked.status_code == 200 and unlinked.json()["decisions"] == len(person["records"]) - 1
    assert "view_person" in served.audit_actions("officer1")


def test_search_by_name_date_of_birth_and_identifier(served, night):
    officer, viewer = served.client("officer1"), served.client("viewer1")
    sample = night.records.dropna(subset=["surname", "date_of_birth", "pnc_id"]).iloc[0]
    by_name = officer.post("/api/search", json={"name": f"{sample['surname']}, {sample['forenames']}"}).json()
    assert (sample["feed"], sample["source_key"]) in {(h["feed"], h["record"]) for h in by_name}
    typo = sample["surname"][:-1] + ("E" if sample["surname"][-1] != "E" else "A")
    assert officer.post("/api/search", json={"name": typo}).status_code == 200
    dob = sample["date_of_birth"].date().isoformat()
    assert all(h["date_of_birth"] == dob for h in officer.post("/api/search", json={"date_of_birth": dob}).json())
    by_pnc = officer.post("/api/search", json={"identifier": sample["pnc_id"]}).json()
    assert by_pnc and by_pnc[0]["matched_on"] == "identifier"
    masked = viewer.post("/api/search", json={"identifier": sample["pnc_id"]}).json()
    assert masked and "*" in masked[0]["surname"] and sample["surname"] not in str(masked)
    assert officer.post("/api/search", json={}).status_code == 422
    with served.engine.connect() as c:
        searches = c.execute(select(AuditLog.detail).where(AuditLog.action == "search")).scalars().all()
    assert searches and all(sample["surname"] not in str(d) for d in searches)  # what was searched, never the term


def test_admins_manage_users_and_the_last_admin_stays(served):
    admin = served.client("admin1")
    added = admin.post("/api/users", json={"name": "new.officer", "role": "officer", "password": PASSWORD})
    assert added.status_code == 201 and added.json()["role"] == "officer"
    assert admin.post("/api/users", json={"name": "new.officer", "role": "viewer"}).status_code == 409
    assert admin.post("/api/users/new.officer", json={"role": "supervisor"}).json()["role"] == "supervisor"
    newcomer = served.client("new.officer")
    assert admin.post("/api/users/new.officer", json={"active": False}).json()["active"] is False
    assert newcomer.get("/api/me").status_code == 401  # a disabled user's sessions end at once
    last = admin.post("/api/users/admin1", json={"role": "viewer"})
    assert last.status_code == 403 and "last admin" in last.json()["detail"]
    assert served.audit_actions("admin1").count("user_admin") >= 3


def test_the_audit_log_is_searched_by_user_person_and_date(served):
    supervisor = served.client("super1")
    rows = supervisor.get("/api/audit", params={"user": "officer1"}).json()
    assert rows and {r["user_name"] for r in rows} == {"officer1"}
    assert supervisor.get("/api/audit", params={"user": "nobody"}).status_code == 404
    today = supervisor.get("/api/audit", params={"since": "2000-01-01", "until": "2999-12-31", "limit": 5}).json()
    assert len(today) == 5


def test_the_audit_log_refuses_to_be_changed(served):
    with served.engine.connect() as c:
        any_row = c.scalar(select(AuditLog.id).limit(1))
        for statement in (
            update(AuditLog).where(AuditLog.id == any_row).values(reason="edited"),
            AuditLog.__table__.delete().where(AuditLog.id == any_row),
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                c.execute(statement)
            c.rollback()


# --- signing in ----------------------------------------------------------------------------------


def test_sign_in_is_rate_limited_and_says_nothing_of_which_part_was_wrong(served):
    client = served.client()
    for _ in range(3):
        wrong = client.post("/api/session", json={"name": "officer2", "password": "not the password"})
        assert wrong.status_code == 401 and "name or password" in wrong.json()["detail"]
    assert client.post("/api/session", json={"name": "officer2", "password": PASSWORD}).status_code == 429
    assert client.post("/api/session", json={"name": "nobody", "password": "x"}).status_code == 401
    with served.engine.begin() as c:  # the pause over
        c.execute(text("DELETE FROM sign_in_attempts"))


def test_the_session_cookie_is_httponly_strict_and_secure_and_csrf_guards_changes(served):
    client = TestClient(served.app, base_url="https://testserver")
    signed = client.post("/api/session", json={"name": "officer2", "password": PASSWORD})
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    exception_id = served.first("validation")
    body = {"text": "a comment"}
    assert client.post(f"/api/exceptions/{exception_id}/comments", json=body).status_code == 403  # no CSRF token
    client.headers["X-CSRF-Token"] = "forged"
    assert client.post(f"/api/exceptions/{exception_id}/comments", json=body).status_code == 403
    client.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
    assert client.post(f"/api/exceptions/{exception_id}/comments", json=body).status_code == 201
    assert client.delete("/api/session").status_code == 204
    assert client.get("/api/me").status_code == 401


def test_a_token_needs_no_csrf_and_an_expired_session_is_refused(served):
    token = served.client().post("/api/tokens", json={"name": "officer2", "password": PASSWORD}).json()["token"]
    bearer = TestClient(served.app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/api/me").json()["name"] == "officer2"
    exception_id = served.first("validation")
    assert bearer.post(f"/api/exceptions/{exception_id}/comments", json={"text": "by token"}).status_code == 201
    with served.engine.begin() as c:
        c.execute(update(UserSession).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    assert bearer.get("/api/me").status_code == 401
