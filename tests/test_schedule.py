"""``nominal schedule`` against a real local Prefect server: the deployment is created with its
cron schedule, a run is triggered through the server, and it completes and publishes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from nominal.config import SHIPPED_CONFIG
from nominal.store.db import ensure_schema
from nominal.store.models import Run
from nominal.synthetic import generate

NIGHT = dt.date(2026, 11, 23)
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_schedule_deploys_and_a_triggered_run_completes(tmp_path):
    generate(people=150, seed=3, out=tmp_path / "feeds", nights=1, start_date=NIGHT)
    config = tmp_path / "nominal.yaml"
    shutil.copy(SHIPPED_CONFIG, config)
    db = f"sqlite:///{tmp_path / 'nominal.db'}"
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    serving = None
    try:
        wait_for(lambda: healthy(api), 120, "the Prefect server")
        serving = subprocess.Popen(
            [
                str(BIN / "nominal"),
                "schedule",
                "--cron",
                "30 1 * * *",
                "--config",
                str(config),
                "--landing",
                str(tmp_path / "feeds" / "landing"),
                "--db",
                db,
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

        def inspect() -> subprocess.CompletedProcess[str]:
            command = [str(BIN / "prefect"), "deployment", "inspect", "nightly_sync/nightly"]
            return subprocess.run(command, env=env, capture_output=True, text=True)

        wait_for(lambda: inspect().returncode == 0, 120, "the deployment")
        assert "30 1 * * *" in inspect().stdout
        run = subprocess.run(
            [
                str(BIN / "prefect"),
                "deployment",
                "run",
                "nightly_sync/nightly",
                "--param",
                f"as_of={NIGHT.isoformat()}",
                "--watch",
                "--watch-timeout",
                "240",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if run.returncode != 0:
            os.killpg(serving.pid, signal.SIGTERM)
            raise AssertionError(
                run.stdout[-1500:] + "\n--- nominal schedule ---\n" + serving.communicate(timeout=30)[0][-4000:]
            )
        assert "Completed" in run.stdout + run.stderr
        with ensure_schema(db).connect() as c:
            assert c.execute(select(Run.kind, Run.as_of, Run.status)).all() == [("sync", NIGHT, "succeeded")]
    finally:
        for process in (serving, server):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
