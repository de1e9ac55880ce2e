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

# Bumped when the saved layout changes, so an older state is rebuilt rather than misread.
_FORMAT = 2
_IGNORED = {"feed", "source_key", "extract_date", "_source", "_row"}


def _fingerprint(settings: Settings) -> str:
    """Everything in the settings that changes which pairs exist or how they score (not thresholds)."""
    data = {"format": _FORMAT, **settings.model_dump(mode="json", exclude={"thresholds"})}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def content_columns(records: Records) -> list[str]:
    """The canonical columns whose change makes a record worth comparing again."""
    return [c for c in canonical.COLUMNS if c not in _IGNORED and c in records.frame.columns]


def _same(before: pd.Series, now: pd.Series) -> np.ndarray:
    equal = (
        (before.to_numpy() == now.to_numpy())
        if before.dtype == object
        else before.eq(now).fillna(False).to_numpy(dtype=bool)
    )
    return np.asarray(equal, dtype=bool) | (before.isna().to_numpy() & now.isna().to_numpy())


@dataclass
class MatchState:
    fingerprint: str
    records: pd.DataFrame  # feed, source_key and the content columns, in that night's rid order
    pairs: pd.DataFrame  # scored pairs kept, by keys
    clusters: pd.DataFrame  # feed, source_key, person_id

    @classmethod
    def build(cls, records: Records, decided: pd.DataFrame, person: np.ndarray, settings: Settings) -> MatchState:
        """The records (in rid order) with their content, their kept pairs by rid, and their persons."""
        f = records.frame
        keep = [
            "rid_a",
            "rid_b",
            "match_probability",
            "match_weight",
            *[c for c in decided.columns if c.endswith(("_level", "_weight"))],
        ]
        return cls(
            fingerprint=_fingerprint(settings),
            records=f[["feed", "source_key", *content_columns(records)]].reset_index(drop=True),
            pairs=decided[list(dict.fromkeys(keep))].reset_index(drop=True),
            clusters=pd.DataFrame(
                {"feed": f["feed"].to_numpy(), "source_key": f["source_key"].to_numpy(), "person_id": person}
            ),
        )

    def fits(self, settings: Settings) -> bool:
        return self.fingerprint == _fingerprint(settings)

    def align(self, records: Records) -> tuple[np.ndarray, np.ndarray]:
        """(changed, now): which of tonight's records are new or changed since the state was saved,
        and each saved record's rid tonight (-1 where it is gone). Columns are compared directly:
        cheaper than hashing a million records' strings, and exact."""
        now = records.rids(self.records["feed"], self.records["source_key"])
        here = np.flatnonzero(now >= 0)
        changed = np.ones(records.n, dtype=bool)
        same = np.ones(len(here), dtype=bool)
        for column in content_columns(records):
            if column not in self.records:
                same[:] = False
                break
            before = self.records[column].iloc[here].reset_index(drop=True)
            tonight = records.frame[column].iloc[now[here]].reset_index(drop=True)
            same &= _same(before.astype(tonight.dtype, errors="ignore"), tonight)
        changed[now[here]] = ~same
        return changed, now

    def pairs_between_unchanged(self, changed: np.ndarray, now: np.ndarray) -> pd.DataFrame:
        """Last night's kept pairs whose two records are both still here and unchanged, with tonight's rids."""
        a = now[self.pairs["rid_a"].to_numpy(dtype=np.int64)]
        b = now[self.pairs["rid_b"].to_numpy(dtype=np.int64)]
        keep = (a >= 0) & (b >= 0)
        keep[keep] &= ~changed[a[keep]] & ~changed[b[keep]]
        out = self.pairs[keep].reset_index(drop=True)
        lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])  # tonight's order may differ
        out["rid_a"], out["rid_b"] = lo, hi
        return out

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.records.to_parquet(folder / "records.parquet", index=False)
        self.pairs.to_parquet(folder / "pairs.parquet", index=False)
        self.clusters.to_parquet(folder / "clusters.parquet", index=False)
        (folder / "state.json").write_text(json.dumps({"fingerprint": self.fingerprint}) + "\n")
        return folder

    @classmethod
    def load(cls, folder: Path) -> MatchState | None:
        marker = folder / "state.json"
        if not marker.is_file():
            return None
        return cls(
            fingerprint=json.loads(marker.read_text())["fingerprint"],
            records=pd.read_parquet(folder / "records.parquet"),
            pairs=pd.read_parquet(folder / "pairs.parquet"),
            clusters=pd.read_parquet(folder / "clusters.parquet"),
        )
