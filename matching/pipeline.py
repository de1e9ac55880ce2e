"""Matching, end to end: candidates → comparisons → model → decisions → persons with stable ids.

``match(...)`` is the stage's one entry point, a plain function over canonical frames. With the
previous night's state it works incrementally: only records that are new or changed since then
are compared with the rest, and the previous night's scored pairs between unchanged records are
reused. With the same model, the answer is the same as a full run's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nominal.stopwatch import Stopwatch
from nominal.vocab import DecisionKind, LinkedBy, PersonStatus

from . import levels
from .arrays import isin_sorted, unique_sorted
from .blocking import candidate_pairs
from .blocking_keys import is_derived
from .clustering import Clusters, cluster
from .comparisons import Gamma, compare
from .decide import decide
from .ids import assign_ids
from .model import Model, Scores, train
from .prepare import Records, prepare
from .schemas import REVIEW_PAIRS, PairDecision, ReviewReason
from .settings import Settings
from .state import MatchState

log = logging.getLogger("nominal.match")


@dataclass
class MatchResult:
    """What a match gives: each frame in its schema (``matching.schemas``), the model and the state."""

    clusters: pd.DataFrame  # CLUSTERS: one row per record with its person and how it was linked
    pairs: pd.DataFrame  # PAIRS: the scored pairs kept, with each comparison's level and weight, and the decision
    review_pairs: pd.DataFrame  # REVIEW_PAIRS: the pairs a data officer must decide, with the evidence
    events: pd.DataFrame  # EVENTS: persons merged, split or retired since the previous links
    model: Model
    state: MatchState
    stats: dict = field(default_factory=dict)


def pair_table(records: Records, model: Model, gamma: Gamma, scores: Scores) -> pd.DataFrame:
    """The scored pair table: keys of both records, probability, weight, each comparison's level and weight."""
    f = records.frame
    a, b = gamma.a, gamma.b
    table = {
        "rid_a": a,
        "rid_b": b,
        "feed_a": f["feed"].to_numpy()[a],
        "source_key_a": f["source_key"].to_numpy()[a],
        "feed_b": f["feed"].to_numpy()[b],
        "source_key_b": f["source_key"].to_numpy()[b],
        "match_probability": scores.match_probability,
        "match_weight": scores.match_weight.astype("float32"),
    }
    for c in model.comparisons:
        table[f"{c.name}_level"] = gamma.levels[c.name]
        table[f"{c.name}_weight"] = scores.weights[c.name]
    return pd.DataFrame(table)


def score_pairs(records: Records, model: Model, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    gamma = compare(records, model.settings, a, b)
    return pair_table(records, model, gamma, model.score(gamma, records))


def _keep(gamma: Gamma, probability: np.ndarray, settings: Settings) -> np.ndarray:
    """Pairs worth keeping (and remembering for the next night): any that could link or be reviewed."""
    keep = probability >= min(settings.thresholds.review, 0.01)
    for c in settings.comparisons:
        if c.kind == "identifier":
            keep |= gamma.levels[c.name] == levels.index("identifier", "agree")
    surname = next((c.name for c in settings.comparisons if c.kind == "surname"), None)
    dob = next((c.name for c in settings.comparisons if c.kind == "date_of_birth"), None)
    if surname and dob:  # possible twins are reviewed whatever their probability
        keep |= (gamma.levels[surname] == levels.index("surname", "exact")) & (
            gamma.levels[dob] == levels.index("date_of_birth", "exact")
        )
    return keep


def extra_columns(settings: Settings) -> tuple[str, ...]:
    """Record columns the settings read besides the canonical ones matching always uses."""
    columns = [c.column for c in settings.comparisons if c.column]
    columns += [k for rule in settings.blocking for k in rule.keys if not is_derived(k)]
    return tuple(dict.fromkeys(columns))


def _officer_pairs(records: Records, decisions: pd.DataFrame | None) -> pd.DataFrame:
    """Officer decisions as rid pairs (a < b) with their kind; decisions about absent records are set aside."""
    if decisions is None or decisions.empty:
        return pd.DataFrame(
            {"rid_a": pd.Series(dtype="int64"), "rid_b": pd.Series(dtype="int64"), "officer": pd.Series(dtype="str")}
        )
    pairs = decisions[decisions["kind"].isin([DecisionKind.LINK, DecisionKind.DO_NOT_LINK])]
    a = records.rids(pairs["feed_a"], pairs["source_key_a"])
    b = records.rids(pairs["feed_b"], pairs["source_key_b"])
    present = (a >= 0) & (b >= 0) & (a != b)
    out = pd.DataFrame(
        {
            "rid_a": np.minimum(a, b)[present].astype(np.int64),
            "rid_b": np.maximum(a, b)[present].astype(np.int64),
            "officer": pairs["kind"].to_numpy()[present],
        }
    )
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
    compare_pairs: Callable[[Records, Settings, np.ndarray, np.ndarray], Gamma] | None = None,
) -> MatchResult:
    """``compare_pairs`` compares the candidate pairs elsewhere (the flow's Dask partitions,
    ``matching.partitions``); by default here."""
    watch = Stopwatch()
    lap = watch.lap

    records = prepare(frames, extra_columns=extra_columns(settings))
    lap("prepare")

    reused_model = model if model is not None and not retrain and model.fits(settings) else None
    # incremental: the previous night's state, and which records changed since (and where they were)
    since = state if reused_model is not None and state is not None and not full and state.fits(settings) else None
    changed, now = since.align(records) if since is not None else (None, None)
    candidates = candidate_pairs(records, settings, only=changed)
    lap("blocking")

    gamma = (compare_pairs or compare)(records, settings, candidates.a, candidates.b)
    lap("compare")
    if reused_model is None:
        model = train(records, settings, gamma)
        lap("train")
    else:
        model = reused_model
    probability = model.score(gamma, records, weights=False).match_probability
    kept_gamma = gamma.take(_keep(gamma, probability, settings))
    del gamma
    kept = pair_table(records, model, kept_gamma, model.score(kept_gamma, records))
    lap("score")

    if since is not None and changed is not None and now is not None:
        reused = since.pairs_between_unchanged(changed, now)
        f = records.frame
        for side in ("a", "b"):  # keys from tonight's records
            rid = reused[f"rid_{side}"].to_numpy()
            reused[f"feed_{side}"] = f["feed"].to_numpy()[rid]
            reused[f"source_key_{side}"] = f["source_key"].to_numpy()[rid]
        kept = pd.concat([reused[kept.columns], kept], ignore_index=True)
    officers = _officer_pairs(records, decisions)
    if len(officers):
        known = kept["rid_a"].to_numpy(dtype=np.int64) * records.n + kept["rid_b"].to_numpy(dtype=np.int64)
        wanted = officers["rid_a"].to_numpy(dtype=np.int64) * records.n + officers["rid_b"].to_numpy(dtype=np.int64)
        missing = officers[~isin_sorted(wanted, unique_sorted(known))]
        if len(missing):
            kept = pd.concat(
                [kept, score_pairs(records, model, missing["rid_a"].to_numpy(), missing["rid_b"].to_numpy())],
                ignore_index=True,
            )
        kept = kept.merge(officers, on=["rid_a", "rid_b"], how="left")
    kept = kept.sort_values(["rid_a", "rid_b"], kind="stable").reset_index(drop=True)
    decided = decide(kept, settings, link_threshold)
    lap("decide")

    links = decided[decided["decision"] == PairDecision.LINK]
    strength = links["match_weight"].to_numpy(dtype="float64")
    linked_by = links["linked_by"].to_numpy(dtype=object)
    strength = np.where(
        linked_by == LinkedBy.OFFICER,
        np.inf,
        np.where(linked_by == LinkedBy.IDENTIFIER, strength + 1000, strength),
    )
    dnl = decided[decided["reason"] == ReviewReason.OFFICER_DO_NOT_LINK]
    unique_values, doubted = _trusted_unique_values(records, decided, settings)
    clusters = cluster(
        records.n,
        links["rid_a"].to_numpy(),
        links["rid_b"].to_numpy(),
        strength,
        linked_by,
        unique_values,
        (dnl["rid_a"].to_numpy(), dnl["rid_b"].to_numpy()),
    )
    _flag_doubted(clusters, doubted)
    person, events = assign_ids(records.frame, clusters.label, previous_links, highest_id)
    lap("cluster")

    result_clusters = _clusters_frame(records, person, clusters, links)
    review_pairs = _review_pairs(decided, person, model)
    new_state = MatchState.build(records, decided, person, settings)
    lap("outputs")
    stats = {
        "records": records.n,
        "incremental": since is not None,
        "changed_records": int(changed.sum()) if changed is not None else records.n,
        "candidate_pairs": len(candidates),
        "compare_partitions": getattr(compare_pairs, "partitions", 1),  # set by a compare_pairs that partitions
        "pairs_by_rule": candidates.per_rule,
        "skipped_blocks": {k: v for k, v in candidates.skipped_blocks.items() if v},
        "pairs_kept": len(decided),
        "links": int((decided["decision"] == PairDecision.LINK).sum()),
        "reviews": int((decided["decision"] == PairDecision.REVIEW).sum()),
        "links_cut": clusters.cut_links,
        "persons": int(pd.Series(person).nunique()),
        "seconds": watch.seconds,
        "peak_mb": watch.peak_mb,  # the process's peak resident memory by the end of each stage
    }
    log.info(
        "matched %d records into %d persons (%d links, %d for review)",
        records.n,
        stats["persons"],
        stats["links"],
        stats["reviews"],
    )
    return MatchResult(
        clusters=result_clusters,
        pairs=decided.drop(columns=["rid_a", "rid_b", "officer"], errors="ignore"),
        review_pairs=review_pairs,
        events=events,
        model=model,
        state=new_state,
        stats=stats,
    )


def _trusted_unique_values(
    records: Records, decided: pd.DataFrame, settings: Settings
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each unique identifier's value per record, for the clustering constraint — except values in doubt.

    A value is in doubt on both records of a pair that shares it while everything else says they
    are different people (``identifier_contradicted``): one of them was keyed in error. Such a value
    cannot hold the record's own person apart from its other records; the person is flagged instead.
    """
    contradicted = decided[decided["reason"] == ReviewReason.IDENTIFIER_CONTRADICTED]
    values, doubted = {}, {}
    for name in settings.unique_identifiers:
        if name not in records.frame:
            continue
        column = records.frame[name]
        comparison = next((c.name for c in settings.comparisons if c.kind == "identifier" and c.column == name), None)
        in_doubt = np.zeros(records.n, dtype=bool)
        if comparison is not None and len(contradicted):
            shared = contradicted[contradicted[f"{comparison}_level"] == levels.index("identifier", "agree")]
            in_doubt[shared["rid_a"].to_numpy()] = True
            in_doubt[shared["rid_b"].to_numpy()] = True
        values[name] = column.astype(object).where(column.notna() & ~in_doubt, None).to_numpy()
        doubted[name] = in_doubt
    return values, doubted


def _flag_doubted(clusters: Clusters, doubted: dict[str, np.ndarray]) -> None:
    """Persons holding a record whose identifier is in doubt need a data officer's attention."""
    for name, in_doubt in doubted.items():
        if not in_doubt.any():
            continue
        members = np.flatnonzero(isin_sorted(clusters.label, unique_sorted(clusters.label[in_doubt])))
        note = f"a {name.replace('_', ' ')} here is also on a record of a clearly different person (keyed in error?)"
        clusters.status[members] = PersonStatus.NEEDS_ATTENTION.value
        clusters.reason[members] = [note if r is None else f"{r}; {note}" for r in clusters.reason[members]]


def _clusters_frame(records: Records, person: np.ndarray, clusters: Clusters, links: pd.DataFrame) -> pd.DataFrame:
    """One row per record: its person, and how it was linked (its strongest link; ``single`` if none)."""
    f = records.frame
    rid = np.concatenate([links["rid_a"].to_numpy(dtype=np.int64), links["rid_b"].to_numpy(dtype=np.int64)])
    how = np.concatenate([links["linked_by"].to_numpy(dtype=object)] * 2)
    on = np.concatenate([links["linked_on"].to_numpy(dtype=object)] * 2)
    weight = np.concatenate([links["match_weight"].to_numpy(dtype="float64")] * 2)
    probability = np.concatenate([links["match_probability"].to_numpy(dtype="float64")] * 2)
    rank = np.select([how == LinkedBy.OFFICER, how == LinkedBy.IDENTIFIER], [0, 1], 2)
    order = np.lexsort((-weight, rank, rid))  # per record: officer, then identifier, then the strongest
    first = order[np.r_[True, rid[order][1:] != rid[order][:-1]]] if len(order) else order
    linked_by = np.full(records.n, LinkedBy.SINGLE.value, dtype=object)
    linked_on = np.full(records.n, None, dtype=object)
    match_probability = np.full(records.n, np.nan)
    linked_by[rid[first]] = how[first]
    linked_on[rid[first]] = on[first]
    match_probability[rid[first]] = probability[first]
    return pd.DataFrame(
        {
            "feed": f["feed"].to_numpy(),
            "source_key": f["source_key"].to_numpy(),
            "person_id": person,
            "linked_by": linked_by,
            "linked_on": linked_on,
            "match_probability": match_probability,
            "status": clusters.status,
            "status_reason": clusters.reason,
        }
    )


def _review_pairs(decided: pd.DataFrame, person: np.ndarray, model: Model) -> pd.DataFrame:
    """The pairs for a data officer to decide, each with its evidence in words and as data."""
    pairs = decided[decided["decision"] == PairDecision.REVIEW]
    if pairs.empty:
        return REVIEW_PAIRS.empty()
    return pd.DataFrame(
        {
            "feed_a": pairs["feed_a"].to_numpy(),
            "source_key_a": pairs["source_key_a"].to_numpy(),
            "feed_b": pairs["feed_b"].to_numpy(),
            "source_key_b": pairs["source_key_b"].to_numpy(),
            "person_id_a": person[pairs["rid_a"].to_numpy()],
            "person_id_b": person[pairs["rid_b"].to_numpy()],
            "reason": pairs["reason"].to_numpy(),
            "match_probability": pairs["match_probability"].to_numpy(dtype="float64"),
            "match_weight": pairs["match_weight"].to_numpy(dtype="float32"),
            "explanation": model.explain_all(pairs).to_numpy(),
            "evidence": model.evidence_all(pairs).to_numpy(),
        }
    )
