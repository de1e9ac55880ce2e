"""Match review: two records that may be one person, side by side, with how each comparison moved
the match weight, and the officer's verdict — link, do not link, or not sure.

A link or do-not-link is an officer's decision, tied to the review exception it settles and
honoured by every later night; "not sure" leaves the pair in the queue with a comment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from nominal import identifiers
from nominal.store import audit, views, work
from nominal.store.views import QueueFilter
from nominal.store.work import DecisionInput, StaleRow
from nominal.vocab import AuditAction, DecisionKind, ExceptionKind

from .actors import Actor
from .errors import InvalidInput, NotAllowedNow, NotFound, StaleVersion
from .exceptions import ExceptionItem, available_actions, comment, item, settle
from .masks import mask_record, mask_value
from .roles import Permission


class Verdict(StrEnum):
    LINK = "link"
    DO_NOT_LINK = "do_not_link"
    NOT_SURE = "not_sure"


# The fields a review shows side by side, in order, with their words.
FIELDS = (
    ("forenames", "Forenames"),
    ("surname", "Surname"),
    ("aliases", "Aliases"),
    ("date_of_birth", "Date of birth"),
    ("sex", "Sex"),
    ("pnc_id", "PNC ID"),
    ("cro_number", "CRO number"),
    ("noms_number", "NOMS number"),
    ("crn", "CRN"),
    ("ni_number", "NI number"),
    ("postcode", "Postcode"),
    ("address", "Address"),
)
_CHECKS = {
    "pnc_id": identifiers.normalise_pnc_id,
    "cro_number": identifiers.normalise_cro_number,
    "noms_number": identifiers.normalise_noms_number,
    "crn": identifiers.normalise_crn,
    "ni_number": identifiers.normalise_ni_number,
}


@dataclass(frozen=True)
class FieldRow:
    """One field of the two records: their values and how they compare."""

    name: str
    label: str
    a: Any
    b: Any
    same: bool | None  # None: one or both missing
    valid_a: bool | None = None  # for identifiers: the value as sent has a valid form and check character
    valid_b: bool | None = None


@dataclass(frozen=True)
class Comparison:
    """How one comparison moved the match weight (for the waterfall chart)."""

    comparison: str
    level: str
    label: str
    weight: float


@dataclass(frozen=True)
class ReviewDetail:
    item: ExceptionItem
    reason: str
    probability: float
    match_weight: float
    prior_weight: float  # the weight before any comparison: the sum of the steps is the match weight
    explanation: str | None
    comparisons: list[Comparison]
    fields: list[FieldRow]
    record_a: dict[str, Any]
    record_b: dict[str, Any]
    others_a: list[dict[str, Any]]  # the other records already in each record's person
    others_b: list[dict[str, Any]]
    masked: bool
    actions: list[str]


def show(engine: Engine, actor: Actor, exception_id: int) -> ReviewDetail:
    """The review pair a match-review exception asks about (masked for viewers; viewing it unmasked is audited)."""
    actor.require(Permission.VIEW_QUEUE)
    row = views.exception(engine, exception_id)
    if row is None:
        raise NotFound(f"no exception {exception_id}")
    if row.kind != ExceptionKind.MATCH_REVIEW:
        raise NotAllowedNow(f"exception {row.reference} is not a match review")
    pair = views.review_pair(engine, row.fingerprint)
    if pair is None:
        raise NotFound(f"exception {row.reference}'s pair is no longer in review (the night has moved on)")
    a_key, b_key = (pair.feed_a, pair.source_key_a), (pair.feed_b, pair.source_key_b)
    found = views.records(engine, [a_key, b_key])
    a, b = found.get(a_key, {"feed": a_key[0]}), found.get(b_key, {"feed": b_key[0]})
    persons = views.person_records(engine, [p for p in (pair.person_id_a, pair.person_id_b) if p])
    others_a = [r for r in persons.get(pair.person_id_a or "", []) if (r["feed"], r["source_key"]) != a_key]
    others_b = [r for r in persons.get(pair.person_id_b or "", []) if (r["feed"], r["source_key"]) != b_key]
    unmasked = actor.may(Permission.VIEW_RECORDS)
    if unmasked:
        audit.record(engine, actor.audit(AuditAction.VIEW_REVIEW, "exception", row.id, person_id=row.person_id))
    comparisons = [
        Comparison(
            str(e.get("comparison")), str(e.get("level")), str(e.get("label", e.get("level"))), float(e["weight"])
        )
        for e in pair.evidence
    ]
    fields = _fields(a, b)
    if not unmasked:
        a, b = mask_record(a), mask_record(b)
        others_a, others_b = [mask_record(r) for r in others_a], [mask_record(r) for r in others_b]
        fields = [_masked(f) for f in fields]
    return ReviewDetail(
        item=item(row),
        reason=pair.reason,
        probability=pair.match_probability,
        match_weight=pair.match_weight,
        prior_weight=pair.match_weight - sum(c.weight for c in comparisons),
        explanation=pair.explanation,
        comparisons=comparisons,
        fields=fields,
        record_a=a,
        record_b=b,
        others_a=others_a,
        others_b=others_b,
        masked=not unmasked,
        actions=available_actions(actor, row),
    )


def _fields(a: dict[str, Any], b: dict[str, Any]) -> list[FieldRow]:
    rows = []
    for name, label in FIELDS:
        x, y = a.get(name), b.get(name)
        same = None if _missing(x) or _missing(y) else _text(x) == _text(y)
        row = FieldRow(name, label, x, y, same)
        if name in _CHECKS:
            row = FieldRow(name, label, x, y, same, _valid(name, a), _valid(name, b))
        rows.append(row)
    return rows


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _text(value: Any) -> str:
    return value.isoformat()[:10] if isinstance(value, dt.date) else str(value).strip().upper()


def _valid(name: str, record: dict[str, Any]) -> bool | None:
    """Whether the identifier as sent has a valid form and check character (None: none was sent)."""
    sent = (record.get("raw") or {}).get(f"{name}_raw") or record.get(name)
    if _missing(sent):
        return None
    result = _CHECKS[name](pd.Series([str(sent)], dtype="str"))
    return bool(result.canonical.notna().iloc[0])


def _masked(row: FieldRow) -> FieldRow:
    return FieldRow(
        row.name,
        row.label,
        mask_value(row.name, row.a),
        mask_value(row.name, row.b),
        row.same,
        row.valid_a,
        row.valid_b,
    )


def decide(
    engine: Engine, actor: Actor, exception_id: int, version: int, verdict: Verdict | str, reason: str
) -> ExceptionItem:
    """The officer's verdict on a review pair: link or do-not-link (a decision every later night honours,
    settling the review), or not sure (a comment; the pair stays in the queue)."""
    verdict = Verdict(verdict)
    reason = (reason or "").strip()
    row = views.exception(engine, exception_id)
    if row is None:
        raise NotFound(f"no exception {exception_id}")
    if verdict is Verdict.NOT_SURE:
        comment(engine, actor, exception_id, f"not sure: {reason}" if reason else "not sure")
        found = views.exception(engine, exception_id)
        assert found is not None
        return item(found)
    actor.require(Permission.DECIDE)
    if row.kind != ExceptionKind.MATCH_REVIEW or not (row.feed and row.source_key and row.other_feed):
        raise NotAllowedNow(f"exception {row.reference} is not a match review")
    if not reason:
        raise InvalidInput("say why (the reason is kept with the decision)")
    kind = DecisionKind.LINK if verdict is Verdict.LINK else DecisionKind.DO_NOT_LINK
    words = "linked by an officer" if verdict is Verdict.LINK else "kept apart by an officer"
    settles = settle(actor, row, version, f"{words}: {reason}")
    decision = DecisionInput(
        kind=kind,
        feed=row.feed,
        source_key=row.source_key,
        other_feed=row.other_feed,
        other_source_key=row.other_source_key,
        reason=reason,
        decided_by_id=actor.user_id,
        exception_id=row.id,
        exception_fingerprint=row.fingerprint,
    )
    entry = actor.audit(AuditAction.DECIDE, "exception", row.id, person_id=row.person_id, reason=reason, kind=str(kind))
    try:
        work.decide(engine, decision, entry, settles=settles)
    except StaleRow as exc:
        raise StaleVersion(str(exc)) from None
    found = views.exception(engine, exception_id)
    assert found is not None
    return item(found)


def next_review(engine: Engine, actor: Actor, skip: list[int] | None = None) -> ExceptionItem | None:
    """The next match review for the actor: theirs first, then nobody's, oldest first."""
    actor.require(Permission.DECIDE)
    found = views.next_exception(engine, QueueFilter(kind=ExceptionKind.MATCH_REVIEW), actor.user_id, skip or [])
    return item(found) if found else None
