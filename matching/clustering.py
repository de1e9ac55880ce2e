"""Clustering linked records into persons, with constraints chaining cannot break.

Links make a graph; its connected components are persons. A component is checked against the
constraints — one person never holds two different values of a unique identifier (PNC ID, CRO
number) unless an officer linked them, and never contains both records of a do-not-link decision.
A component that breaks one is rebuilt from its strongest links down, refusing each link that
would join conflicting records: it splits at its weakest links. Its records are then marked
``needs_attention`` with the reason, until a later night no longer needs the split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from nominal.vocab import LinkedBy, PersonStatus

from .arrays import isin_sorted, unique_sorted

ACTIVE, NEEDS_ATTENTION = PersonStatus.ACTIVE.value, PersonStatus.NEEDS_ATTENTION.value


@dataclass
class Clusters:
    label: np.ndarray  # cluster number per rid
    status: np.ndarray  # PersonStatus per rid: active or needs_attention
    reason: np.ndarray  # why, per rid (object array; None when active)
    cut_links: int


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def cluster(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    strength: np.ndarray,
    linked_by: np.ndarray,
    unique_values: dict[str, np.ndarray],
    do_not_link: tuple[np.ndarray, np.ndarray],
) -> Clusters:
    """Persons from links (rid pairs), their strength (higher first kept) and how each was made.

    ``unique_values``: identifier name → per-rid value (None/NaN where absent).
    ``do_not_link``: rid pairs an officer has said are different people.
    """
    label = components(n, a, b)
    status = np.full(n, ACTIVE, dtype=object)
    reason = np.full(n, None, dtype=object)
    violating = _violating_components(label, unique_values, do_not_link)
    if not len(violating):
        return Clusters(label=label, status=status, reason=reason, cut_links=0)

    in_bad = isin_sorted(label, violating)
    next_label = int(label.max()) + 1 if n else 0
    dnl = _pair_set(*do_not_link)
    cut_total = 0
    # the records and links of each violating component, found by sorting once (not a scan per component)
    bad_records = np.flatnonzero(in_bad)
    bad_records = bad_records[np.argsort(label[bad_records], kind="stable")]
    record_bounds = (
        np.searchsorted(label[bad_records], violating, side="left"),
        np.searchsorted(label[bad_records], violating, side="right"),
    )
    bad_edges = np.flatnonzero(in_bad[a])
    bad_edges = bad_edges[np.argsort(label[a[bad_edges]], kind="stable")]
    edge_bounds = (
        np.searchsorted(label[a[bad_edges]], violating, side="left"),
        np.searchsorted(label[a[bad_edges]], violating, side="right"),
    )
    for i in range(len(violating)):
        members = bad_records[record_bounds[0][i] : record_bounds[1][i]]
        edges = bad_edges[edge_bounds[0][i] : edge_bounds[1][i]]
        order = edges[np.lexsort((b[edges], a[edges], -strength[edges]))]  # strongest first, ties by rid
        parent = {int(r): int(r) for r in members}
        values = {
            int(r): {name: ({v[r]} if _present(v[r]) else set()) for name, v in unique_values.items()} for r in members
        }
        refused = set()
        notes: dict[int, set[str]] = {}
        groups = {int(r): {int(r)} for r in members}
        for e in order:
            x, y = _find(parent, int(a[e])), _find(parent, int(b[e]))
            if x == y:
                continue
            officer = linked_by[e] == LinkedBy.OFFICER
            conflict = _conflict(values[x], values[y])
            blocked = any((p, q) in dnl for p in groups[x] for q in groups[y])
            if blocked or (conflict and not officer):
                refused.add(e)
                why = "an officer's do-not-link decision" if blocked else f"two different {conflict} values"
                notes.setdefault(x, set()).add(why)
                notes.setdefault(y, set()).add(why)
                continue
            if conflict and officer:
                notes.setdefault(x, set()).add(f"an officer linked records with different {conflict} values")
            parent[y] = x
            groups[x] |= groups.pop(y)
            for name in values[x]:
                values[x][name] |= values[y][name]
            notes.setdefault(x, set()).update(notes.pop(y, set()))
            values.pop(y)
        cut_total += len(refused)
        for root, group in groups.items():
            rids = np.fromiter(group, dtype=np.int64)
            label[rids] = next_label
            next_label += 1
            found = notes.get(root)
            if found:
                status[rids] = NEEDS_ATTENTION
                reason[rids] = "linked records were split: " + "; ".join(sorted(found))
    return Clusters(label=label, status=status, reason=reason, cut_links=cut_total)


def _find(parent: dict[int, int], x: int) -> int:
    """The root of ``x``'s group (union-find, halving the path on the way)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _present(value) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and np.isnan(value))


def _conflict(x: dict[str, set], y: dict[str, set]) -> str | None:
    """The identifier two groups of records would hold more than one value of, if joined."""
    for name in x:
        if x[name] and y[name] and len(x[name] | y[name]) > 1:
            return name.replace("_", " ")
    return None


def _pair_set(a: np.ndarray, b: np.ndarray) -> set[tuple[int, int]]:
    pairs = set()
    for x, y in zip(a.tolist(), b.tolist()):
        pairs.add((x, y))
        pairs.add((y, x))
    return pairs


def _violating_components(label: np.ndarray, unique_values: dict[str, np.ndarray], do_not_link) -> np.ndarray:
    """Clusters holding two different values of a unique identifier, or both records of a do-not-link pair."""
    bad = []
    for values in unique_values.values():
        codes = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)[0].astype(np.int64)
        present = codes >= 0
        distinct = unique_sorted(label[present] * (int(codes.max()) + 1) + codes[present])
        per_label = np.bincount(distinct // (int(codes.max()) + 1), minlength=int(label.max()) + 1 if len(label) else 0)
        bad.append(np.flatnonzero(per_label > 1))
    da, db = do_not_link
    if len(da):
        same = label[da] == label[db]
        bad.append(label[da][same])
    return unique_sorted(np.concatenate(bad)) if bad else np.zeros(0, dtype=np.int64)
