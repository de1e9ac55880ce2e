"""What one night's matching leaves for the next: record fingerprints, the scored pairs worth
keeping, and the persons. With it a night compares only its new and changed records.

Saved as Parquet in a folder (``state_dir`` in nominal.yaml), with the model beside it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nominal import canonical

from .prepare import Records
from .settings import Settings

DECISION_COLUMNS = ("decision", "linked_by", "reason", "other_evidence", "officer")
_IGNORED = {"feed", "source_key", "extract_date", "_source", "_row"}


def _fingerprint(settings: Settings) -> str:
    """Everything in the settings that changes which pairs exist or how they score (not thresholds)."""
    data = settings.model_dump(mode="json", exclude={"thresholds"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def record_hashes(records: Records) -> np.ndarray:
    """A 64-bit fingerprint of each record's matching-relevant content."""
    columns = [c for c in canonical.COLUMNS if c not in _IGNORED and c in records.frame.columns]
    return pd.util.hash_pandas_object(records.frame[columns], index=False).to_numpy()


@dataclass
class MatchState:
    fingerprint: str
    records: pd.DataFrame  # feed, source_key, hash
    pairs: pd.DataFrame  # scored pairs kept, by keys
    clusters: pd.DataFrame  # feed, source_key, person_id

    @classmethod
    def build(cls, records: Records, hashes: np.ndarray, decided: pd.DataFrame, person: np.ndarray, settings: Settings) -> "MatchState":
        f = records.frame
        return cls(
            fingerprint=_fingerprint(settings),
            records=pd.DataFrame({"feed": f["feed"].to_numpy(), "source_key": f["source_key"].to_numpy(), "hash": hashes}),
            pairs=decided.drop(columns=["rid_a", "rid_b", *[c for c in DECISION_COLUMNS if c in decided]]).reset_index(drop=True),
            clusters=pd.DataFrame({"feed": f["feed"].to_numpy(), "source_key": f["source_key"].to_numpy(), "person_id": person}),
        )

    def fits(self, settings: Settings) -> bool:
        return self.fingerprint == _fingerprint(settings)

    def changed(self, records: Records, hashes: np.ndarray) -> np.ndarray:
        """True for each record that is new since the state was saved or whose content changed."""
        f = records.frame
        tonight = pd.DataFrame({"feed": f["feed"].to_numpy(), "source_key": f["source_key"].to_numpy(), "now": hashes})
        before = self.records.rename(columns={"hash": "before"}).astype({"before": "UInt64"})
        joined = tonight.merge(before, on=["feed", "source_key"], how="left", sort=False)
        same = joined["before"].eq(pd.array(joined["now"].to_numpy(), dtype="UInt64")).fillna(False)
        return ~same.to_numpy(dtype=bool)

    def pairs_between_unchanged(self, records: Records, changed: np.ndarray, lookup: pd.Series) -> pd.DataFrame:
        """Last night's kept pairs whose two records are both still here and unchanged, with tonight's rids."""
        pairs = self.pairs
        a = lookup.reindex(pd.MultiIndex.from_arrays([pairs["feed_a"], pairs["source_key_a"]])).to_numpy(dtype="float64", na_value=np.nan)
        b = lookup.reindex(pd.MultiIndex.from_arrays([pairs["feed_b"], pairs["source_key_b"]])).to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(a) & ~np.isnan(b)
        ai, bi = np.nan_to_num(a).astype(np.int64), np.nan_to_num(b).astype(np.int64)
        keep = present & ~changed[ai] & ~changed[bi]
        out = pairs[keep].copy()
        out.insert(0, "rid_b", bi[keep])
        out.insert(0, "rid_a", ai[keep])
        return out.reset_index(drop=True)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.records.astype({"hash": "uint64"}).to_parquet(folder / "records.parquet", index=False)
        self.pairs.to_parquet(folder / "pairs.parquet", index=False)
        self.clusters.to_parquet(folder / "clusters.parquet", index=False)
        (folder / "state.json").write_text(json.dumps({"fingerprint": self.fingerprint}) + "\n")
        return folder

    @classmethod
    def load(cls, folder: Path) -> "MatchState | None":
        marker = folder / "state.json"
        if not marker.is_file():
            return None
        return cls(
            fingerprint=json.loads(marker.read_text())["fingerprint"],
            records=pd.read_parquet(folder / "records.parquet"),
            pairs=pd.read_parquet(folder / "pairs.parquet"),
            clusters=pd.read_parquet(folder / "clusters.parquet"),
        )
