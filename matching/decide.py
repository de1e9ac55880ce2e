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

from . import levels
from .settings import Settings

AGREE = levels.index("identifier", "agree")

LINK, REVIEW, NO_LINK = "link", "review", "no_link"


def _level(table: pd.DataFrame, settings: Settings, kind: str) -> np.ndarray | None:
    comparison = next((c for c in settings.comparisons if c.kind == kind), None)
    return table[f"{comparison.name}_level"].to_numpy() if comparison is not None else None


def decide(table: pd.DataFrame, settings: Settings, link_threshold: float | None = None) -> pd.DataFrame:
    """Add ``decision``, ``linked_by`` and ``reason`` to a scored pair table.

    The table carries ``officer`` (``link``, ``do_not_link`` or empty) from the officers' decisions.
    """
    link_at = settings.thresholds.link if link_threshold is None else link_threshold
    review_at = min(settings.thresholds.review, link_at)
    p = table["match_probability"].to_numpy()
    n = len(table)
    decision = np.full(n, NO_LINK, dtype=object)
    linked_by = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)

    identifier_comparisons = [c for c in settings.comparisons if c.kind == "identifier"]
    other = np.zeros(n)
    for c in settings.comparisons:
        if c.kind != "identifier":
            other += table[f"{c.name}_weight"].to_numpy(dtype="float64")
    shared = np.full(n, None, dtype=object)  # first strong identifier the pair agrees on
    for name in reversed(settings.strong_identifiers):
        c = next((c for c in identifier_comparisons if c.column == name or c.name == name), None)
        if c is not None:
            agree = table[f"{c.name}_level"].to_numpy() == AGREE
            shared[agree] = name
    any_identifier_agrees = np.zeros(n, dtype=bool)
    for c in identifier_comparisons:
        any_identifier_agrees |= table[f"{c.name}_level"].to_numpy() == AGREE

    # 5. the model
    model_link = p >= link_at
    decision[model_link] = LINK
    linked_by[model_link] = "model"
    model_review = (p >= review_at) & ~model_link
    decision[model_review] = REVIEW
    reason[model_review] = "match_review"

    # 4. strong identifiers
    has_shared = shared != None  # noqa: E711 (element-wise)
    contradicted = has_shared & (other < settings.thresholds.evidence_against)
    by_identifier = has_shared & ~contradicted
    decision[by_identifier] = LINK
    linked_by[by_identifier] = np.array([f"identifier:{s}" for s in shared[by_identifier]], dtype=object)
    reason[by_identifier] = None
    decision[contradicted] = REVIEW
    linked_by[contradicted] = None
    reason[contradicted] = "identifier_contradicted"

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
            linked_by[twins] = None
            reason[twins] = np.where(decision[twins] == REVIEW, "possible_twins", None)

    # 2. and 1. officers
    officer = table["officer"].to_numpy() if "officer" in table else np.full(n, "", dtype=object)
    link = officer == "link"
    decision[link], linked_by[link], reason[link] = LINK, "officer", None
    dnl = officer == "do_not_link"
    decision[dnl], linked_by[dnl], reason[dnl] = NO_LINK, None, "officer_do_not_link"

    out = table.copy()
    out["decision"] = decision
    out["linked_by"] = linked_by
    out["reason"] = reason
    out["other_evidence"] = other.astype("float32")
    return out
