"""Closed vocabularies shared by the stages and the store: the values a column may hold.

Each is a StrEnum, so a value compares equal to its text (``LinkedBy.MODEL == "model"``) and is
stored as that text; the store keeps them as plain strings (a new value needs no migration) and
``nominal.store.writes`` refuses anything else on the way in. A vocabulary that only one stage
uses lives in that stage (``nominal.matching.schemas.PairDecision``).
"""

from __future__ import annotations

from enum import StrEnum


class RunKind(StrEnum):
    INGEST = "ingest"
    VALIDATE = "validate"
    MATCH = "match"
    SYNC = "sync"
    PUBLISH = "publish"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GATE_FAILED = "gate_failed"


class DeliveryStatus(StrEnum):
    LOADED = "loaded"
    ALREADY_LOADED = "already_loaded"
    REDELIVERED = "redelivered"
    REJECTED = "rejected"


class PersonStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_ATTENTION = "needs_attention"
    RETIRED = "retired"


class LinkedBy(StrEnum):
    """How a source record came to be in its person (its strongest link)."""

    IDENTIFIER = "identifier"  # a shared valid strong identifier; which one is in ``linked_on``
    MODEL = "model"  # the match probability reached the link threshold
    OFFICER = "officer"  # an officer's link decision
    SINGLE = "single"  # no link: the person's only record


class PersonEventKind(StrEnum):
    CREATED = "created"
    MERGED = "merged"
    SPLIT = "split"
    RETIRED = "retired"


class ExceptionKind(StrEnum):
    VALIDATION = "validation"  # a validation rule failed for a record
    PARSE = "parse"  # a value could not be read as its type
    RULE_SKIPPED = "rule_skipped"  # a validation rule could not run
    SCHEMA_DRIFT = "schema_drift"  # the delivery's columns changed
    FEED = "feed"  # the delivery as a whole (missing, short, refused)
    MATCH_REVIEW = "match_review"  # two records that may be one person
    CONFLICT = "conflict"  # one person's records disagree
    DISCREPANCY = "discrepancy"  # the agencies' records disagree on a business rule


# Raised per feed by validation: resolved by source only when tonight checked that feed.
RECORD_KINDS = (
    ExceptionKind.VALIDATION,
    ExceptionKind.PARSE,
    ExceptionKind.RULE_SKIPPED,
    ExceptionKind.FEED,
    ExceptionKind.SCHEMA_DRIFT,
)


class Severity(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_BY_SEVERITY = {
    Severity.CRITICAL: Priority.HIGH,
    Severity.ERROR: Priority.NORMAL,
    Severity.WARNING: Priority.LOW,
}


class ExceptionStatus(StrEnum):
    OPEN = "open"  # nobody has it yet
    ASSIGNED = "assigned"  # someone will work on it
    IN_PROGRESS = "in_progress"  # someone is working on it
    RESOLVED = "resolved"  # by an officer, or by the source (no longer found)
    DISMISSED = "dismissed"  # not a problem: stays dismissed while its data is unchanged


# Still to be worked: a night that no longer finds one of these resolves it by source.
OPEN_STATUSES = (ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED, ExceptionStatus.IN_PROGRESS)


class DecisionKind(StrEnum):
    LINK = "link"
    DO_NOT_LINK = "do_not_link"
    ACCEPT_VALUE = "accept_value"
    DISMISS = "dismiss"
