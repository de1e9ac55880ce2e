"""The frames that cross between the stages and the store: what publish hands to the store's one
writing transaction (``Publication``) and what a night reads of the last publication
(``PublishedState``).

They are declared here, in the core, because the stages and the store may not import each other
(docs/architecture.md): publish builds these frames, ``nominal.store.writes`` writes them and
``nominal.store.queries`` reads them back, and both import the one declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nominal.schema import DATE, OBJECT, STR, Field, schema
from nominal.vocab import (
    ExceptionAction,
    ExceptionKind,
    ExceptionStatus,
    LinkedBy,
    PersonEventKind,
    PersonStatus,
    Priority,
    Severity,
)

# --- persons ------------------------------------------------------------------------------------

# The golden record's fields and their dtypes, in the store's column order (``store.models.Person``).
GOLDEN_FIELDS: dict[str, str] = {
    "forenames": STR,
    "surname": STR,
    "date_of_birth": DATE,
    "sex": STR,
    "pnc_id": STR,
    "cro_number": STR,
    "noms_number": STR,
    "crn": STR,
    "ni_number": STR,
    "postcode": STR,
    "address": STR,
    "mappa_category": "Int8",
    "mappa_level": "Int8",
    "risk_level": STR,
    "custody_status": STR,
    "supervision_status": STR,
    "registration_type": STR,
    "registration_start": DATE,
    "notification_due": DATE,
    "release_date": DATE,
}

PERSONS = schema(
    "persons",
    (
        Field("person_id", STR, "stable person id, P + 9 digits", nullable=False),
        Field("status", STR, "active, or needs_attention when the records break a constraint", PersonStatus, False),
        Field("status_reason", STR, "why a person needs attention, in words"),
        *(Field(name, dtype, "golden value chosen by the survivorship rules") for name, dtype in GOLDEN_FIELDS.items()),
        Field("lineage", STR, 'JSON: {"run_id", "records": [[feed, source_key, extract_date], …], "fields": {…}}'),
        Field("content_hash", STR, "fingerprint of the published values: a person is rewritten only when it changes"),
    ),
)
GOLDEN_COLUMNS = tuple(c for c in PERSONS.columns if c != "content_hash")

RETIRED = schema("retired persons", (Field("person_id", STR, "a person no current record belongs to", nullable=False),))

# --- links --------------------------------------------------------------------------------------

RECORD_KEY = (
    Field("feed", STR, "the record's feed", nullable=False),
    Field("source_key", STR, "the record's key in its feed", nullable=False),
)

LINKS = schema(
    "person links",
    (
        *RECORD_KEY,
        Field("person_id", STR, "the person the record belongs to", nullable=False),
        Field("match_probability", "float64", "probability of the record's strongest link (NaN: single)"),
        Field("linked_by", STR, "how the record's strongest link was made", LinkedBy, False),
        Field("linked_on", STR, "the identifier shared (pnc_id, cro_number …), when linked_by is identifier"),
        Field("record_hash", "Int64", "64-bit hash of the record's content as published (NA: before revision 0004)"),
    ),
)
LINKS_GONE = schema("links of records no longer delivered", RECORD_KEY)

# --- person events ------------------------------------------------------------------------------

EVENTS = schema(
    "person events",
    (
        Field("kind", STR, "what happened to the set of persons", PersonEventKind, False),
        Field("old_person_ids", OBJECT, "list of the person ids before (empty for created)"),
        Field("new_person_id", STR, "the person id after (None for retired)"),
        Field("detail", OBJECT, "dict: how many records moved, why"),
    ),
)

# --- exceptions ---------------------------------------------------------------------------------

EXCEPTIONS = schema(
    "exceptions",
    (
        Field(
            "fingerprint", STR, "what the exception is about: the same problem on later nights is one row", None, False
        ),
        Field("kind", STR, "the kind of problem", ExceptionKind, False),
        Field("severity", STR, "how serious", Severity, False),
        Field("priority", STR, "how urgent for a data officer", Priority),
        Field("rule", STR, "the rule that found it (README: validation and discrepancy rules)", None, False),
        Field("feed", STR, "the record's feed (None: about a person or across feeds)"),
        Field("source_key", STR, "the record's key"),
        Field("row", "Int64", "the record's data row in tonight's delivery"),
        Field("person_id", STR, "the record's person"),
        Field("field", STR, "the canonical field at fault"),
        Field("other_feed", STR, "the other record's feed, for a pair or a disagreement"),
        Field("other_source_key", STR, "the other record's key"),
        Field("detail", STR, "what is wrong in a data officer's words, values masked", None, False),
        Field(
            "status", STR, "where it is in the workflow (a night writes it only for a new row)", ExceptionStatus, False
        ),
        Field("data_hash", STR, "fingerprint of the data it is about: a dismissal holds while it is unchanged"),
        Field("first_seen_run_id", OBJECT, "the run that first found it"),
        Field("last_seen_run_id", OBJECT, "the last run that found it"),
        Field("first_seen_at", OBJECT, "when it was first found (UTC)"),
        Field("last_seen_at", OBJECT, "when it was last found (UTC)"),
        Field("resolved_at", OBJECT, "when it was resolved (UTC)"),
        Field("resolution", STR, "how it was resolved or why it reopened"),
        Field("version", OBJECT, "the row's version: a night changes a status only if nobody has since"),
    ),
)
# The columns officers own: a night sets them on a row it creates and otherwise changes them only
# through EXCEPTION_CHANGES, each against the version it read.
WORKFLOW_COLUMNS = ("status", "resolution", "resolved_at", "version", "first_seen_run_id", "first_seen_at")
EXCEPTION_CHANGES = schema(
    "exception status changes",
    (
        Field("fingerprint", STR, "the exception", nullable=False),
        Field("version", OBJECT, "its version when the night read it: the change applies only if still so"),
        Field("action", STR, "what the night does", ExceptionAction, False),
        Field("to_status", STR, "the status after", ExceptionStatus, False),
        Field("resolution", STR, "how it was resolved or why it reopened"),
        Field("resolved", "bool", "whether resolved_at is set to now (else cleared)"),
    ),
)
# Found again unchanged: a night writes only these columns of the row.
EXCEPTIONS_SEEN = schema(
    "exceptions found again",
    tuple(EXCEPTIONS.field(c) for c in ("fingerprint", "row", "last_seen_run_id", "last_seen_at")),
)

# --- what a review and a person page need, kept by each night (revision 0006) -------------------

REVIEW_ROWS = schema(
    "review pairs",
    (
        Field("feed_a", STR, "one record's feed", nullable=False),
        Field("source_key_a", STR, "its key", nullable=False),
        Field("feed_b", STR, "the other record's feed", nullable=False),
        Field("source_key_b", STR, "its key", nullable=False),
        Field("person_id_a", STR, "the person the first record is in tonight"),
        Field("person_id_b", STR, "the person the other record is in tonight"),
        Field("reason", STR, "why it is reviewed: match_review, possible_twins, identifier_contradicted"),
        Field("match_probability", "float64", "the model's probability that they are one person"),
        Field("match_weight", "float64", "the match weight (bits)"),
        Field("explanation", STR, "the evidence in words, values masked"),
        Field("evidence", STR, 'JSON: [{"comparison", "level", "label", "weight"}, …]'),
        Field("model_version", STR, "fingerprint of the model that scored the pair"),
        Field("exception_fingerprint", STR, "the review exception that asks an officer about the pair"),
    ),
)

# the canonical fields a source record keeps in columns of its own (``source_records``)
SOURCE_FIELDS = (
    "pnc_id",
    "cro_number",
    "noms_number",
    "crn",
    "ni_number",
    "forenames",
    "surname",
    "aliases",
    "date_of_birth",
    "sex",
    "postcode",
    "address",
    "mappa_category",
    "mappa_level",
    "risk_level",
    "record_updated_at",
    "extract_date",
)
SOURCE_RECORDS = schema(
    "source records",
    (
        *RECORD_KEY,
        Field("person_id", STR, "the person the record is in"),
        *(Field(name, OBJECT, "the canonical value (nominal/canonical.py)") for name in SOURCE_FIELDS),
        Field("row", "Int64", "the record's data row in its delivery"),
        Field("raw", STR, "JSON: each identifier and the postcode exactly as sent"),
        Field("extra", STR, "JSON: the feed's own fields (``extra:`` in its mapping)"),
        Field("surname_sound", STR, "Double Metaphone code of the surname, for the fuzzy name search"),
        Field("surname_anagram", STR, "the surname's letters in order, for a name typed with letters swapped"),
        Field("record_hash", "int64", "64-bit hash of the record's content"),
    ),
)

NIGHT_MATCH_COUNTS = (
    "records",
    "persons",
    "links_identifier",
    "links_model",
    "links_officer",
    "singles",
    "review_pairs",
    "needs_attention",
    "created",
    "merged",
    "split",
    "retired",
)

# --- quality metrics ----------------------------------------------------------------------------

QUALITY_METRICS = schema(
    "quality metrics",
    (
        Field("feed", STR, "the feed", nullable=False),
        Field("field", STR, "the canonical field (None: the feed as a whole)"),
        Field("rows_checked", "Int64", "records checked"),
        Field("completeness_rate", "float64", "share of records with a value"),
        Field("validity_rate", "float64", "share of values that pass the field's validity rules"),
        Field("rows", "Int64", "feed rows: records delivered (feed-level row only)"),
        Field("error_rate", "float64", "share of records with an error (feed-level row only)"),
        Field("gate_passed", "boolean", "whether the feed's gate passed (feed-level row only)"),
    ),
)

# --- what the store holds before tonight ---------------------------------------------------------

PUBLISHED_PERSONS = schema(
    "published persons",
    tuple(PERSONS.field(c) for c in ("person_id", "status", "status_reason", "content_hash")),
)
DISMISSALS = schema(
    "officers' dismissals",
    (
        Field("exception_fingerprint", STR, "the exception dismissed", nullable=False),
        Field("value", STR, "the data hash the officer saw ('' : whatever the data)"),
    ),
)
ACCEPTED_VALUES = schema(
    "officers' accepted values",
    (
        *RECORD_KEY,
        Field("field", STR, "the golden field", nullable=False),
        Field("value", STR, "the value accepted, as text (None: whatever the record holds)"),
    ),
)


@dataclass
class PublishedState:
    """What the store holds before tonight's publication (``nominal.store.queries.published_state``)."""

    persons: pd.DataFrame  # PUBLISHED_PERSONS
    links: pd.DataFrame  # LINKS
    exceptions: pd.DataFrame  # EXCEPTIONS: all but those resolved more than a year ago
    dismissed: pd.DataFrame  # DISMISSALS
    accepted: pd.DataFrame  # ACCEPTED_VALUES
    rules: str | None = None  # the publish rules' fingerprint of the last published night
    source_records: int = 0  # how many source records the store keeps (fewer than links: write them all)

    @classmethod
    def empty(cls) -> PublishedState:
        return cls(
            PUBLISHED_PERSONS.empty(), LINKS.empty(), EXCEPTIONS.empty(), DISMISSALS.empty(), ACCEPTED_VALUES.empty()
        )


@dataclass
class Publication:
    """Everything a night publishes, computed before the transaction (``nominal.publish``) and
    written in one by ``nominal.store.writes.publish_night``: only what changed."""

    persons: pd.DataFrame  # PERSONS: changed or new
    retired: pd.DataFrame  # RETIRED
    links: pd.DataFrame  # LINKS: changed or new
    links_gone: pd.DataFrame  # LINKS_GONE
    events: pd.DataFrame  # EVENTS
    exceptions: pd.DataFrame  # EXCEPTIONS: new or changed
    metrics: list[dict[str, Any]] = field(default_factory=list)  # QUALITY_METRICS rows
    exceptions_seen: pd.DataFrame | None = None  # EXCEPTIONS_SEEN: found again unchanged
    exception_changes: pd.DataFrame | None = None  # EXCEPTION_CHANGES: reopened, resolved by source, dismissed
    review_pairs: pd.DataFrame | None = None  # REVIEW_ROWS: tonight's review band, replacing last night's
    source_records: pd.DataFrame | None = None  # SOURCE_RECORDS: new or changed records (gone: links_gone)
    match_counts: dict[str, int] = field(default_factory=dict)  # NIGHT_MATCH_COUNTS
    feed_combinations: dict[str, int] = field(default_factory=dict)  # "police+prison" → persons
