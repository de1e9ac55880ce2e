"""What matching emits: the schema of each frame of a ``MatchResult`` and matching's own vocabularies.

Consumers (the flows, publish, the benchmarks) read these frames through these schemas and never
repeat their column lists. The vocabularies shared with the store are in ``nominal.vocab``
(``LinkedBy``, ``PersonStatus``, ``PersonEventKind``); those only matching uses are here.
"""

from __future__ import annotations

from enum import StrEnum

from nominal.schema import OBJECT, STR, Field, schema
from nominal.vocab import LinkedBy, PersonEventKind, PersonStatus


class PairDecision(StrEnum):
    """What happens to a scored pair (``matching.decide``)."""

    LINK = "link"
    REVIEW = "review"  # a data officer decides
    NO_LINK = "no_link"


class ReviewReason(StrEnum):
    """Why a pair was not linked as the model alone would have it: the ``reason`` of a pair."""

    MATCH_REVIEW = "match_review"  # between the review and the link thresholds
    POSSIBLE_TWINS = "possible_twins"  # same surname and date of birth, different forenames
    IDENTIFIER_CONTRADICTED = "identifier_contradicted"  # a shared identifier, everything else against
    OFFICER_DO_NOT_LINK = "officer_do_not_link"  # never reviewed: the pair is not linked (decision no_link)


def _keys(side: str, whose: str) -> tuple[Field, Field]:
    return (
        Field(f"feed_{side}", STR, f"feed of {whose} record", nullable=False),
        Field(f"source_key_{side}", STR, f"source key of {whose} record", nullable=False),
    )


_LINKED_ON = "the identifier field shared (pnc_id, cro_number, noms_number …) when linked_by is identifier, else NA"

CLUSTERS = schema(
    "clusters",
    [
        Field("feed", STR, "the record's feed", nullable=False),
        Field("source_key", STR, "the record's key in its feed", nullable=False),
        Field("person_id", STR, "its person: P and 9 digits, stable from night to night", nullable=False),
        Field("linked_by", STR, "how the record is in its person (its strongest link)", LinkedBy, nullable=False),
        Field("linked_on", STR, _LINKED_ON),
        Field("match_probability", "float64", "that link's match probability (NA for a single record)"),
        Field("status", STR, "the person's status", PersonStatus, nullable=False),
        Field("status_reason", STR, "why the person needs attention (NA when active)"),
    ],
)

PAIRS = schema(
    "pairs",
    [
        *_keys("a", "one"),
        *_keys("b", "the other"),
        Field("match_probability", "float64", "the model's probability that the two are one person", nullable=False),
        Field("match_weight", "float32", "the model's match weight (bits), prior included", nullable=False),
        Field("decision", STR, "what happens to the pair", PairDecision, nullable=False),
        Field("linked_by", STR, "how the pair is linked (NA unless decision is link)", LinkedBy),
        Field("linked_on", STR, _LINKED_ON),
        Field("reason", STR, "why the pair is reviewed or refused (NA otherwise)", ReviewReason),
        Field("other_evidence", "float32", "the weight (bits) of every comparison but the identifiers", nullable=False),
    ],
    extra="for each comparison: `<comparison>_level` (int8: the level's code, matching.levels) and "
    "`<comparison>_weight` (float32: its weight in bits)",
)

REVIEW_PAIRS = schema(
    "review_pairs",
    [
        *_keys("a", "one"),
        *_keys("b", "the other"),
        Field("person_id_a", STR, "the person of record a", nullable=False),
        Field("person_id_b", STR, "the person of record b", nullable=False),
        Field("reason", STR, "why the pair goes to a data officer", ReviewReason, nullable=False),
        Field("match_probability", "float64", "the model's probability that the two are one person", nullable=False),
        Field("match_weight", "float32", "the model's match weight (bits)", nullable=False),
        Field(
            "explanation",
            STR,
            "the evidence in words, comparison by comparison: `surname: exact (+11.2); …` (no values)",
            nullable=False,
        ),
        Field(
            "evidence",
            STR,
            'JSON: a list of {"comparison", "level" (its name), "label", "weight"} for every comparison',
            nullable=False,
        ),
    ],
)

EVENTS = schema(
    "events",
    [
        Field("kind", STR, "what happened to the persons", PersonEventKind, nullable=False),
        Field("old_person_ids", OBJECT, "list of the person ids before", nullable=False),
        Field("new_person_id", STR, "the person id after (NA when retired)"),
        Field("detail", OBJECT, "dict: records merged, ids split into, why retired", nullable=False),
    ],
)
