"""Shared by the benchmarks: a cached synthetic dataset and measured runs in a fresh process.

Each stage is timed in its own child process so that its peak memory (ru_maxrss) is its own,
not the generator's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NOMINAL_BENCH_DATA", ROOT / "bench" / ".data"))
START = dt.date(2026, 11, 23)


def dataset(people: int, nights: int = 1, seed: int = 7) -> Path:
    """A generated dataset, made once and reused by later benchmark runs."""
    folder = DATA / f"people{people}-nights{nights}-seed{seed}"
    if not (folder / "done").exists():
        from nominal.synthetic import generate

        started = time.perf_counter()
        generate(people=people, seed=seed, out=folder, nights=nights, start_date=START)
        (folder / "done").write_text(f"{time.perf_counter() - started:.1f}\n")
    return folder


def measured(code: str, *args: str) -> dict:
    """Run ``code`` (a Python snippet that prints one JSON line last) in a child; add its peak memory."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"},
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["wall_seconds"] = round(wall, 1)
    result["peak_rss_mb"] = round(max(peak, before) / 1024)  # Linux reports KiB; the largest child so far
    return result
