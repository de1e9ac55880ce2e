"""A night's publication, computed in full before anything is written (``store.writes.Publication``).

Inputs: tonight's canonical records (all feeds), matching's result, validation's exceptions, and
what the store holds now (persons' content hashes, links, exceptions, dismiss decisions). Output:
only what changed, so that a night with 1 % changes writes about 1 % of the persons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nominal.clock import utcnow
from nominal.stopwatch import Stopwatch
from nominal.tables import (
    EVENTS,
    EXCEPTIONS_SEEN,
    LINKS,
    LINKS_GONE,
    PERSONS,
    RETIRED,
    WORKFLOW_COLUMNS,
    Publication,
    PublishedState,
)
from nominal.vocab import OPEN_STATUSES, ExceptionStatus

from . import findings as F
from .conflicts import conflicts
from .discrepancies import discrepancies
from .exceptions import merge_exceptions, summary
from .golden import SURVIVORSHIP_VERSION, accepted_values, golden_records, with_persons
from .keys import isin, key_index
from .review import review_findings
from .rules import PublishRules
from .tonight import feed_combinations, match_counts, review_rows, source_records

_LINK_COLUMNS = [c for c in LINKS.columns if c != "record_hash"]
_IGNORED_IN_HASH = {"extract_date", "_source", "_row"}
# what the discrepancy rules read (publish.discrepancies): a slim frame filters faster
DISCREPANCY_COLUMNS = (
    "feed",
    "source_key",
    "_row",
    "person_id",
    "booking_status",
    "release_date",
    "custody_status",
    "mappa_category",
    "mappa_level",
    "notification_due",
    "last_notified",
    "nominal_type",
    "address",
    "postcode",
)


@dataclass
class NightPublication:
    publication: Publication
    golden: pd.DataFrame  # the golden records computed tonight: every person's, or only those whose records changed
    exceptions_tonight: pd.DataFrame  # the rows written, with status after tonight
    counts: dict
    reopened: frozenset[str] = frozenset()  # the fingerprints of those the night reopens


def record_content_hashes(records: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash (as int64) of each record's content, not of when it was extracted or where it
    sat in the file: what links keep, so that the next night can tell which records changed."""
    columns = [c for c in records.columns if c not in _IGNORED_IN_HASH and c != "person_id"]
    return pd.util.hash_pandas_object(records[columns], index=False).to_numpy().view(np.int64)


def _hex(hashes: np.ndarray) -> np.ndarray:
    return np.char.mod("%016x", hashes.view(np.uint64)).astype(object)


def _hashes_at(people: pd.DataFrame, where: np.ndarray, hashes: np.ndarray | None) -> np.ndarray:
    """The content hashes, as text, of ``people``'s rows at ``where`` (NaN where -1: no such
    record), so that an exception about a record can tell when it changed. ``hashes``: all of
    ``people``'s (``record_content_hashes``) when already computed; else only those rows are hashed."""
    found = where >= 0
    out = np.full(len(where), np.nan, dtype=object)
    out[found] = _hex(hashes[where[found]] if hashes is not None else record_content_hashes(people.iloc[where[found]]))
    return out


def prepare(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    review_pairs: pd.DataFrame,
    events: pd.DataFrame,
    validation: pd.DataFrame,
    now_in_store: PublishedState,
    rules: PublishRules,
    *,
    run_id: int,
    as_of: dt.date,
    scope_feeds: set[str],
    metrics: list[dict] | None = None,
    now: dt.datetime | None = None,
    full: bool = False,
    model_version: str | None = None,
) -> NightPublication:
    """The night's publication. The golden record and its conflicts are computed for the persons
    whose records, links or status changed since the last published night; the others' stand,
    and their open conflicts are carried forward as found again. Every person is recomputed on a
    first night, with ``full``, or when the publish rules changed."""
    now = now or utcnow()
    watch = Stopwatch()
    people = with_persons(records, clusters)
    keys = key_index(people)  # one key index for every look-up below
    hashes = record_content_hashes(people)
    links = clusters[_LINK_COLUMNS].reset_index(drop=True)
    where = keys.get_indexer(key_index(links))
    if (where < 0).any():
        raise ValueError(
            f"{int((where < 0).sum())} records placed by matching are not among tonight's records: "
            "matching and publish disagree"
        )
    links["record_hash"] = hashes[where]
    same, old_person, gone = _unchanged_links(links, now_in_store.links)
    watch.lap("with_persons")

    rules_fingerprint = f"{SURVIVORSHIP_VERSION}:{rules.fingerprint()}"
    everyone = full or now_in_store.rules != rules_fingerprint
    affected = (
        None if everyone else _affected_persons(links, same, old_person, gone, clusters, now_in_store, people, keys)
    )
    subset = people if affected is None else people[isin(people["person_id"], affected)].reset_index(drop=True)
    persons = clusters if affected is None else clusters[isin(clusters["person_id"], affected)]
    pinned = accepted_values(subset, now_in_store.accepted, rules)
    golden, chosen = golden_records(subset, persons, rules, run_id, pinned)
    watch.lap("golden")

    found = F.concat(
        [
            validation_findings(validation, people, hashes, keys),
            review_findings(review_pairs, *_pair_rows_and_data(review_pairs, people, hashes, keys)),
            _attention_findings(clusters),
            _without_accepted(conflicts(subset, golden, chosen, rules.conflicts), subset, pinned),
            F.empty()
            if affected is None
            else _carried_conflicts(now_in_store.exceptions, affected, people, keys, rules),
            discrepancies(people[[c for c in DISCREPANCY_COLUMNS if c in people]], as_of, rules.discrepancies),
        ]
    )
    watch.lap("findings")
    merged = merge_exceptions(found, now_in_store.exceptions, run_id, now, scope_feeds, now_in_store.dismissed)
    rows = merged.rows
    written, seen_again = _exception_writes(rows, now_in_store.exceptions, run_id)
    watch.lap("merge_exceptions")
    # the records whose stored values change: those whose link changed, or all when the store keeps fewer
    # source records than links (a store upgraded from before revision 0006)
    rewrite = ~same if now_in_store.source_records >= len(now_in_store.links) else np.ones(len(links), dtype=bool)

    before = now_in_store.persons.set_index("person_id")["content_hash"]
    changed = golden["content_hash"].to_numpy() != before.reindex(golden["person_id"]).to_numpy(dtype=object)
    current = clusters["person_id"].unique()
    retired = now_in_store.persons[
        (now_in_store.persons["status"] != "retired") & ~isin(now_in_store.persons["person_id"], current)
    ]
    publication = Publication(
        persons=golden[changed].reset_index(drop=True),
        retired=retired[["person_id"]].reset_index(drop=True),
        links=links[~same].reset_index(drop=True),
        links_gone=gone[["feed", "source_key"]].reset_index(drop=True),
        events=events.reset_index(drop=True),
        exceptions=written,
        metrics=metrics or [],
        exceptions_seen=seen_again,
        exception_changes=merged.changes,
        review_pairs=review_rows(review_pairs, run_id, model_version),
        source_records=source_records(people.iloc[where[rewrite]], links.loc[rewrite, "record_hash"].to_numpy()),
        match_counts=match_counts(clusters, review_pairs, events, len(retired)),
        feed_combinations=feed_combinations(clusters),
    )
    watch.lap("diff")
    statuses = clusters.drop_duplicates("person_id")["status"]
    counts = {
        "seconds": watch.seconds,
        "rules": rules_fingerprint,
        "records": len(records),
        "persons": len(current),
        "persons_needing_attention": int((statuses == "needs_attention").sum()),
        "persons_recomputed": len(golden),
        "persons_written": int(changed.sum()),
        "persons_retired": len(retired),
        "links_written": int((~same).sum()),
        "links_removed": len(gone),
        "events": {str(k): int(v) for k, v in events["kind"].value_counts().items()} if len(events) else {},
        "exceptions": summary(merged, run_id),
        "exceptions_by_kind": {
            str(k): int(v) for k, v in rows[rows["last_seen_run_id"] == run_id]["kind"].value_counts().items()
        },
    }
    return NightPublication(
        publication=publication, golden=golden, exceptions_tonight=rows, counts=counts, reopened=merged.reopened
    )


def stopped_night(
    records: pd.DataFrame,
    validation: pd.DataFrame,
    published: PublishedState,
    run_id: int,
    now: dt.datetime,
    metrics: list[dict] | None = None,
) -> NightPublication:
    """A night stopped at its gates publishes no person or link, only its exceptions: validation's
    findings merged with the store's. Nothing was matched, so the records have no person; nothing is
    resolved by source, since tonight's checks did not run to the end."""
    people = records.assign(person_id=pd.NA)
    merged = merge_exceptions(validation_findings(validation, people), published.exceptions, run_id, now, set())
    written, seen_again = _exception_writes(merged.rows, published.exceptions, run_id)
    empty = Publication(
        persons=PERSONS.empty(),
        retired=RETIRED.empty(),
        links=LINKS.empty(),
        links_gone=LINKS_GONE.empty(),
        events=EVENTS.empty(),
        exceptions=written,
        metrics=metrics or [],
        exceptions_seen=seen_again,
        exception_changes=merged.changes,
    )
    counts = {"exceptions": summary(merged, run_id)}
    return NightPublication(
        publication=empty,
        golden=PERSONS.empty(),
        exceptions_tonight=merged.rows,
        counts=counts,
        reopened=merged.reopened,
    )


SEEN_AGAIN_COLUMNS = list(EXCEPTIONS_SEEN.columns)


def _exception_writes(rows: pd.DataFrame, stored: pd.DataFrame, run_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rows a night writes whole: new, or found again with something of the night's own changed;
    the rows found again unchanged, of which it writes only ``SEEN_AGAIN_COLUMNS``). Rows it resolves
    by source are not among them: those are status changes (``ExceptionMerge.changes``)."""
    tonight = rows[rows["last_seen_run_id"] == run_id].reset_index(drop=True)
    same = unchanged_exceptions(tonight, stored)
    return tonight[~same].reset_index(drop=True), tonight.loc[same, SEEN_AGAIN_COLUMNS].reset_index(drop=True)


def unchanged_exceptions(rows: pd.DataFrame, stored: pd.DataFrame) -> np.ndarray:
    """Which rows the store already holds as they are but for when they were last seen and the
    record's row tonight (rows shift as a file changes): for those a night writes only
    ``SEEN_AGAIN_COLUMNS``. Most of a night's exceptions are found again so."""
    before = stored.drop_duplicates("fingerprint").set_index("fingerprint").reindex(rows["fingerprint"])
    same = isin(rows["fingerprint"], stored["fingerprint"])
    for column in rows.columns:
        if column in SEEN_AGAIN_COLUMNS or column in WORKFLOW_COLUMNS or not same.any():
            continue  # the workflow's columns are not the night's to write: it changes them by EXCEPTION_CHANGES
        if column not in before:
            return np.zeros(len(rows), dtype=bool)
        mine, theirs = rows[column].astype(object).to_numpy(), before[column].astype(object).to_numpy()
        missing_mine, missing_theirs = pd.isna(mine), pd.isna(theirs)
        both = ~missing_mine & ~missing_theirs
        equal = missing_mine & missing_theirs
        equal[both] = mine[both] == theirs[both]
        same &= equal
    return same


def _unchanged_links(links: pd.DataFrame, stored: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(tonight's links the store already holds as they are, each link's person in the store or
    None, the stored links of records no longer delivered)."""
    tonight_keys, stored_keys = key_index(links), key_index(stored)
    old = stored.set_axis(stored_keys).reindex(tonight_keys)
    old_hash = (
        old["record_hash"].astype("Int64") if "record_hash" in old else pd.Series(pd.NA, index=old.index, dtype="Int64")
    )
    same = (
        (old["person_id"].to_numpy(dtype=object) == links["person_id"].to_numpy(dtype=object))
        & (old["linked_by"].to_numpy(dtype=object) == links["linked_by"].to_numpy(dtype=object))
        & (
            old["linked_on"].astype(object).fillna("").to_numpy()
            == links["linked_on"].astype(object).fillna("").to_numpy()
        )
        & np.isclose(
            old["match_probability"].astype("float64").fillna(-1).to_numpy(),
            links["match_probability"].astype("float64").fillna(-1).to_numpy(),
        )
        & (old_hash.fillna(0).to_numpy(dtype=np.int64) == links["record_hash"].to_numpy(dtype=np.int64))
        & old_hash.notna().to_numpy()
    )
    gone = stored[~stored_keys.isin(tonight_keys)]
    return same, old["person_id"].to_numpy(dtype=object), gone


def _affected_persons(
    links, same, old_person, gone, clusters, now_in_store: PublishedState, people, keys: pd.Index
) -> np.ndarray:
    """Persons whose golden record may differ from the one published: a record of theirs changed,
    arrived, left or moved (tonight's person and the one it left), their status changed, or an
    officer accepted a value of theirs (decisions are few; recomputing those persons is cheap)."""
    stored = now_in_store.persons.set_index("person_id")
    tonight = clusters.drop_duplicates("person_id").set_index("person_id")[["status", "status_reason"]]
    before = stored.reindex(tonight.index)
    status_changed = tonight.index[
        (tonight["status"].to_numpy(dtype=object) != before["status"].to_numpy(dtype=object))
        | (
            tonight["status_reason"].fillna("").to_numpy(dtype=object)
            != before.get("status_reason", pd.Series(index=before.index)).fillna("").to_numpy(dtype=object)
        )
    ]
    decided = []
    if now_in_store.accepted is not None and len(now_in_store.accepted):
        where = keys.get_indexer(key_index(now_in_store.accepted))
        decided = people["person_id"].to_numpy(dtype=object)[where[where >= 0]]
    parts = [
        links["person_id"].to_numpy(dtype=object)[~same],
        old_person[~same],
        gone["person_id"].to_numpy(dtype=object),
        status_changed.to_numpy(dtype=object),
        np.asarray(decided, dtype=object),
    ]
    return pd.unique(pd.Series(np.concatenate(parts), dtype=object).dropna().to_numpy(dtype=object))


def _carried_conflicts(
    existing: pd.DataFrame, affected: np.ndarray, people: pd.DataFrame, keys: pd.Index, rules: PublishRules
) -> pd.DataFrame:
    """The stored conflicts of persons not recomputed tonight, as found again (their records and
    golden record are as they were), at their record's row tonight."""
    if existing.empty:
        return F.empty()
    names = [f"{field}_differs" for field in rules.conflicts.fields]
    keep = (
        (existing["kind"] == "conflict").to_numpy()
        & isin(existing["rule"], names)
        & existing["status"].isin([*OPEN_STATUSES, ExceptionStatus.DISMISSED]).to_numpy()
        & existing["person_id"].notna().to_numpy()
        & ~isin(existing["person_id"], affected)
    )
    carried = existing[keep].reset_index(drop=True)
    out = carried.assign(row=_rows_at(people, keys.get_indexer(key_index(carried))), data=None)
    return out[[*F.FINDING_COLUMNS, "data_hash"]]


def _without_accepted(found: pd.DataFrame, records: pd.DataFrame, pinned: dict[str, np.ndarray]) -> pd.DataFrame:
    """Conflicts on a field whose value an officer accepted for the person are settled: not raised."""
    if found.empty or not pinned:
        return found
    settled = np.concatenate(
        [records["person_id"].to_numpy(dtype=object)[rows] + "\x1f" + field for field, rows in pinned.items()]
    )
    return found[~isin(found["person_id"].astype(str) + "\x1f" + found["field"].astype(str), settled)].reset_index(
        drop=True
    )


def _rows_at(people: pd.DataFrame, where: np.ndarray) -> pd.arrays.IntegerArray:
    """The delivery rows of ``people``'s records at ``where`` (NA where -1)."""
    rows = pd.array(people["_row"], dtype="Int64")
    return pd.array(np.where(where >= 0, rows[np.maximum(where, 0)], pd.NA), dtype="Int64")


def validation_findings(
    validation: pd.DataFrame, people: pd.DataFrame, hashes: np.ndarray | None = None, keys: pd.Index | None = None
) -> pd.DataFrame:
    """Validation's exceptions with the record's person and, as their data, the record's content.
    ``hashes`` and ``keys`` (``key_index(people)``): when the caller has them already."""
    if validation is None or validation.empty:
        return F.empty()
    where = (key_index(people) if keys is None else keys).get_indexer(key_index(validation))
    found = where >= 0
    out = validation.assign(
        person_id=np.where(found, people["person_id"].to_numpy(dtype=object)[np.maximum(where, 0)], None),
        data=_hashes_at(people, where, hashes),
    )
    out["data"] = out["data"].fillna(out["detail"])  # feed-level exceptions: their detail is their data
    out["other_feed"], out["other_source_key"] = None, None
    out["row"] = out["row"].astype("Int64")
    return out[list(F.FINDING_COLUMNS)]


def _pair_rows_and_data(
    pairs: pd.DataFrame, people: pd.DataFrame, hashes: np.ndarray, keys: pd.Index
) -> tuple[pd.arrays.IntegerArray | None, np.ndarray | None]:
    """For findings about pairs of records (feed_a, source_key_a, feed_b, source_key_b): record a's
    delivery row, and as data both records' content hashes (the finding reopens when either changes)."""
    if pairs is None or pairs.empty:
        return None, None
    at = keys.get_indexer(key_index(pairs, "feed_a", "source_key_a"))
    other_at = keys.get_indexer(key_index(pairs, "feed_b", "source_key_b"))
    a, b = _hashes_at(people, at, hashes), _hashes_at(people, other_at, hashes)
    return _rows_at(people, at), pd.Series(a).astype(str).to_numpy() + "|" + pd.Series(b).astype(str).to_numpy()


def _attention_findings(clusters: pd.DataFrame) -> pd.DataFrame:
    """A person whose records break a constraint or an officer's decision: one finding per person."""
    flagged = clusters[clusters["status"] == "needs_attention"].drop_duplicates("person_id")
    if flagged.empty:
        return F.empty()
    about = flagged.assign(feed=None, source_key=None, _row=pd.NA).reset_index(drop=True)
    reason = about["status_reason"].fillna("records conflict").astype(str)
    return F.findings("conflict", "person_needs_attention", "error", about, "person_id", reason, reason)
