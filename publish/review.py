"""Matching's review pairs as publish findings: one match-review exception per pair for a data officer.

Matching says which pairs need a person's decision, why, and on what evidence
(``matching.schemas.REVIEW_PAIRS``); how such a pair is triaged — its kind, severity and
priority, and the words of its detail — is decided here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal.masking import mask_identifier
from nominal.matching.schemas import ReviewReason
from nominal.vocab import ExceptionKind, Severity

from . import findings as F

HEADLINES = {
    ReviewReason.MATCH_REVIEW: "may be the same person",
    ReviewReason.POSSIBLE_TWINS: (
        "possible twins (same surname and date of birth, different forenames): never linked automatically"
    ),
    ReviewReason.IDENTIFIER_CONTRADICTED: "shares an identifier, but the other details disagree strongly",
}
SEVERITY = Severity.ERROR


def review_findings(pairs: pd.DataFrame | None, row=None, data=None) -> pd.DataFrame:
    """One ``match_review`` finding per review pair (``REVIEW_PAIRS``), about record a, with record b
    as the other record: rule = the pair's reason; detail = the reason's headline, which record (masked),
    the probability and the evidence in words. ``row`` and ``data`` (aligned with ``pairs``): record
    a's delivery row and what the finding is about, as text (both records' content hashes)."""
    if pairs is None or pairs.empty:
        return F.empty()
    other = pairs["feed_b"].astype(str) + " record " + pairs["source_key_b"].astype(str).map(mask_identifier)
    headline = pairs["reason"].map(HEADLINES)
    probability = pairs["match_probability"].map("{:.4f}".format)
    detail = headline + " as " + other + " (probability " + probability + "): " + pairs["explanation"].astype(str)
    out = pd.DataFrame(
        {
            "kind": ExceptionKind.MATCH_REVIEW.value,
            "rule": pairs["reason"].astype(str).to_numpy(),
            "severity": SEVERITY.value,
            "priority": F.PRIORITY_BY_SEVERITY[SEVERITY].value,
            "feed": pairs["feed_a"].to_numpy(),
            "source_key": pairs["source_key_a"].to_numpy(),
            "row": pd.array([pd.NA] * len(pairs) if row is None else row, dtype="Int64"),
            "person_id": pairs["person_id_a"].to_numpy(),
            "field": None,
            "other_feed": pairs["feed_b"].to_numpy(),
            "other_source_key": pairs["source_key_b"].to_numpy(),
            "detail": detail.to_numpy(dtype=object),
            "data": np.full(len(pairs), None, dtype=object) if data is None else np.asarray(data, dtype=object),
        }
    )
    return out[list(F.FINDING_COLUMNS)]
