"""Exceptions across nights.

Each exception has a fingerprint (kind, rule, feed, record, field, and the other record of a pair)
and a data hash (what it is about). Merging tonight's with the store's:

- found for the first time: a new exception, ``open``;
- found again: the same row, last seen tonight (one an officer has assigned or started stays so; a
  ``resolved`` one is reopened);
- ``dismissed`` by an officer: stays dismissed while its data hash is unchanged, reopens when the
  data changes;
- no longer found, among what tonight checked (``scope``): ``resolved`` by source.

The result is every row to write, in the store's columns (``nominal.tables.EXCEPTIONS``), and the
status changes to make to the rows the store holds (``nominal.tables.EXCEPTION_CHANGES``): a night
changes an officer's columns only against the version it read, so work done during the night stands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nominal.tables import EXCEPTION_CHANGES, EXCEPTIONS
from nominal.vocab import OPEN_STATUSES, RECORD_KINDS, ExceptionAction, ExceptionStatus

from .findings import FINDING_COLUMNS
from .keys import isin

OPEN, RESOLVED, DISMISSED = ExceptionStatus.OPEN.value, ExceptionStatus.RESOLVED.value, ExceptionStatus.DISMISSED.value
REOPENED_ACTION, DISMISSED_ACTION = ExceptionAction.REOPENED.value, ExceptionAction.DISMISSED.value
RESOLVED_BY_SOURCE = "resolved by source: no longer found"
REOPENED = "reopened: the data changed since it was dismissed"


def _sha(values: pd.Series) -> np.ndarray:
    return np.array([hashlib.sha256(v.encode()).hexdigest()[:32] for v in values], dtype=object)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string").fillna("")


def fingerprints(found: pd.DataFrame) -> np.ndarray:
    """What each finding is about, as a key that is the same on every night that finds it: kind, rule,
    record, field and the other record of a pair (a person-level finding with no record: the person)."""
    out = found.reset_index(drop=True)
    key = _text(out, "kind")
    for column in ("rule", "feed", "source_key", "field", "other_feed", "other_source_key"):
        key = key + "\x1f" + _text(out, column)
    key = key + "\x1f" + np.where(out["source_key"].isna(), _text(out, "person_id"), "")
    return _sha(key)


def with_fingerprints(found: pd.DataFrame) -> pd.DataFrame:
    """Tonight's findings, one per fingerprint, with ``fingerprint`` and ``data_hash``."""
    out = found.reset_index(drop=True)
    out["fingerprint"] = fingerprints(out)
    computed = _sha(_text(out, "data"))  # a finding carried from the store brings its data_hash instead
    out["data_hash"] = out["data_hash"].where(out["data_hash"].notna(), computed) if "data_hash" in out else computed
    return out.drop_duplicates("fingerprint").reset_index(drop=True)


@dataclass
class ExceptionMerge:
    """A night's exceptions merged with the store's.

    ``rows``: tonight's exceptions with the status the night leaves them in, and those it resolves by
    source (EXCEPTIONS; for the reports and counts, and the rows a night writes). ``changes``: the
    status changes the night makes to rows the store holds (EXCEPTION_CHANGES), each against the
    version the night read, so that an officer's change made meanwhile is never overwritten.
    """

    rows: pd.DataFrame
    changes: pd.DataFrame

    @property
    def reopened(self) -> frozenset[str]:
        """The fingerprints of the exceptions the night reopens (found again once resolved, or their
        data changed since they were dismissed)."""
        return frozenset(self.changes.loc[self.changes["action"] == REOPENED_ACTION, "fingerprint"])


def merge_exceptions(
    tonight: pd.DataFrame,
    existing: pd.DataFrame,
    run_id: int,
    now: dt.datetime,
    scope_feeds: set[str],
    dismissed: pd.DataFrame | None = None,
) -> ExceptionMerge:
    """Merge tonight's findings with the store's exceptions.

    ``existing``: the store's exceptions that can change (not resolved, or found again tonight),
    with fingerprint, status, version, data_hash, first_seen_run_id, first_seen_at, resolution.
    ``dismissed``: officers' active dismiss decisions (exception_fingerprint, value = data hash or empty).
    """
    found = with_fingerprints(tonight)
    # None and datetimes go into np.where as the 0-d object arrays numpy makes of them (its stubs take no others)
    null, at_now = np.array(None, dtype=object), np.array(now, dtype=object)
    old = existing.set_index("fingerprint")
    known = isin(found["fingerprint"], old.index)
    before = old.reindex(found["fingerprint"])
    was = np.where(known, before["status"].fillna(OPEN).to_numpy(dtype=object), OPEN)
    resolution = np.where(known, before["resolution"].to_numpy(dtype=object), null)
    same_data = known & (before["data_hash"].to_numpy(dtype=object) == found["data_hash"].to_numpy(dtype=object))
    reopen = (was == RESOLVED) | ((was == DISMISSED) & ~same_data)
    resolution = np.where(
        reopen, np.where(was == DISMISSED, REOPENED, null), np.where(was == RESOLVED, null, resolution)
    )
    status = np.where(reopen, OPEN, was)
    if dismissed is not None and len(dismissed):
        latest = dismissed.drop_duplicates("exception_fingerprint", keep="last")
        value = latest.set_index("exception_fingerprint")["value"].reindex(found["fingerprint"]).to_numpy(dtype=object)
        holds = pd.notna(value) & ((value == "") | (value == found["data_hash"].to_numpy(dtype=object)))
        status = np.where(holds, DISMISSED, status)
    rows = found[[c for c in FINDING_COLUMNS if c != "data"] + ["fingerprint", "data_hash"]].copy()
    rows["status"] = status
    rows["resolution"] = resolution
    rows["first_seen_run_id"] = np.where(known, before["first_seen_run_id"].to_numpy(dtype=object), run_id)
    rows["first_seen_at"] = np.where(known, before["first_seen_at"].to_numpy(dtype=object), at_now)
    rows["last_seen_run_id"], rows["last_seen_at"], rows["resolved_at"] = run_id, now, None
    rows["version"] = np.where(known, before["version"].to_numpy(dtype=object), 1)

    moved = known & (status != was)
    changes = _changes(rows[moved], np.where(status[moved] == DISMISSED, DISMISSED_ACTION, REOPENED_ACTION), False)

    gone = old[~isin(old.index, found["fingerprint"]) & old["status"].isin(OPEN_STATUSES).to_numpy()]
    in_scope = ~gone["kind"].isin(RECORD_KINDS) | gone["feed"].isin(scope_feeds)
    gone = gone[in_scope.to_numpy()].reset_index()
    if len(gone):
        gone = gone.assign(status=RESOLVED, resolved_at=now, resolution=RESOLVED_BY_SOURCE)
        rows = pd.concat([rows, gone[[c for c in EXCEPTIONS.columns if c in gone]]], ignore_index=True)
        changes = pd.concat([changes, _changes(gone, ExceptionAction.RESOLVED_BY_SOURCE, True)], ignore_index=True)
    rows["row"] = rows["row"].astype("Int64")
    return ExceptionMerge(rows[list(EXCEPTIONS.columns)], changes)


def _changes(rows: pd.DataFrame, action: object, resolved: bool) -> pd.DataFrame:
    if rows.empty:
        return EXCEPTION_CHANGES.empty()
    out = pd.DataFrame(
        {
            "fingerprint": rows["fingerprint"].to_numpy(dtype=object),
            "version": rows["version"].to_numpy(dtype=object),
            "action": np.broadcast_to(np.asarray(action, dtype=object), len(rows)),
            "to_status": rows["status"].to_numpy(dtype=object),
            "resolution": rows["resolution"].to_numpy(dtype=object),
            "resolved": resolved,
        }
    )
    return out[list(EXCEPTION_CHANGES.columns)]


def summary(merged: ExceptionMerge, run_id: int) -> dict[str, int]:
    """New, still open, closed tonight, dismissed and reopened, as counted for the night's report."""
    rows = merged.rows
    tonight = rows["last_seen_run_id"] == run_id
    return {
        "new": int((tonight & (rows["first_seen_run_id"] == run_id)).sum()),
        "open": int((tonight & rows["status"].isin(OPEN_STATUSES)).sum()),
        "closed": int((rows["resolution"] == RESOLVED_BY_SOURCE).sum()),
        "dismissed": int((tonight & (rows["status"] == "dismissed")).sum()),
        "reopened": len(merged.reopened),
    }
