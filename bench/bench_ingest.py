"""Ingest of one night of N people (default 1,000,000): three feeds pulled, verified, mapped, archived.

    .venv/bin/python bench/bench_ingest.py [N]

Target (issue 3): at most 60 s and 4 GB for 1,000,000 people on a 2-core machine.
"""

from __future__ import annotations

import sys
import tempfile

from common import START, dataset, measured

CHILD = """
import json, sys, time, datetime as dt
from pathlib import Path
from nominal.flows.configuration import load_config
from nominal.flows.ingest import ingest_night
config = load_config()
config.archive = sys.argv[2]
started = time.perf_counter()
results = ingest_night(config, dt.date.fromisoformat(sys.argv[3]), Path(sys.argv[1]))
seconds = time.perf_counter() - started
feeds = {r.feed: [r.status, r.rows_read, r.rows_mapped, len(r.issues)] for r in results}
print(json.dumps({"seconds": round(seconds, 1), "feeds": feeds}))
"""


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    data = dataset(people)
    with tempfile.TemporaryDirectory(prefix="nominal-bench-archive-") as archive:
        result = measured(CHILD, str(data / "landing"), archive, START.isoformat())
    print(f"ingest, {people:,} people, one night (three feeds)")
    for feed, (status, read, mapped, issues) in result["feeds"].items():
        print(f"  {feed:10} {status:8} rows read {read:>9,}  mapped {mapped:>9,}  issues {issues:>7,}")
    print(
        f"  seconds (ingest only): {result['seconds']}   process wall: {result['wall_seconds']}   "
        f"peak RSS: {result['peak_rss_mb']:,} MB"
    )


if __name__ == "__main__":
    main()
