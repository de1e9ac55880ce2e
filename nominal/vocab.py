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


class Role(StrEnum):
    """Who a user is in triage (``nominal.triage.roles`` says what each may do)."""

    VIEWER = "viewer"  # dashboards and masked queues
    OFFICER = "officer"  # full records of the queue; decide, comment, assign to self
    SUPERVISOR = "supervisor"  # an officer who also assigns to anyone, reopens, reads the audit log
    ADMIN = "admin"  # manages users and reads the audit log; does no casework


class ExceptionAction(StrEnum):
    """A step in an exception's history (``exception_events.action``)."""

    OPENED = "opened"  # first found by a night
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    STARTED = "started"
    RESOLVED = "resolved"  # by an officer (or settled by an officer's decision)
    DISMISSED = "dismissed"
    REOPENED = "reopened"  # by a supervisor, or by a night that found it again or saw its data change
    RESOLVED_BY_SOURCE = "resolved_by_source"  # a night no longer found it
    COMMENTED = "commented"


class AuditAction(StrEnum):
    """What an audit log row records (DPA 2018 Part 3 s.62: collection, alteration, consultation,
    disclosure, combination and erasure)."""

    SIGN_IN = "sign_in"
    SIGN_IN_REFUSED = "sign_in_refused"
    SIGN_OUT = "sign_out"
    VIEW_PERSON = "view_person"  # a person's full record
    VIEW_EXCEPTION = "view_exception"  # an exception with its records unmasked
    VIEW_REVIEW = "view_review"  # a review pair's two records
    VIEW_AUDIT = "view_audit"
    SEARCH = "search"
    EXPORT = "export"  # a CSV download or a night's report
    CHANGE_STATUS = "change_status"  # assign, start, resolve, dismiss, reopen
    COMMENT = "comment"
    DECIDE = "decide"
    WITHDRAW_DECISION = "withdraw_decision"
    USER_ADMIN = "user_admin"  # add, disable, change role or password, issue a token
    COLLECT = "collect"  # the system: a night's extracts loaded
    ALTER = "alter"  # the system: a night published
    COMBINE = "combine"  # the system: matching merged or split persons
    ERASE = "erase"  # the system, at an officer's request
