"""The records both matchers are given, made once per dataset and cached as Parquet.

Each dataset is a folder of canonical frames (one Parquet file per feed) plus ``truth.parquet``
(feed, source_key, person_id). Both benchmark children read the same files, so nominal and
Splink see exactly the same records, and neither child's time or peak memory includes the
ingest or mapping that made them.

- ``febrl4``: FEBRL4's two files through ``febrl4_mapping.yaml`` (``bench/febrl4.py``).
- ``<N>`` (e.g. ``10000``): nominal's generated feeds for N people, one night, ingested with
  ``flows.ingest.ingest_night`` exactly as the nightly flow does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from common import DATA, START, dataset

FEBRL4 = "febrl4"
CANONICAL = f"canonical-{START.isoformat()}"  # folder name of the cached frames inside a dataset


@dataclass
class MatchInput:
    frames: list[pd.DataFrame]  # canonical frames, one per feed
    truth: pd.DataFrame  # feed, source_key, person_id
    link_type: str  # "link_only" (FEBRL4: file A against file B) or "dedupe" (within and across feeds)


def folder(name: str) -> Path:
    """The cached canonical records of a dataset, made on first use."""
    out = (DATA / FEBRL4 if name == FEBRL4 else dataset(int(name))) / CANONICAL
    if not (out / "done").exists():
        frames, truth = _febrl4() if name == FEBRL4 else _generated(int(name))
        out.mkdir(parents=True, exist_ok=True)
        for frame in frames:
            frame.to_parquet(out / f"{frame['feed'].iloc[0]}.parquet", index=False)
        truth.to_parquet(out / "truth.parquet", index=False)
        (out / "done").write_text("")
    return out


def load(path: str | Path) -> MatchInput:
    path = Path(path)
    frames = [pd.read_parquet(p) for p in sorted(path.glob("*.parquet")) if p.name != "truth.parquet"]
    truth = pd.read_parquet(path / "truth.parquet")
    link_type = "link_only" if path.parent.name == FEBRL4 else "dedupe"
    return MatchInput(frames=frames, truth=truth, link_type=link_type)


def _febrl4() -> tuple[list[pd.DataFrame], pd.DataFrame]:
    import febrl4

    frames = febrl4.canonical_frames()
    return frames, febrl4.truth(frames)


def _generated(people: int) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    import tempfile

    from nominal.flows.configuration import load_config
    from nominal.flows.ingest import ingest_night

    data = dataset(people)
    config = load_config()
    with tempfile.TemporaryDirectory(prefix="nominal-bench-archive-") as archive:
        config.archive = archive
        results = ingest_night(config, START, data / "landing")
    frames = [r.canonical for r in results if r.canonical is not None and len(r.canonical)]
    truth = pd.read_csv(data / "truth" / START.isoformat() / "records.csv", dtype="str")
    return frames, truth
