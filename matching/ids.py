"""Stable person ids: tonight's clusters mapped onto the previous night's ids.

Each previous id goes to the new cluster holding most of its records (ties: the smaller cluster
key), each cluster takes at most one id, and clusters left over get new ids, numbered in the order
of their smallest (feed, source_key) — never in the order rows arrived. Merges (one cluster
holding records of several previous ids) and splits (one id's records now in several clusters)
are recorded as events, so nothing that referred to an old id is lost.

Everything is integer arithmetic on codes (previous ids factorised once): a night of a million
records maps its ids in a couple of seconds.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nominal.canonical import record_keys
from nominal.vocab import PersonEventKind

from .arrays import group_rows
from .schemas import EVENTS

PREFIX = "P"
DIGITS = 9


def format_id(number: int) -> str:
    return f"{PREFIX}{number:0{DIGITS}d}"


def assign_ids(
    records: pd.DataFrame, labels: np.ndarray, previous: pd.DataFrame | None, highest_used: int = 0
) -> tuple[np.ndarray, pd.DataFrame]:
    """Person id per record and the events (merged, split, retired) against ``previous`` links.

    ``records``: the records in rid order (key order), with ``_key`` or feed and source_key.
    ``previous``: feed, source_key, person_id. ``highest_used``: the largest id number ever issued.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n_labels = int(labels.max()) + 1 if len(labels) else 0
    # rids are in key order, so a cluster's smallest rid is its smallest key: its name
    first_rid = np.full(n_labels, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_rid, labels, np.arange(len(labels)))
    present_labels = np.flatnonzero(first_rid < np.iinfo(np.int64).max)

    old_ids = np.zeros(0, dtype=object)
    cluster_of = old_of = np.zeros(0, dtype=np.int64)
    if previous is not None and len(previous):
        key = records["_key"] if "_key" in records else record_keys(records["feed"], records["source_key"])
        rid = pd.Index(key).get_indexer(record_keys(previous["feed"], previous["source_key"]))
        old_codes, old_ids = pd.factorize(previous["person_id"].astype("str"))
        old_ids = np.asarray(old_ids, dtype=object)
        here = rid >= 0
        cluster_of, old_of = labels[rid[here]], old_codes[here].astype(np.int64)
        numbers = pd.Series(old_ids, dtype="str").str.slice(len(PREFIX)).astype("int64")
        highest_used = max(highest_used, int(numbers.max()))

    # overlaps: (old id, cluster) → records in common
    pair_code = old_of * n_labels + cluster_of
    first, counts = group_rows(pair_code)
    overlap_old, overlap_cluster = old_of[first], cluster_of[first]
    clusters_per_old = np.bincount(overlap_old, minlength=len(old_ids))
    olds_per_cluster = np.bincount(overlap_cluster, minlength=n_labels)
    simple = (clusters_per_old[overlap_old] == 1) & (olds_per_cluster[overlap_cluster] == 1)

    assigned = np.full(n_labels, -1, dtype=np.int64)  # old-id code given to each cluster
    assigned[overlap_cluster[simple]] = overlap_old[simple]
    # merges and splits: largest overlap first, then the smaller old id, then the smaller cluster key
    rest = np.flatnonzero(~simple)
    order = rest[np.lexsort((first_rid[overlap_cluster[rest]], _id_rank(old_ids)[overlap_old[rest]], -counts[rest]))]
    taken = np.zeros(len(old_ids), dtype=bool)
    taken[overlap_old[simple]] = True
    for i in order:  # few: only ids whose records moved between persons
        old, cluster = overlap_old[i], overlap_cluster[i]
        if not taken[old] and assigned[cluster] < 0:
            taken[old] = True
            assigned[cluster] = old

    person_of_label = np.full(n_labels, None, dtype=object)
    reused = present_labels[assigned[present_labels] >= 0]
    person_of_label[reused] = old_ids[assigned[reused]]
    fresh = present_labels[assigned[present_labels] < 0]
    fresh = fresh[np.argsort(first_rid[fresh], kind="stable")]
    person_of_label[fresh] = [format_id(highest_used + i) for i in range(1, len(fresh) + 1)]

    person = person_of_label[labels]
    events = _events(old_ids, overlap_old, overlap_cluster, counts, person_of_label)
    return person, events


def _id_rank(ids: np.ndarray) -> np.ndarray:
    """Each id's position in sorted order (for tie-breaks)."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(ids.astype(str), kind="stable")] = np.arange(len(ids))
    return rank


def _members(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """For each wanted key, the values of the rows holding it (one sort, then slices)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    start, end = np.searchsorted(sorted_keys, wanted, "left"), np.searchsorted(sorted_keys, wanted, "right")
    return {int(k): values[order[s:e]] for k, s, e in zip(wanted, start, end)}


def _events(old_ids, overlap_old, overlap_cluster, counts, person_of_label) -> pd.DataFrame:
    """Merges, splits and retirements; only the few that happened are built one by one."""
    rows = []
    olds_per_cluster = np.bincount(overlap_cluster, minlength=len(person_of_label))
    clusters_per_old = np.bincount(overlap_old, minlength=len(old_ids))
    records_per_cluster = np.bincount(overlap_cluster, weights=counts, minlength=len(person_of_label))
    merged = np.flatnonzero(olds_per_cluster > 1)
    for cluster, olds in _members(overlap_cluster, overlap_old, merged).items():
        rows.append(
            {
                "kind": PersonEventKind.MERGED.value,
                "old_person_ids": sorted(old_ids[olds]),
                "new_person_id": person_of_label[cluster],
                "detail": {"records": int(records_per_cluster[cluster])},
            }
        )
    split = np.flatnonzero(clusters_per_old > 1)
    for old, clusters in _members(overlap_old, overlap_cluster, split).items():
        into = sorted(person_of_label[clusters])
        rows += [
            {
                "kind": PersonEventKind.SPLIT.value,
                "old_person_ids": [old_ids[old]],
                "new_person_id": new_id,
                "detail": {"into": into},
            }
            for new_id in into
            if new_id != old_ids[old]
        ]
    seen = np.zeros(len(old_ids), dtype=bool)
    seen[overlap_old] = True
    for gone in np.flatnonzero(~seen):  # an old id none of tonight's records carries on
        rows.append(
            {
                "kind": PersonEventKind.RETIRED.value,
                "old_person_ids": [old_ids[gone]],
                "new_person_id": None,
                "detail": {"reason": "no current record"},
            }
        )
    return pd.DataFrame(rows, columns=list(EVENTS.columns))


def events_for_csv(events: pd.DataFrame) -> pd.DataFrame:
    out = events.copy()
    for column in ("old_person_ids", "detail"):
        out[column] = out[column].map(json.dumps)
    return out
