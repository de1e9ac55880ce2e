"""The web app's test data: one ``nominal demo`` per test session, made once and copied for each
xdist worker (each works on its own store), and the app served on a local port in a thread.

The demo is made by the command itself (``nominal demo --people N``), so the pages are tested on what
a user sees after ``make demo``; one of its persons is then given a hostile surname."""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy import Engine, select, update

from nominal.cli.runs import DEMO_PASSWORD
from nominal.config import Config, read_config
from nominal.store.db import dispose_engines, ensure_schema
from nominal.store.models import ExceptionRecord, Person, SourceRecord
from nominal.web import create_app

PEOPLE = 700
HOSTILE = "<script>alert(1)</script>"
__all__ = ["DEMO_PASSWORD", "HOSTILE", "Served", "demo_copy", "serve"]


def _made(shared: Path) -> Path:
    """The session's demo, made by the first worker to get here (the others wait for it)."""
    folder = shared / "web-demo"
    with open(shared / "web-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            if folder.exists():
                shutil.rmtree(folder)
            completed = subprocess.run(
                [str(Path(sys.executable).parent / "nominal"), "demo", "--people", str(PEOPLE), "--dir", str(folder)],
                capture_output=True,
                text=True,
                check=False,
                env=_env(),
            )
            assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
            (folder / "demo.out").write_text(completed.stdout)
            (folder / "done").write_text("ok\n")
    return folder


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"}


def demo_copy(shared: Path, mine: Path) -> Path:
    """This worker's own copy of the session's demo (its store is changed by the tests)."""
    source = _made(shared)
    target = mine / "demo"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("landing", "archive", "state", "truth"))
    return target


@dataclass
class Served:
    url: str
    engine: Engine
    config: Config
    folder: Path
    hostile_person: str

    def first(self, kind: str, status: str = "open") -> int:
        with self.engine.connect() as c:
            found = c.scalar(
                select(ExceptionRecord.id)
                .where(ExceptionRecord.kind == kind, ExceptionRecord.status == status)
                .order_by(ExceptionRecord.first_seen_at, ExceptionRecord.id)
                .limit(1)
            )
        assert found is not None, f"the demo has no {status} {kind} exception"
        return int(found)


def _hostile(engine: Engine) -> str:
    """A person whose records' surname, and golden surname, is a script tag."""
    with engine.begin() as c:
        person_id, feed, key = c.execute(
            select(SourceRecord.person_id, SourceRecord.feed, SourceRecord.source_key)
            .where(SourceRecord.person_id.is_not(None))
            .order_by(SourceRecord.feed, SourceRecord.source_key)
            .limit(1)
        ).one()
        c.execute(
            update(SourceRecord)
            .where(SourceRecord.feed == feed, SourceRecord.source_key == key)
            .values(surname=HOSTILE)
        )
        c.execute(update(Person).where(Person.person_id == person_id).values(surname=HOSTILE))
    return str(person_id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(folder: Path):  # type: ignore[no-untyped-def]
    """The web app on the demo's store, on a free local port, for the length of the ``with``."""
    config = read_config(folder / "nominal.yaml")
    url = config.db_url
    engine = ensure_schema(url)
    hostile = _hostile(engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine, config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web app did not start"
    try:
        yield Served(f"http://127.0.0.1:{port}", engine, config, folder, hostile)
    finally:
        server.should_exit = True
        thread.join(10)
        dispose_engines(url)
