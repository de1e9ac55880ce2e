"""The whole night at scale: 1,000,000 people end to end (ingest → validate → match → publish)
through the nightly flow, on SQLite and on PostgreSQL, then the following night (about 1 % of
records changed). Each night runs in its own process, so each peak memory figure is that night's.

    .venv/bin/python bench/bench_nightly.py [N] [sqlite|postgresql ...]

Targets (issue 6): first night at most 15 minutes and 8 GB; the following night at most 2 minutes;
publish itself at least 50,000 persons/s into PostgreSQL.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from common import START, dataset, measured

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

CHILD = """
import datetime as dt, json, logging, sys
from nominal.flows.configuration import load_config
from nominal.flows.nightly import run_night_in_flow
config = load_config(sys.argv[1])
summary = run_night_in_flow(config, dt.date.fromisoformat(sys.argv[2]), landing=sys.argv[3], db_url=sys.argv[4])
p = summary.counts["publish"]
names = ("records", "persons", "persons_written", "persons_recomputed", "links_written", "exceptions")
figures = {k: p[k] for k in names}
store = summary.counts["store_seconds"]
print(json.dumps({"seconds": summary.seconds, **figures, "prepare": p["seconds"], "store": store}))
"""


def fresh_pg(name: str) -> str:
    from sqlalchemy import create_engine

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000
    backends = [a for a in sys.argv[1:] if not a.isdigit()] or ["sqlite", "postgresql"]
    data = dataset(people, nights=2)
    for backend in backends:
        work = Path(tempfile.mkdtemp(prefix=f"nominal-bench-{backend}-"))
        config = work / "nominal.yaml"
        shutil.copy(Path(__file__).resolve().parent.parent / "nominal" / "default_config.yaml", config)
        url = f"sqlite:///{work / 'nominal.db'}" if backend == "sqlite" else fresh_pg("nominal_bench")
        print(f"nightly sync at scale: {people:,} people on {backend}")
        for label, night in (("first night", START), ("next night ", START.replace(day=START.day + 1))):
            r = measured(CHILD, str(config), night.isoformat(), str(data / "landing"), url)
            s, store = r["seconds"], r["store"]
            rate = r["persons_written"] / store["persons"] if store.get("persons") else 0
            print(
                f"  {label}: {r['wall_seconds']:>6.1f} s wall ({sum(s.values()):.1f} s in the flow), "
                f"peak RSS {r['peak_rss_mb']:,} MB"
            )
            print(
                f"    {r['records']:,} records → {r['persons']:,} persons; "
                f"golden records computed for {r['persons_recomputed']:,}; "
                f"written {r['persons_written']:,} persons, {r['links_written']:,} links; exceptions {r['exceptions']}"
            )
            print(f"    stages: {s}")
            print(f"    within prepare_publication: {r['prepare']}")
            print(f"    publish transaction: {store} (s); persons written at {rate:,.0f} persons/s")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
