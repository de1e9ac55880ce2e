"""Stable person ids: tonight's clusters mapped onto the previous night's ids.

Each previous id goes to the new cluster holding most of its records (ties: the smaller cluster
key), each cluster takes at most one id, and clusters left over get new ids, numbered in the order
of their smallest (feed, source_key) — never in the order rows arrived. Merges (one cluster
holding records of several previous ids) and splits (one id's records now in several clusters)
are recorded as events, so nothing that referred to an old id is lost.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

PREFIX = "P"
DIGITS = 9


def format_id(number: int) -> str:
    return f"{PREFIX}{number:0{DIGITS}d}"


def id_number(person_id: str) -> int:
    return int(person_id[len(PREFIX):]) if isinstance(person_id, str) and person_id.startswith(PREFIX) else 0


def assign_ids(records: pd.DataFrame, labels: np.ndarray, previous: pd.DataFrame | None, highest_used: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Person id per record and the events (merged, split, retired) against ``previous`` links.

    ``records``: feed, source_key in rid order. ``previous``: feed, source_key, person_id.
    ``highest_used``: the largest id number ever issued (ids are never reused).
    """
    frame = pd.DataFrame({"feed": records["feed"].to_numpy(), "source_key": records["source_key"].to_numpy(), "cluster": labels})
    frame["key"] = frame["feed"].astype("str") + "\x1f" + frame["source_key"].astype("str")
    cluster_key = frame.groupby("cluster")["key"].min()  # a cluster's name, independent of row order

    if previous is not None and len(previous):
        prev = previous.assign(key=previous["feed"].astype("str") + "\x1f" + previous["source_key"].astype("str"))
        joined = frame.merge(prev[["key", "person_id"]], on="key", how="inner")
        overlap = joined.groupby(["person_id", "cluster"]).size().rename("records").reset_index()
        overlap["cluster_key"] = overlap["cluster"].map(cluster_key)
        overlap = overlap.sort_values(["records", "person_id", "cluster_key"], ascending=[False, True, True], kind="stable")
        highest_used = max(highest_used, int(prev["person_id"].map(id_number).max()))
    else:
        joined = pd.DataFrame(columns=["key", "person_id", "cluster"])
        overlap = pd.DataFrame(columns=["person_id", "cluster", "records", "cluster_key"])

    # Most ids meet exactly one cluster that meets no other id: those map directly. The rest
    # (merges and splits) are settled greedily, largest overlap first.
    ids_per_cluster = overlap.groupby("cluster")["person_id"].transform("size")
    clusters_per_id = overlap.groupby("person_id")["cluster"].transform("size")
    simple = (ids_per_cluster == 1) & (clusters_per_id == 1)
    cluster_id: dict[int, str] = dict(zip(overlap.loc[simple, "cluster"].astype(int), overlap.loc[simple, "person_id"]))
    taken_ids: set[str] = set(cluster_id.values())
    for person_id, cluster in zip(overlap.loc[~simple, "person_id"], overlap.loc[~simple, "cluster"]):
        if person_id in taken_ids or int(cluster) in cluster_id:
            continue
        taken_ids.add(person_id)
        cluster_id[int(cluster)] = person_id
    unassigned = cluster_key[~cluster_key.index.isin(list(cluster_id))].sort_values(kind="stable")
    for offset, cluster in enumerate(unassigned.index, start=1):
        cluster_id[int(cluster)] = format_id(highest_used + offset)

    person = frame["cluster"].map(cluster_id).to_numpy(dtype=object)
    events = _events(joined, cluster_id, previous)
    return person, events


def _events(joined: pd.DataFrame, cluster_id: dict[int, str], previous: pd.DataFrame | None) -> pd.DataFrame:
    rows = []
    if len(joined):
        joined = joined.assign(new_id=joined["cluster"].map(cluster_id))
        old_per_new = joined.groupby("new_id")["person_id"].unique()
        for new_id, olds in old_per_new.items():
            olds = sorted(set(olds))
            if len(olds) > 1:
                rows.append({"kind": "merged", "old_person_ids": olds, "new_person_id": new_id,
                             "detail": {"records": int((joined["new_id"] == new_id).sum())}})
        new_per_old = joined.groupby("person_id")["new_id"].unique()
        for old_id, news in new_per_old.items():
            news = sorted(set(news))
            if len(news) > 1:
                for new_id in news:
                    if new_id != old_id:
                        rows.append({"kind": "split", "old_person_ids": [old_id], "new_person_id": new_id,
                                     "detail": {"into": news}})
    if previous is not None and len(previous):
        still = set(joined["person_id"]) if len(joined) else set()
        current = set(cluster_id.values())
        for old_id in sorted(set(previous["person_id"]) - still - current):
            rows.append({"kind": "retired", "old_person_ids": [old_id], "new_person_id": None,
                         "detail": {"reason": "no current record"}})
    events = pd.DataFrame(rows, columns=["kind", "old_person_ids", "new_person_id", "detail"])
    return events


def events_for_csv(events: pd.DataFrame) -> pd.DataFrame:
    out = events.copy()
    for column in ("old_person_ids", "detail"):
        out[column] = out[column].map(json.dumps)
    return out
