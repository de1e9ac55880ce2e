"""Validation of one night of N people (default 1,000,000): every feed's suite, exceptions, metrics, Data Docs.

    .venv/bin/python bench/bench_validate.py [N]

Target (issue 4): at most 90 s and 6 GB for 1,000,000 people (about 1.8M records) on a 2-core machine.
Also measured: the same night with 100,000 extra failing records in one feed (failing keys must stay fast).
"""

from __future__ import annotations

import sys
import tempfile

from common import START, dataset, measured

CHILD = """
import json, sys, time, datetime as dt, tempfile
from pathlib import Path
from nominal.flows.configuration import load_config
from nominal.flows.ingest import ingest_night
from nominal.flows.validate import validate_feeds
config = load_config()
config.archive = sys.argv[2]
night = dt.date.fromisoformat(sys.argv[3])
extra_failures = int(sys.argv[4])
t0 = time.perf_counter()
ingests = ingest_night(config, night, Path(sys.argv[1]))
t_ingest = time.perf_counter() - t0
if extra_failures:
    police = next(r for r in ingests if r.feed == "police").canonical
    rows = police.index[:extra_failures]
    police.loc[rows, "pnc_id_raw"] = "2001/0171310X"  # fails its check letter
t1 = time.perf_counter()
night_result = validate_feeds(config, night, ingests, docs_dir=Path(tempfile.mkdtemp()) / "data_docs")
t_validate = time.perf_counter() - t1
exceptions = night_result.exceptions()
print(json.dumps({"ingest_seconds": round(t_ingest, 1), "validate_seconds": round(t_validate, 1),
                  "records": sum(len(r.canonical) for r in ingests if r.ok), "exceptions": len(exceptions),
                  "pnc_failures": int((exceptions["rule"] == "valid_pnc_id").sum()),
                  "gates": {v.feed: v.gate.passed for v in night_result.feeds}}))
"""


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    data = dataset(people)
    print(f"validation, {people:,} people, one night (three feeds), Data Docs built")
    for extra in (0, 100_000):
        with tempfile.TemporaryDirectory(prefix="nominal-bench-archive-") as archive:
            r = measured(CHILD, str(data / "landing"), archive, START.isoformat(), str(extra))
        label = "as generated" if not extra else f"+{extra:,} failing PNC IDs in police"
        print(
            f"  {label:34} records {r['records']:,}  exceptions {r['exceptions']:,} "
            f"(valid_pnc_id {r['pnc_failures']:,})"
        )
        print(
            f"  {'':34} validate {r['validate_seconds']} s (ingest before it {r['ingest_seconds']} s)  "
            f"peak RSS {r['peak_rss_mb']:,} MB  gates {r['gates']}"
        )


if __name__ == "__main__":
    main()
