"""Exceptions across nights.

Each exception has a fingerprint (kind, rule, feed, record, field, and the other record of a pair)
and a data hash (what it is about). Merging tonight's with the store's:

- found for the first time: a new exception, ``open``;
- found again: the same row, last seen tonight (an ``in_progress`` one stays in progress; a
  ``resolved`` one is reopened);
- ``dismissed`` by an officer: stays dismissed while its data hash is unchanged, reopens when the
  data changes;
- no longer found, among what tonight checked (``scope``): ``resolved`` by source.

The result is every row to write, in the store's columns (``nominal.tables.EXCEPTIONS``).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd

from nominal.tables import EXCEPTIONS
from nominal.vocab import OPEN_STATUSES, RECORD_KINDS

from .findings import FINDING_COLUMNS
from .keys import isin

RESOLVED_BY_SOURCE = "resolved by source: no longer found"
REOPENED = "reopened: the data changed since it was dismissed"


def _sha(values: pd.Series) -> np.ndarray:
    return np.array([hashlib.sha256(v.encode()).hexdigest()[:32] for v in values], dtype=object)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string").fillna("")


def with_fingerprints(found: pd.DataFrame) -> pd.DataFrame:
    """Tonight's findings, one per fingerprint, with ``fingerprint`` and ``data_hash``."""
    out = found.reset_index(drop=True)
    key = _text(out, "kind")
    for column in ("rule", "feed", "source_key", "field", "other_feed", "other_source_key"):
        key = key + "\x1f" + _text(out, column)
    # a person-level finding with no record is about the person
    key = key + "\x1f" + np.where(out["source_key"].isna(), _text(out, "person_id"), "")
    out["fingerprint"] = _sha(key)
    computed = _sha(_text(out, "data"))  # a finding carried from the store brings its data_hash instead
    out["data_hash"] = out["data_hash"].where(out["data_hash"].notna(), computed) if "data_hash" in out else computed
    return out.drop_duplicates("fingerprint").reset_index(drop=True)


def merge_exceptions(
    tonight: pd.DataFrame,
    existing: pd.DataFrame,
    run_id: int,
    now: dt.datetime,
    scope_feeds: set[str],
    dismissed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows to write: tonight's exceptions (new or seen again) and the ones resolved by source.

    ``existing``: the store's exceptions that can change (not resolved, or found again tonight),
    with fingerprint, status, data_hash, assignee, first_seen_run_id, first_seen_at, resolution.
    ``dismissed``: officers' active dismiss decisions (exception_fingerprint, value = data hash or empty).
    """
    found = with_fingerprints(tonight)
    # None and datetimes go into np.where as the 0-d object arrays numpy makes of them (its stubs take no others)
    null, at_now = np.array(None, dtype=object), np.array(now, dtype=object)
    old = existing.set_index("fingerprint")
    known = isin(found["fingerprint"], old.index)
    before = old.reindex(found["fingerprint"])
    status = np.where(known, before["status"].fillna("open").to_numpy(dtype=object), "open")
    resolution = np.where(known, before["resolution"].to_numpy(dtype=object), null)
    same_data = known & (before["data_hash"].to_numpy(dtype=object) == found["data_hash"].to_numpy(dtype=object))
    reopen = (status == "resolved") | ((status == "dismissed") & ~same_data)
    resolution = np.where(
        reopen, np.where(status == "dismissed", REOPENED, null), np.where(status == "resolved", null, resolution)
    )
    status = np.where(reopen, "open", status)
    if dismissed is not None and len(dismissed):
        by_officer = dismissed.drop_duplicates("exception_fingerprint", keep="last").set_index("exception_fingerprint")[
            "value"
        ]
        value = by_officer.reindex(found["fingerprint"]).to_numpy(dtype=object)
        holds = pd.notna(value) & ((value == "") | (value == found["data_hash"].to_numpy(dtype=object)))
        status = np.where(holds, "dismissed", status)
    rows = found[[c for c in FINDING_COLUMNS if c != "data"] + ["fingerprint", "data_hash"]].copy()
    rows["status"] = status
    rows["resolution"] = resolution
    rows["assignee"] = np.where(known, before["assignee"].to_numpy(dtype=object), null)
    rows["first_seen_run_id"] = np.where(known, before["first_seen_run_id"].to_numpy(dtype=object), run_id)
    rows["first_seen_at"] = np.where(known, before["first_seen_at"].to_numpy(dtype=object), at_now)
    rows["last_seen_run_id"], rows["last_seen_at"], rows["resolved_at"] = run_id, now, None

    gone = old[~isin(old.index, found["fingerprint"]) & old["status"].isin(OPEN_STATUSES).to_numpy()]
    in_scope = ~gone["kind"].isin(RECORD_KINDS) | gone["feed"].isin(scope_feeds)
    gone = gone[in_scope.to_numpy()].reset_index()
    if len(gone):
        gone = gone.assign(status="resolved", resolved_at=now, resolution=RESOLVED_BY_SOURCE)
        rows = pd.concat([rows, gone[[c for c in EXCEPTIONS.columns if c in gone]]], ignore_index=True)
    rows["row"] = rows["row"].astype("Int64")
    return rows[list(EXCEPTIONS.columns)]


def summary(rows: pd.DataFrame, run_id: int) -> dict[str, int]:
    """New, still open, closed tonight, dismissed and reopened, as counted for the night's report."""
    tonight = rows["last_seen_run_id"] == run_id
    return {
        "new": int((tonight & (rows["first_seen_run_id"] == run_id)).sum()),
        "open": int((tonight & rows["status"].isin(OPEN_STATUSES)).sum()),
        "closed": int((rows["resolution"] == RESOLVED_BY_SOURCE).sum()),
        "dismissed": int((tonight & (rows["status"] == "dismissed")).sum()),
        "reopened": int((rows["resolution"] == REOPENED).sum()),
    }
