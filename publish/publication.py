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

from store.writes import Publication

from . import findings as F
from .conflicts import conflicts
from .discrepancies import discrepancies
from .exceptions import merge_exceptions, summary
from .golden import golden_records, with_persons
from .keys import isin, record_keys
from .rules import PublishRules

_LINK_COLUMNS = ["feed", "source_key", "person_id", "match_probability", "linked_by"]
_IGNORED_IN_HASH = {"extract_date", "_source", "_row"}
# what the discrepancy rules read (publish.discrepancies): a slim frame filters faster
DISCREPANCY_COLUMNS = (
    "feed", "source_key", "_row", "person_id", "booking_status", "release_date", "custody_status", "mappa_category",
    "mappa_level", "notification_due", "last_notified", "nominal_type", "address", "postcode",
)


@dataclass
class StoreNow:
    """What the store holds before tonight's publication (store.queries)."""

    persons: pd.DataFrame  # person_id, status, content_hash
    links: pd.DataFrame  # feed, source_key, person_id, match_probability, linked_by
    exceptions: pd.DataFrame  # store.queries.EXCEPTION_MERGE_COLUMNS
    dismissed: pd.DataFrame  # exception_fingerprint, value

    @classmethod
    def read(cls, engine) -> StoreNow:
        from store import queries

        return cls(queries.published_persons(engine), queries.published_links(engine), queries.exceptions_for_merge(engine), queries.dismiss_decisions(engine))


@dataclass
class NightPublication:
    publication: Publication
    golden: pd.DataFrame  # every current person's golden record (publish.golden.GOLDEN_COLUMNS)
    exceptions_tonight: pd.DataFrame  # the rows written, with status after tonight
    counts: dict


def record_hashes(records: pd.DataFrame, keys: pd.DataFrame) -> pd.Series:
    """A hash of the content of the records named by ``keys`` (feed, source_key), indexed by them,
    so that an exception about a record can tell when it changed. Only those records are hashed."""
    index = record_keys(records)
    wanted = index.isin(record_keys(keys.dropna(subset=["feed", "source_key"])))
    subset = records[wanted]
    columns = [c for c in records.columns if c not in _IGNORED_IN_HASH and c != "person_id"]
    hashed = pd.util.hash_pandas_object(subset[columns], index=False).to_numpy()
    return pd.Series(np.char.mod("%016x", hashed).astype(object), index=index[wanted])


def prepare(
    records: pd.DataFrame, clusters: pd.DataFrame, review: pd.DataFrame, events: pd.DataFrame, validation: pd.DataFrame,
    now_in_store: StoreNow, rules: PublishRules, *, run_id: int, as_of: dt.date, scope_feeds: set[str],
    metrics: list[dict] | None = None, now: dt.datetime | None = None,
) -> NightPublication:
    from store.models import utcnow

    now = now or utcnow()
    people = with_persons(records, clusters)
    golden, chosen = golden_records(people, clusters, rules, run_id)

    found = F.concat([
        validation_findings(validation, people),
        _review_findings(review, people),
        _attention_findings(clusters),
        conflicts(people, golden, chosen, rules.conflicts),
        discrepancies(people[[c for c in DISCREPANCY_COLUMNS if c in people]], as_of, rules.discrepancies),
    ])
    rows = merge_exceptions(found, now_in_store.exceptions, run_id, now, scope_feeds, now_in_store.dismissed)

    before = now_in_store.persons.set_index("person_id")["content_hash"]
    changed = golden["content_hash"].to_numpy() != before.reindex(golden["person_id"]).to_numpy(dtype=object)
    current = set(golden["person_id"])
    retired = now_in_store.persons[(now_in_store.persons["status"] != "retired") & ~isin(now_in_store.persons["person_id"], list(current))]

    links = clusters[_LINK_COLUMNS].reset_index(drop=True)
    tonight_keys, stored_keys = record_keys(links), record_keys(now_in_store.links)
    old = now_in_store.links.set_axis(stored_keys).reindex(tonight_keys)
    same = (old["person_id"].to_numpy(dtype=object) == links["person_id"].to_numpy(dtype=object)) & (
        old["linked_by"].to_numpy(dtype=object) == links["linked_by"].to_numpy(dtype=object)
    ) & np.isclose(old["match_probability"].astype("float64").fillna(-1).to_numpy(), links["match_probability"].astype("float64").fillna(-1).to_numpy())
    gone = now_in_store.links[~stored_keys.isin(tonight_keys)]

    publication = Publication(
        persons=golden[changed].reset_index(drop=True),
        retired=retired[["person_id"]].reset_index(drop=True),
        links=links[~same].reset_index(drop=True),
        links_gone=gone[["feed", "source_key"]].reset_index(drop=True),
        events=events.reset_index(drop=True),
        exceptions=rows,
        metrics=metrics or [],
    )
    counts = {
        "records": len(records),
        "persons": len(golden),
        "persons_needing_attention": int((golden["status"] == "needs_attention").sum()),
        "persons_written": int(changed.sum()),
        "persons_retired": len(retired),
        "links_written": int((~same).sum()),
        "links_removed": len(gone),
        "events": {str(k): int(v) for k, v in events["kind"].value_counts().items()} if len(events) else {},
        "exceptions": summary(rows, run_id),
        "exceptions_by_kind": {str(k): int(v) for k, v in rows[rows["last_seen_run_id"] == run_id]["kind"].value_counts().items()},
    }
    return NightPublication(publication=publication, golden=golden, exceptions_tonight=rows, counts=counts)


def validation_findings(validation: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """Validation's exceptions with the record's person and, as their data, the record's content."""
    if validation is None or validation.empty:
        return F.empty()
    hashes = record_hashes(people, validation)
    where = record_keys(people).get_indexer(record_keys(validation))
    found = where >= 0
    out = validation.assign(person_id=None, data=None)
    out.loc[found, "person_id"] = people["person_id"].to_numpy(dtype=object)[where[found]]
    out.loc[found, "data"] = hashes.reindex(record_keys(validation)[found]).to_numpy(dtype=object)
    out["data"] = out["data"].fillna(out["detail"])  # feed-level exceptions: their detail is their data
    out["other_feed"], out["other_source_key"] = None, None
    out["row"] = out["row"].astype("Int64")
    return out[list(F.FINDING_COLUMNS)]


def _review_findings(review: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    if review is None or review.empty:
        return F.empty()
    both = pd.concat([review[["feed", "source_key"]], review[["other_feed", "other_source_key"]].set_axis(["feed", "source_key"], axis=1)])
    hashes = record_hashes(people, both)
    a = hashes.reindex(record_keys(review)).to_numpy(dtype=object)
    b = hashes.reindex(record_keys(review, "other_feed", "other_source_key")).to_numpy(dtype=object)
    rows = people["_row"].set_axis(record_keys(people)).reindex(record_keys(review))
    out = review.assign(field=None, row=pd.array(rows.to_numpy(), dtype="Int64"), data=pd.Series(a).astype(str).to_numpy() + "|" + pd.Series(b).astype(str).to_numpy())
    return out[list(F.FINDING_COLUMNS)]


def _attention_findings(clusters: pd.DataFrame) -> pd.DataFrame:
    """A person whose records break a constraint or an officer's decision: one finding per person."""
    flagged = clusters[clusters["status"] == "needs_attention"].drop_duplicates("person_id")
    if flagged.empty:
        return F.empty()
    about = flagged.assign(feed=None, source_key=None, _row=pd.NA).reset_index(drop=True)
    reason = about["status_reason"].fillna("records conflict").astype(str)
    return F.findings("conflict", "person_needs_attention", "error", about, "person_id", reason, reason)
