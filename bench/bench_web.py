"""The web app's queue page with 200,000 open exceptions (plus 50,000 closed) in PostgreSQL, filled by
bench_triage's SQL; the page timed through HTTP in process (FastAPI, the session cookie, the service,
the template), signed in as an officer.

    .venv/bin/python bench/bench_web.py [OPEN_EXCEPTIONS] [PERSONS]

Target (issue 17): the queue page answers in under 300 ms. Each figure is the median (and 95th
percentile) of 30 runs after 3 warm-ups.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_triage import PASSWORD, fill, fresh_database, timed  # noqa: E402

from nominal.config import read_config  # noqa: E402
from nominal.store.db import ensure_schema  # noqa: E402
from nominal.triage import users  # noqa: E402
from nominal.triage.actors import Actor  # noqa: E402
from nominal.vocab import Role  # noqa: E402
from nominal.web import create_app  # noqa: E402

TARGET_MS = 300


def main() -> None:
    open_exceptions = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    persons = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    print(f"web app's queue page: {open_exceptions:,} open exceptions, {persons:,} persons, PostgreSQL")
    url = fresh_database("nominal_bench_web")
    fill(url, persons, open_exceptions)
    engine = ensure_schema(url)
    admin = users.add_user(engine, None, "bench.admin", "Bench Admin", Role.ADMIN, PASSWORD)
    boss = Actor(admin.id, admin.name, admin.display_name, Role.ADMIN)
    users.add_user(engine, boss, "bench.officer", "Bench Officer", Role.OFFICER, PASSWORD)

    client = TestClient(create_app(engine, read_config()), base_url="https://testserver")
    signed = client.post("/sign-in", data={"name": "x", "password": "y"})  # sets the sign-in form's cookie
    token = client.cookies.get("nominal_sign_in")
    signed = client.post(
        "/sign-in",
        data={"name": "bench.officer", "password": PASSWORD, "csrf_token": token, "next": "/queue"},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text[:500]

    def page(path: str):  # type: ignore[no-untyped-def]
        def get() -> None:
            response = client.get(path)
            assert response.status_code == 200 and "app-queue" in response.text, response.status_code

        return get

    first = client.get("/queue")
    cursor = None
    for _ in range(20):  # 1,000 rows deep by the page's own "Next page" links
        marker = 'rel="next"'
        text = client.get(f"/queue?after={cursor}" if cursor else "/queue").text
        if marker not in text:
            break
        cursor = text.split('href="/queue?after=', 1)[1].split('"', 1)[0]
    assert first.status_code == 200
    print("GET through HTTP in process, signed in as an officer (the page holds 50 rows and the counts by kind):")
    timed("/queue (first page, no filter)", page("/queue"), TARGET_MS)
    timed("/queue?feed=police&kind=validation", page("/queue?feed=police&kind=validation"), TARGET_MS)
    timed("/queue?rule=valid_pnc_id&severity=critical", page("/queue?rule=valid_pnc_id&severity=critical"), TARGET_MS)
    timed("/queue?min_age=90&sort=newest", page("/queue?min_age=90&sort=newest"), TARGET_MS)
    timed("/queue?assignee=none", page("/queue?assignee=none"), TARGET_MS)
    if cursor:
        timed("/queue, a page 1,000 rows deep (keyset)", page(f"/queue?after={cursor}"), TARGET_MS)


if __name__ == "__main__":
    main()
