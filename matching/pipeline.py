"""Matching, end to end: candidates → comparisons → model → decisions → persons with stable ids.

``match(...)`` is the stage's one entry point, a plain function over canonical frames. With the
previous night's state it works incrementally: only records that are new or changed since then
are compared with the rest, and the previous night's scored pairs between unchanged records are
reused. With the same model, the answer is the same as a full run's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nominal.masking import mask_identifier

from .blocking import candidate_pairs
from .clustering import cluster
from .comparisons import compare
from .decide import LINK, REVIEW, decide
from .ids import assign_ids
from .model import Model, train
from .prepare import Records, prepare
from .settings import Settings
from .state import MatchState, record_hashes

log = logging.getLogger("nominal.match")

PAIR_KEYS = ("feed_a", "source_key_a", "feed_b", "source_key_b")
REVIEW_COLUMNS = ("feed", "source_key", "other_feed", "other_source_key", "person_id", "rule", "severity", "priority",
                  "kind", "match_probability", "detail")
REVIEW_RULES = {
    "match_review": "may be the same person",
    "possible_twins": "possible twins (same surname and date of birth, different forenames): never linked automatically",
    "identifier_contradicted": "shares an identifier, but the other details disagree strongly",
}


@dataclass
class MatchResult:
    clusters: pd.DataFrame  # feed, source_key, person_id, linked_by, match_probability, status, status_reason
    pairs: pd.DataFrame  # scored pairs kept (PAIR_KEYS, probability, weight, per comparison level and weight, decision)
    review: pd.DataFrame  # REVIEW_COLUMNS: match-review exceptions for data officers
    events: pd.DataFrame  # kind, old_person_ids, new_person_id, detail
    model: Model
    state: MatchState
    stats: dict = field(default_factory=dict)


def score_pairs(records: Records, model: Model, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """The scored pair table: keys of both records, probability, weight, each comparison's level and weight."""
    gamma = compare(records, model.settings, a, b)
    scores = model.score(gamma, records)
    f = records.frame
    table = {
        "rid_a": a, "rid_b": b,
        "feed_a": f["feed"].to_numpy()[a], "source_key_a": f["source_key"].to_numpy()[a],
        "feed_b": f["feed"].to_numpy()[b], "source_key_b": f["source_key"].to_numpy()[b],
        "match_probability": scores.match_probability, "match_weight": scores.match_weight.astype("float32"),
    }
    for c in model.comparisons:
        table[f"{c.name}_level"] = gamma.levels[c.name]
        table[f"{c.name}_weight"] = scores.weights[c.name]
    return pd.DataFrame(table)


def _keep(table: pd.DataFrame, settings: Settings) -> np.ndarray:
    """Pairs worth remembering for the next night: any that could link or be reviewed."""
    keep = table["match_probability"].to_numpy() >= min(settings.thresholds.review, 0.01)
    for c in settings.comparisons:
        if c.kind == "identifier":
            keep |= table[f"{c.name}_level"].to_numpy() == 1
    surname = next((c.name for c in settings.comparisons if c.kind == "surname"), None)
    dob = next((c.name for c in settings.comparisons if c.kind == "date_of_birth"), None)
    if surname and dob:  # possible twins are reviewed whatever their probability
        keep |= (table[f"{surname}_level"].to_numpy() == 1) & (table[f"{dob}_level"].to_numpy() == 1)
    return keep


def _rid_lookup(records: Records) -> pd.Series:
    f = records.frame
    return pd.Series(np.arange(records.n), index=pd.MultiIndex.from_arrays([f["feed"], f["source_key"]]))


def _to_rids(lookup: pd.Series, feeds, keys) -> np.ndarray:
    index = pd.MultiIndex.from_arrays([pd.Series(feeds, dtype="str"), pd.Series(keys, dtype="str")])
    return lookup.reindex(index).to_numpy(dtype="float64", na_value=np.nan)


def _officer_pairs(records: Records, decisions: pd.DataFrame | None) -> pd.DataFrame:
    """Officer decisions as rid pairs (a < b) with their kind; decisions about absent records are set aside."""
    if decisions is None or decisions.empty:
        return pd.DataFrame({"rid_a": pd.Series(dtype="int64"), "rid_b": pd.Series(dtype="int64"), "officer": pd.Series(dtype="str")})
    pairs = decisions[decisions["kind"].isin(["link", "do_not_link"])]
    lookup = _rid_lookup(records)
    a = _to_rids(lookup, pairs["feed_a"], pairs["source_key_a"])
    b = _to_rids(lookup, pairs["feed_b"], pairs["source_key_b"])
    present = ~np.isnan(a) & ~np.isnan(b) & (a != b)
    out = pd.DataFrame({"rid_a": np.minimum(a, b)[present].astype(np.int64), "rid_b": np.maximum(a, b)[present].astype(np.int64),
                        "officer": pairs["kind"].to_numpy()[present]})
    # the latest decision about a pair wins (decisions arrive oldest first)
    return out.drop_duplicates(["rid_a", "rid_b"], keep="last").reset_index(drop=True)


def match(
    frames: list[pd.DataFrame],
    settings: Settings,
    *,
    model: Model | None = None,
    retrain: bool = False,
    decisions: pd.DataFrame | None = None,
    previous_links: pd.DataFrame | None = None,
    highest_id: int = 0,
    state: MatchState | None = None,
    full: bool = False,
    link_threshold: float | None = None,
) -> MatchResult:
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = round(now - started, 2)
        started = now

    records = prepare(frames)
    hashes = record_hashes(records)
    lap("prepare")

    usable = model is not None and not retrain and model.fits(settings)
    incremental = usable and state is not None and not full and state.fits(settings)
    changed = None
    if incremental:
        changed = state.changed(records, hashes)
    candidates = candidate_pairs(records, settings, only=changed)
    lap("blocking")

    if not usable:
        gamma = compare(records, settings, candidates.a, candidates.b)
        lap("compare")
        model = train(records, settings, gamma)
        lap("train")
    table = score_pairs(records, model, candidates.a, candidates.b)
    lap("score")

    kept = table[_keep(table, settings)]
    if incremental:
        reused = state.pairs_between_unchanged(records, changed, _rid_lookup(records))
        kept = pd.concat([reused, kept], ignore_index=True)
    officers = _officer_pairs(records, decisions)
    if len(officers):
        known = pd.MultiIndex.from_arrays([kept["rid_a"], kept["rid_b"]])
        missing = officers[~pd.MultiIndex.from_arrays([officers["rid_a"], officers["rid_b"]]).isin(known)]
        if len(missing):
            kept = pd.concat([kept, score_pairs(records, model, missing["rid_a"].to_numpy(), missing["rid_b"].to_numpy())], ignore_index=True)
        kept = kept.merge(officers, on=["rid_a", "rid_b"], how="left")
        kept["officer"] = kept["officer"].fillna("")
    kept = kept.sort_values(["rid_a", "rid_b"], kind="stable").reset_index(drop=True)
    decided = decide(kept, settings, link_threshold)
    lap("decide")

    links = decided[decided["decision"] == LINK]
    strength = links["match_weight"].to_numpy(dtype="float64")
    linked_by = links["linked_by"].to_numpy(dtype=object)
    strength = np.where(linked_by == "officer", np.inf, np.where(pd.Series(linked_by).str.startswith("identifier").to_numpy(), strength + 1000, strength))
    dnl = decided[decided.get("officer", pd.Series("", index=decided.index)) == "do_not_link"]
    unique_values = {name: records.frame[name].astype(object).where(records.frame[name].notna(), None).to_numpy() for name in settings.unique_identifiers if name in records.frame}
    clusters = cluster(
        records.n, links["rid_a"].to_numpy(), links["rid_b"].to_numpy(), strength, linked_by, unique_values,
        (dnl["rid_a"].to_numpy(), dnl["rid_b"].to_numpy()),
    )
    person, events = assign_ids(records.frame, clusters.label, previous_links, highest_id)
    lap("cluster")

    result_clusters = _clusters_frame(records, person, clusters, links)
    review = _review_frame(decided, person, model)
    new_state = MatchState.build(records, hashes, decided, person, settings)
    lap("outputs")
    stats = {
        "records": records.n,
        "incremental": bool(incremental),
        "changed_records": int(changed.sum()) if changed is not None else records.n,
        "candidate_pairs": len(candidates),
        "pairs_by_rule": candidates.per_rule,
        "skipped_blocks": {k: v for k, v in candidates.skipped_blocks.items() if v},
        "pairs_kept": len(decided),
        "links": int((decided["decision"] == LINK).sum()),
        "reviews": int((decided["decision"] == REVIEW).sum()),
        "links_cut": clusters.cut_links,
        "persons": int(pd.Series(person).nunique()),
        "seconds": timings,
    }
    log.info("matched %d records into %d persons (%d links, %d for review)", records.n, stats["persons"], stats["links"], stats["reviews"])
    return MatchResult(clusters=result_clusters, pairs=decided.drop(columns=["rid_a", "rid_b"]), review=review, events=events,
                       model=model, state=new_state, stats=stats)


def _clusters_frame(records: Records, person: np.ndarray, clusters, links: pd.DataFrame) -> pd.DataFrame:
    """One row per record: its person, and how it was linked (its strongest link; ``single`` if none)."""
    f = records.frame
    out = pd.DataFrame({"feed": f["feed"].to_numpy(), "source_key": f["source_key"].to_numpy(), "person_id": person})
    ends = pd.concat([
        links[["rid_a", "linked_by", "match_probability", "match_weight"]].rename(columns={"rid_a": "rid"}),
        links[["rid_b", "linked_by", "match_probability", "match_weight"]].rename(columns={"rid_b": "rid"}),
    ])
    rank = ends["linked_by"].map(lambda s: 0 if s == "officer" else (1 if str(s).startswith("identifier") else 2))
    best = ends.assign(rank=rank).sort_values(["rid", "rank", "match_weight"], ascending=[True, True, False]).drop_duplicates("rid")
    best = best.set_index("rid")
    out["linked_by"] = best["linked_by"].reindex(np.arange(records.n)).fillna("single").to_numpy()
    out["match_probability"] = best["match_probability"].reindex(np.arange(records.n)).to_numpy()
    # a record linked to nothing that stands in a cluster with others (via an officer) keeps 'single' only if alone
    out["status"] = clusters.status
    out["status_reason"] = clusters.reason
    return out


def _review_frame(decided: pd.DataFrame, person: np.ndarray, model: Model) -> pd.DataFrame:
    """Match-review exceptions: one per pair for a data officer, with the evidence in words."""
    pairs = decided[decided["decision"] == REVIEW]
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in REVIEW_COLUMNS})
    names = [c.name for c in model.comparisons]
    explanations = []
    for row in pairs.itertuples(index=False):  # reviews are few; the explanation is per pair text
        levels = {n: getattr(row, f"{n}_level") for n in names}
        weights = {n: getattr(row, f"{n}_weight") for n in names}
        explanations.append(model.explain(levels, weights))
    other = pairs["feed_b"] + " record " + pairs["source_key_b"].map(mask_identifier)
    headline = pairs["reason"].map(REVIEW_RULES)
    probability = pairs["match_probability"].map("{:.4f}".format)
    detail = headline + " as " + other + " (probability " + probability + "): " + pd.Series(explanations, index=pairs.index)
    return pd.DataFrame({
        "feed": pairs["feed_a"].to_numpy(), "source_key": pairs["source_key_a"].to_numpy(),
        "other_feed": pairs["feed_b"].to_numpy(), "other_source_key": pairs["source_key_b"].to_numpy(),
        "person_id": person[pairs["rid_a"].to_numpy()],
        "rule": pairs["reason"].to_numpy(), "severity": "error", "priority": "normal", "kind": "match_review",
        "match_probability": pairs["match_probability"].to_numpy(), "detail": detail.to_numpy(),
    })
