"""What happens to each scored pair: linked (by identifier, model or officer), sent for review, or not linked.

In order of precedence:

1. an officer's **do-not-link** decision: never linked;
2. an officer's **link** decision: always linked;
3. **possible twins** (same surname and date of birth, different forenames, no identifier in
   common): never linked automatically; reviewed when the model leans towards a match or they
   share a postcode;
4. a shared valid **strong identifier** (PNC ID, CRO number, NOMS number): linked, unless the other
   evidence is strongly against it (then reviewed: an identifier keyed from another person);
5. the **model**: linked at or above the link threshold, reviewed from the review threshold up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal.vocab import DecisionKind, LinkedBy

from . import levels
from .schemas import PairDecision, ReviewReason
from .settings import Settings

AGREE = levels.index("identifier", "agree")
# the frames hold the vocabularies' text (``.value``): plain strings, as the schemas declare
LINK, REVIEW, NO_LINK = PairDecision.LINK.value, PairDecision.REVIEW.value, PairDecision.NO_LINK.value


def _level(table: pd.DataFrame, settings: Settings, kind: str) -> np.ndarray | None:
    comparison = next((c for c in settings.comparisons if c.kind == kind), None)
    return table[f"{comparison.name}_level"].to_numpy() if comparison is not None else None


def decide(table: pd.DataFrame, settings: Settings, link_threshold: float | None = None) -> pd.DataFrame:
    """Add ``decision``, ``linked_by``, ``linked_on``, ``reason`` and ``other_evidence`` to a scored
    pair table (``matching.schemas.PAIRS``).

    The table may carry ``officer`` (``link``, ``do_not_link`` or NA) from the officers' decisions.
    """
    link_at = settings.thresholds.link if link_threshold is None else link_threshold
    review_at = min(settings.thresholds.review, link_at)
    p = table["match_probability"].to_numpy()
    n = len(table)
    decision = np.full(n, NO_LINK, dtype=object)
    linked_by = np.full(n, None, dtype=object)
    linked_on = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)

    def unlinked(where: np.ndarray) -> None:
        linked_by[where] = None
        linked_on[where] = None

    identifier_comparisons = [c for c in settings.comparisons if c.kind == "identifier"]
    other = np.zeros(n)
    for c in settings.comparisons:
        if c.kind != "identifier":
            other += table[f"{c.name}_weight"].to_numpy(dtype="float64")
    shared = np.full(n, None, dtype=object)  # first strong identifier the pair agrees on
    for name in reversed(settings.strong_identifiers):
        found = next((c for c in identifier_comparisons if c.column == name or c.name == name), None)
        if found is not None:
            agree = table[f"{found.name}_level"].to_numpy() == AGREE
            shared[agree] = name
    any_identifier_agrees = np.zeros(n, dtype=bool)
    for c in identifier_comparisons:
        any_identifier_agrees |= table[f"{c.name}_level"].to_numpy() == AGREE

    # 5. the model
    model_link = p >= link_at
    decision[model_link] = LINK
    linked_by[model_link] = LinkedBy.MODEL.value
    model_review = (p >= review_at) & ~model_link
    decision[model_review] = REVIEW
    reason[model_review] = ReviewReason.MATCH_REVIEW.value

    # 4. strong identifiers
    has_shared = shared != None  # noqa: E711 (element-wise)
    contradicted = has_shared & (other < settings.thresholds.evidence_against)
    by_identifier = has_shared & ~contradicted
    decision[by_identifier] = LINK
    linked_by[by_identifier] = LinkedBy.IDENTIFIER.value
    linked_on[by_identifier] = shared[by_identifier]
    reason[by_identifier] = None
    decision[contradicted] = REVIEW
    unlinked(contradicted)
    reason[contradicted] = ReviewReason.IDENTIFIER_CONTRADICTED.value

    # 3. possible twins
    if settings.twins_rule:
        surname, forename, dob = (
            _level(table, settings, "surname"),
            _level(table, settings, "forename"),
            _level(table, settings, "date_of_birth"),
        )
        postcode = _level(table, settings, "postcode")
        if surname is not None and forename is not None and dob is not None:
            twins = (
                (surname == levels.index("surname", "exact"))
                & (dob == levels.index("date_of_birth", "exact"))
                & np.isin(forename, levels.levels_from("forename", levels.FORENAMES_DIFFER))
                & ~any_identifier_agrees
            )
            same_place = (postcode == levels.index("postcode", "full")) if postcode is not None else np.zeros(n, bool)
            decision[twins] = np.where((p[twins] >= review_at) | same_place[twins], REVIEW, NO_LINK)
            unlinked(twins)
            reason[twins] = None
            reason[twins & (decision == REVIEW)] = ReviewReason.POSSIBLE_TWINS.value

    # 2. and 1. officers
    officer = table["officer"].to_numpy(dtype=object) if "officer" in table else np.full(n, None, dtype=object)
    link = officer == DecisionKind.LINK
    decision[link], reason[link] = LINK, None
    unlinked(link)
    linked_by[link] = LinkedBy.OFFICER.value
    dnl = officer == DecisionKind.DO_NOT_LINK
    decision[dnl], reason[dnl] = NO_LINK, ReviewReason.OFFICER_DO_NOT_LINK.value
    unlinked(dnl)

    out = table.copy()
    out["decision"] = decision
    out["linked_by"] = linked_by
    out["linked_on"] = linked_on
    out["reason"] = reason
    out["other_evidence"] = other.astype("float32")
    return out
