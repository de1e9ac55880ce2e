"""The data officers' web app in Debian's chromium (Playwright, headless), on the data ``nominal demo``
makes: signing in and out, the queue's filters, a match review decided by mouse and by keyboard alone,
what a viewer sees, a hostile name, axe-core on every page (no serious or critical violation), and a
screenshot of every page into docs/screenshots/ (shown in the README)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from nominal.store.models import AuditLog, Decision, ExceptionRecord, User
from tests.web_demo import DEMO_PASSWORD, HOSTILE, Served, demo_copy, serve

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="session")
def served(tmp_path_factory, worker_id):
    shared = tmp_path_factory.getbasetemp().parent if worker_id != "master" else tmp_path_factory.getbasetemp()
    folder = demo_copy(shared, tmp_path_factory.mktemp("web"))
    yield from serve(folder)


def signed_in(browser, served: Served, name: str):
    """A page in a context of its own, signed in as ``name`` through the sign-in form."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, base_url=served.url)
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    page.goto("/sign-in")
    page.fill("#name", name)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/queue"))
    return page


def decisions_on(served: Served, exception_id: int) -> list[tuple[str, str]]:
    with served.engine.connect() as c:
        rows = c.execute(
            select(Decision.kind, User.name)
            .join(User, User.id == Decision.decided_by_id)
            .where(Decision.exception_id == exception_id)
        )
        return [(k, n) for k, n in rows]


def status_of(served: Served, exception_id: int) -> str:
    with served.engine.connect() as c:
        return str(c.scalar(select(ExceptionRecord.status).where(ExceptionRecord.id == exception_id)))


def test_sign_in_shows_who_and_sign_out_ends_the_session(browser, served):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, base_url=served.url)
    page = context.new_page()
    response = page.goto("/queue")  # deny by default: the sign-in page, and back to the queue after
    assert "/sign-in" in page.url and "Sign in" in page.title()
    headers = response.all_headers() if response else {}
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "style-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    page.fill("#name", "officer")
    page.fill("#password", "not the password")
    page.click("button:has-text('Sign in')")
    assert "There is a problem" in page.inner_text(".govuk-error-summary")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/queue$"))
    header = page.inner_text(".app-header")
    assert "Olu Officer" in header and "Officer" in header
    cookie = next(c for c in context.cookies() if c["name"] == "nominal_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # the demo's config: local http (triage.secure_cookies: false)
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/sign-in"))
    assert "You have signed out" in page.inner_text("main")
    page.goto("/queue")
    assert "/sign-in" in page.url
    context.close()


def test_an_officer_filters_the_queue_and_links_a_review(browser, served):
    page = signed_in(browser, served, "officer")
    page.select_option("#f-kind", "match_review")
    page.click("button:has-text('Apply filters')")
    page.wait_for_url(re.compile(r"kind=match_review"))
    assert re.fullmatch(
        r"/queue\?kind=match_review&sort=oldest", page.url.removeprefix(served.url)
    )  # values only in the URL
    first = page.locator("table.app-queue tbody tr").first
    reference = first.locator("a.app-ref").inner_text()
    assert "Match review" in first.inner_text()
    first.locator("a.app-ref").click()
    page.wait_for_url(re.compile(r"/reviews/\d+"))
    exception_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    assert "Are these two records the same person?" in page.inner_text("h1")
    assert page.locator("svg.app-waterfall rect").count() >= 3
    page.check("#verdict-link")
    page.fill("#reason", "same custody photograph")
    page.click("#decide")
    page.wait_for_url(re.compile(r"(/reviews/\d+|/queue)\?.*done=link"))
    assert "Linked" in page.inner_text(".govuk-notification-banner")
    assert f"/reviews/{exception_id}" not in page.url  # the next pair opened
    assert decisions_on(served, exception_id) == [("link", "officer")]
    assert status_of(served, exception_id) == "resolved"
    page.goto("/queue?kind=match_review")
    assert reference not in page.inner_text("table.app-queue")


def test_a_viewer_sees_masked_values_and_no_action(browser, served):
    review = served.first("match_review")
    with served.engine.connect() as c:
        feed, key = c.execute(
            select(ExceptionRecord.feed, ExceptionRecord.source_key).where(ExceptionRecord.id == review)
        ).one()
    page = signed_in(browser, served, "viewer")
    assert "Vic Viewer" in page.inner_text(".app-header") and "Viewer" in page.inner_text(".app-header")
    assert page.locator("input.app-select").count() == 0 and page.locator("#next-for-me").count() == 0
    page.goto(f"/reviews/{review}")
    text = page.inner_text("main")
    assert "Values are masked" in text and key not in text and "*" in text
    assert page.locator("#decision").count() == 0 and page.locator("form[action*='/comment']").count() == 0
    validation = served.first("validation")
    page.goto(f"/exceptions/{validation}")
    assert "Values are masked" in page.inner_text("main") or "masked" in page.inner_text("main").lower()
    assert page.locator("main form").count() == 0
    assert "your role may only look" in page.inner_text("main")


def test_a_hostile_name_renders_as_text(browser, served):
    page = signed_in(browser, served, "officer")
    page.goto(f"/persons/{served.hostile_person}")
    assert HOSTILE in page.inner_text("main")  # shown as text; a dialog would have failed the test
    assert page.locator("main script").count() == 0
    page.goto("/search")
    page.fill("#s-name", HOSTILE)
    page.click("button:has-text('Search')")
    assert page.locator("main script").count() == 0


def test_a_review_completed_by_keyboard_alone(browser, served):
    page = signed_in(browser, served, "supervisor")
    page.goto("/reviews/next")
    page.wait_for_url(re.compile(r"/reviews/\d+"))
    exception_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    for _ in range(300):  # Tab through the page to the first verdict
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "verdict-link":
            break
    else:
        pytest.fail("Tab never reached the decision")
    page.keyboard.press("ArrowDown")  # the radios move by arrow keys: do not link
    assert page.is_checked("#verdict-do-not-link")
    while page.evaluate("document.activeElement.id") != "reason":
        page.keyboard.press("Tab")
    page.keyboard.type("different middle names on the birth certificates")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "decide"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"done=do_not_link"))
    assert decisions_on(served, exception_id) == [("do_not_link", "supervisor")]


PAGES = [  # (screenshot, user, path or a function of served giving it)
    ("01-sign-in", None, "/sign-in"),
    ("02-queue", "officer", "/queue"),
    ("03-queue-filtered", "officer", "/queue?kind=validation&severity=error&sort=newest"),
    ("04-match-review", "officer", lambda s: f"/reviews/{s.first('match_review')}"),
    ("05-exception-validation", "officer", lambda s: f"/exceptions/{s.first('validation')}"),
    ("06-exception-conflict", "officer", lambda s: f"/exceptions/{s.first('conflict')}"),
    ("07-exception-discrepancy", "officer", lambda s: f"/exceptions/{s.first('discrepancy')}"),
    ("08-person", "officer", lambda s: f"/persons/{_person_with_most_records(s)}"),
    ("09-search", "officer", "/search"),
    ("11-nights", "officer", "/runs"),
    ("12-night-reports", "officer", lambda s: f"/runs/{_last_night(s)}/reports"),
    ("13-audit-log", "supervisor", "/audit"),
    ("14-viewer-queue", "viewer", "/queue"),
    ("15-viewer-match-review", "viewer", lambda s: f"/reviews/{s.first('match_review')}"),
    ("16-not-found", "officer", "/no-such-page"),
]


def _person_with_most_records(served: Served) -> str:
    from sqlalchemy import func

    from nominal.store.models import PersonLink

    with served.engine.connect() as c:
        return str(
            c.scalar(
                select(PersonLink.person_id)
                .group_by(PersonLink.person_id)
                .order_by(func.count().desc(), PersonLink.person_id)
                .limit(1)
            )
        )


def _last_night(served: Served) -> str:
    return sorted(p.name for p in served.config.reports_dir.iterdir() if p.is_dir())[-1]


def _check(page, name: str, axe: Axe) -> list[str]:
    results = axe.run(page)
    bad = [
        f"{name}: {v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} nodes"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    if overflow:
        bad.append(f"{name}: the page is wider than the window")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    return bad


def test_every_page_passes_axe_and_is_screenshot(browser, served):
    axe = Axe()
    problems: list[str] = []
    pages: dict[str | None, object] = {}
    for name, user, where in PAGES:
        path = where(served) if callable(where) else where
        if user not in pages:
            if user is None:
                context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, base_url=served.url)
                pages[user] = context.new_page()
            else:
                pages[user] = signed_in(browser, served, user)
        page = pages[user]
        page.goto(path)  # type: ignore[attr-defined]
        problems += _check(page, name, axe)
        if name == "09-search":  # the results of a search, as an officer sees them
            page.fill("#s-name", "SMITH")  # type: ignore[attr-defined]
            page.click("main button:has-text('Search')")  # type: ignore[attr-defined]
            problems += _check(page, "10-search-results", axe)
    assert not problems, "\n".join(problems)
    with served.engine.connect() as c:
        actions = set(c.scalars(select(AuditLog.action)))
    assert {"view_review", "view_exception", "view_person", "search", "view_audit"} <= actions


# --- without the browser: deny by default, CSRF, the reports folder, sign-in limits -------------------

PAGES_SIGNED_IN = [
    "/",
    "/queue",
    "/queue/next",
    "/exceptions/1",
    "/reviews/next",
    "/reviews/1",
    "/persons/P000000001",
    "/search",
    "/audit",
    "/runs",
    "/runs/2026-11-25/reports",
]


@contextmanager
def _client(served: Served, name: str | None = None):
    """An HTTP client, signed in as ``name`` through the sign-in form (None: nobody)."""
    with httpx.Client(base_url=served.url, follow_redirects=False) as client:
        if name:
            client.get("/sign-in")
            token = client.cookies.get("nominal_sign_in")
            signed = client.post("/sign-in", data={"name": name, "password": DEMO_PASSWORD, "csrf_token": token})
            assert signed.status_code == 303, signed.text
        yield client


def test_every_page_needs_a_signed_in_user_and_every_form_its_token(served):
    with _client(served) as anonymous:
        for path in PAGES_SIGNED_IN:
            response = anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/sign-in"), path
        refused = anonymous.post("/queue/actions", data={"action": "dismiss"})
        assert refused.status_code == 303 and refused.headers["location"].startswith("/sign-in")
    with _client(served, "officer") as officer:
        review = served.first("match_review")
        forged = officer.post(f"/reviews/{review}/decision", data={"verdict": "link", "version": 1, "reason": "x"})
        assert forged.status_code == 403 and "security token" in forged.text  # no CSRF token: refused
        assert decisions_on(served, review) == []
        assert officer.get("/audit").status_code == 403  # an officer does not read the audit log
        page = officer.get(f"/reviews/{review}")
        assert "script-src 'self'" in page.headers["content-security-policy"] and "<script>" not in page.text
        assert "style=" not in page.text  # no inline style anywhere (the CSP would refuse it)


def test_reports_are_served_read_only_and_each_download_is_audited(served):
    night = _last_night(served)
    with _client(served, "officer") as officer:
        for name in ("..%2Fnominal.yaml", "%2E%2E%2F%2E%2E%2Fnominal.db", "data_docs", "nominal.yaml"):
            assert officer.get(f"/runs/{night}/reports/{name}").status_code == 404, name
        summary = officer.get(f"/runs/{night}/reports/summary.html")
        assert summary.status_code == 200 and summary.headers["content-security-policy"].startswith("sandbox")
        csv = next(p.name for p in (served.config.reports_dir / night).glob("*.csv"))
        download = officer.get(f"/runs/{night}/reports/{csv}")
        assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
        docs = officer.get(f"/runs/{night}/data-docs/police.zip")
        assert docs.status_code == 200 and docs.content[:2] == b"PK"
        assert officer.post(f"/runs/{night}/reports/{csv}").status_code in (403, 405)
    with served.engine.connect() as c:
        exported = set(c.scalars(select(AuditLog.object_id).where(AuditLog.action == "export")))
    assert {f"{night}/summary.html", f"{night}/{csv}", f"{night}/police"} <= exported


def test_sign_in_pauses_after_repeated_failures_and_says_so(served):
    with _client(served) as client:
        client.get("/sign-in")
        token = client.cookies.get("nominal_sign_in")
        said = ""
        for _ in range(7):
            response = client.post(
                "/sign-in", data={"name": "someone", "password": "wrong password", "csrf_token": token}
            )
            token = client.cookies.get("nominal_sign_in")
            said = response.text
        assert response.status_code == 429 and "Too many failed sign-ins" in said
        no_token = client.post("/sign-in", data={"name": "officer", "password": DEMO_PASSWORD})
        assert no_token.status_code == 400 and "nominal_session" not in no_token.headers.get("set-cookie", "")
