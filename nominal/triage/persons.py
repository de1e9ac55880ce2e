"""A person: the golden record with where each value came from, the linked source records, a graph
of the records with the scores between them, the person's exceptions and history; and an officer
unlinking a record (do-not-link decisions against the person's other records)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from nominal.store import audit, views, work
from nominal.store.views import CommentView, DecisionView, PersonEventView
from nominal.store.work import DecisionInput
from nominal.vocab import AuditAction, DecisionKind

from .actors import Actor
from .errors import InvalidInput, NotFound
from .exceptions import ExceptionItem, item
from .masks import mask_record, mask_value
from .roles import Permission


@dataclass(frozen=True)
class GoldenValue:
    field: str
    value: Any
    feed: str | None  # where it came from
    source_key: str | None
    extract_date: str | None
    accepted: bool  # an officer accepted this record's value


@dataclass(frozen=True)
class Edge:
    """Two of the person's records and what joined them (a review pair's score, or a record's link)."""

    a: str  # "feed:key" as shown (masked for viewers)
    b: str
    probability: float | None
    how: str


@dataclass(frozen=True)
class PersonDetail:
    person_id: str
    status: str
    status_reason: str | None
    golden: list[GoldenValue]
    records: list[dict[str, Any]]
    edges: list[Edge]
    exceptions: list[ExceptionItem]
    events: list[PersonEventView]
    comments: list[CommentView]
    decisions: list[DecisionView]
    masked: bool
    may_unlink: bool


def show(engine: Engine, actor: Actor, person_id: str) -> PersonDetail:
    actor.require(Permission.VIEW_QUEUE)
    found = views.person(engine, person_id)
    if found is None:
        raise NotFound(f"no person {person_id}")
    unmasked = actor.may(Permission.VIEW_RECORDS)
    if unmasked:
        audit.record(engine, actor.audit(AuditAction.VIEW_PERSON, "person", person_id, person_id=person_id))
    golden = _golden(found.golden, found.lineage)
    records = found.records
    keys = [(r["feed"], r["source_key"]) for r in records]
    edges = _edges(records, views.review_pairs_among(engine, keys))
    if not unmasked:
        golden = [
            GoldenValue(g.field, mask_value(g.field, g.value), g.feed, None, g.extract_date, g.accepted) for g in golden
        ]
        records = [mask_record(r) for r in records]
        edges = [Edge(_shown(e.a, True), _shown(e.b, True), e.probability, e.how) for e in edges]
    return PersonDetail(
        person_id=found.person_id,
        status=found.status,
        status_reason=found.status_reason,
        golden=golden,
        records=records,
        edges=edges,
        exceptions=[item(r) for r in views.person_exceptions(engine, person_id)],
        events=found.events,
        comments=views.comments(engine, person_id=person_id),
        decisions=views.decisions(engine, records=keys) if unmasked else [],
        masked=not unmasked,
        may_unlink=actor.may(Permission.DECIDE) and len(records) > 1,
    )


def _golden(values: dict[str, Any], lineage: dict[str, Any]) -> list[GoldenValue]:
    """Each golden value with the record it came from (lineage: records listed once, fields index them)."""
    sources = lineage.get("records", [])
    chosen = lineage.get("fields", {})
    accepted = set(lineage.get("accepted", []))
    out = []
    for name, value in values.items():
        at = chosen.get(name)
        source = sources[at] if isinstance(at, int) and 0 <= at < len(sources) else None
        feed, key, extracted = (source + [None, None, None])[:3] if source else (None, None, None)
        out.append(GoldenValue(name, value, feed, key, extracted, name in accepted))
    return out


def _shown(key: str, masked: bool) -> str:
    feed, _, source_key = key.partition(":")
    return f"{feed}:{mask_value('source_key', source_key)}" if masked else key


def _edges(records: list[dict[str, Any]], pairs: list[views.ReviewView]) -> list[Edge]:
    """The person's records joined by what tonight knows: each record's strongest link, and the review
    pairs between records (in the person or not)."""
    keys = {(r["feed"], r["source_key"]) for r in records}
    edges = [
        Edge(f"{p.feed_a}:{p.source_key_a}", f"{p.feed_b}:{p.source_key_b}", p.match_probability, f"review: {p.reason}")
        for p in pairs
        if (p.feed_a, p.source_key_a) in keys or (p.feed_b, p.source_key_b) in keys
    ]
    person = f"person:{records[0]['person_id']}" if records else "person:"
    for r in records:
        how = r.get("linked_by") or "single"
        if r.get("linked_on"):
            how = f"{how}: {r['linked_on']}"
        edges.append(Edge(f"{r['feed']}:{r['source_key']}", person, r.get("match_probability"), how))
    return edges


def unlink(engine: Engine, actor: Actor, person_id: str, feed: str, source_key: str, reason: str) -> int:
    """Take a record out of its person: a do-not-link decision between it and each of the person's other
    records, honoured by every later night. Returns how many decisions were recorded."""
    actor.require(Permission.DECIDE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the record is not this person (the reason is kept with the decision)")
    found = views.person(engine, person_id)
    if found is None:
        raise NotFound(f"no person {person_id}")
    others = [(r["feed"], r["source_key"]) for r in found.records if (r["feed"], r["source_key"]) != (feed, source_key)]
    if len(others) == len(found.records):
        raise NotFound("that record is not one of this person's")
    if not others:
        raise InvalidInput("the record is the person's only one: there is nothing to unlink it from")
    for other_feed, other_key in others:
        decision = DecisionInput(
            kind=DecisionKind.DO_NOT_LINK,
            feed=feed,
            source_key=source_key,
            other_feed=other_feed,
            other_source_key=other_key,
            reason=reason,
            decided_by_id=actor.user_id,
        )
        entry = actor.audit(AuditAction.DECIDE, "person", person_id, person_id=person_id, reason=reason, kind="unlink")
        work.decide(engine, decision, entry)
    return len(others)


def comment(engine: Engine, actor: Actor, person_id: str, text: str) -> int:
    actor.require(Permission.WORK)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a comment needs some words")
    if views.person(engine, person_id) is None:
        raise NotFound(f"no person {person_id}")
    entry = actor.audit(AuditAction.COMMENT, "person", person_id, person_id=person_id)
    return work.comment(engine, actor.user_id, text, entry, person_id=person_id)
