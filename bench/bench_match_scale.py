"""Matching at scale: a full match of one night of N people (default 1,000,000), then the next
night incremental (about 1 % of records new or changed) and, for comparison, the next night in full.

    .venv/bin/python bench/bench_match_scale.py [N]

Targets (issue 5): full match of 1,000,000 people (about 1.8M records) in at most 5 minutes and
8 GB; an incremental night with 1 % changed records in at most 30 s.
"""

from __future__ import annotations

import sys

from common import START, dataset, measured

CHILD = """
import json, sys, time, datetime as dt, tempfile, resource
from pathlib import Path
import pandas as pd
from nominal.flows.configuration import load_config
from nominal.flows.ingest import ingest_night
from nominal.matching.evaluate import evaluate
from nominal.matching.pipeline import match
from nominal.matching.settings import load_settings
data, first = Path(sys.argv[1]), dt.date.fromisoformat(sys.argv[2])
second = first + dt.timedelta(days=1)
config = load_config()
config.archive = tempfile.mkdtemp()
nights = {night: [r.canonical for r in ingest_night(config, night, data / "landing")] for night in (first, second)}
settings = load_settings()
out = {}
t = time.perf_counter(); full = match(nights[first], settings); out["full_seconds"] = round(time.perf_counter() - t, 1)
out["full_stages"] = full.stats["seconds"]
out["full_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
truth = pd.read_csv(data / "truth" / first.isoformat() / "records.csv", dtype=str)
out["full_accuracy"] = evaluate(full.clusters, truth)["pairwise"]
out["records"] = full.stats["records"]
previous = full.clusters[["feed", "source_key", "person_id"]]
t = time.perf_counter()
incremental = match(nights[second], settings, model=full.model, state=full.state, previous_links=previous)
out["incremental_seconds"] = round(time.perf_counter() - t, 1)
out["incremental_stages"] = incremental.stats["seconds"]
out["changed_records"] = incremental.stats["changed_records"]
t = time.perf_counter()
again = match(nights[second], settings, model=full.model, state=full.state, previous_links=previous, full=True)
out["second_full_seconds"] = round(time.perf_counter() - t, 1)
cols = ["feed", "source_key", "person_id", "status"]
out["incremental_equals_full"] = bool(incremental.clusters[cols].equals(again.clusters[cols]))
out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    data = dataset(people, nights=2)
    r = measured(CHILD, str(data), START.isoformat())
    print(f"matching at scale: {people:,} people, {r['records']:,} records")
    print(
        f"  full match            {r['full_seconds']:>7} s   peak RSS so far {r['full_peak_mb']:,} MB   "
        f"pairwise {r['full_accuracy']}"
    )
    print(f"    stages: {r['full_stages']}")
    print(
        f"  next night, incremental {r['incremental_seconds']:>5} s   ({r['changed_records']:,} records new or changed)"
    )
    print(f"    stages: {r['incremental_stages']}")
    print(
        f"  next night, full        {r['second_full_seconds']:>5} s   "
        f"incremental equals full: {r['incremental_equals_full']}"
    )
    print(f"  peak RSS (whole child, with both nights' records loaded): {r['peak_mb']:,} MB")


if __name__ == "__main__":
    main()
