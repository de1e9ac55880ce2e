"""Time the synthetic generator: N people (default 1,000,000), 3 nights, into a temporary directory.

    .venv/bin/python bench/bench_generate.py [N] [--nights K] [--seed S] [--keep DIR]

Prints wall-clock seconds, peak resident memory (getrusage) and the records written per night.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from nominal.synthetic import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("people", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write here and keep the output (default: a temp dir, removed)")
    args = parser.parse_args(argv)

    out = args.keep or Path(tempfile.mkdtemp(prefix="nominal-bench-"))
    try:
        started = time.perf_counter()
        report = generate(
            people=args.people, seed=args.seed, out=out, nights=args.nights, start_date=dt.date(2026, 11, 23)
        )
        seconds = time.perf_counter() - started
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"people: {args.people:,}  nights: {args.nights}  seed: {args.seed}")
    for night in report.nights:
        rows = ", ".join(f"{feed} {d.rows:,}" for feed, d in night.deliveries.items())
        print(f"  {night.date}: {rows}; {night.errors:,} injected errors")
    print(f"seconds: {seconds:.1f}")
    print(f"peak RSS: {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
