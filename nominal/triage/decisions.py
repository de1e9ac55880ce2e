"""Decisions made outside a review or exception page (the CLI's ``nominal decide``): link or keep
apart two records, accept a record's value, dismiss an exception by its report reference; and
withdrawing a decision, which every later night honours."""

from __future__ import annotations

from sqlalchemy import Engine

from nominal.store import views, work
from nominal.store.views import DecisionView, ExceptionRow
from nominal.store.work import DecisionInput, StaleRow
from nominal.tables import GOLDEN_FIELDS
from nominal.vocab import AuditAction, DecisionKind

from .actors import Actor
from .errors import Forbidden, InvalidInput, NotFound, StaleVersion
from .exceptions import act
from .roles import Permission
from .workflow import Action


def exception_by_reference(engine: Engine, reference: str) -> ExceptionRow:
    """The exception a report's reference (its first 12 characters, or more) names."""
    reference = reference.strip()
    if len(reference) < 12:
        raise InvalidInput("a reference is the 12 characters printed in the night's reports")
    found = views.exception_by_reference(engine, reference)
    if len(found) != 1:
        raise NotFound(f"{'no' if not found else 'more than one'} exception has the reference {reference}")
    return found[0]


def decide_pair(
    engine: Engine,
    actor: Actor,
    kind: DecisionKind,
    record: tuple[str, str],
    other: tuple[str, str],
    reason: str,
) -> int:
    """Two records are (``link``) or are not (``do_not_link``) the same person."""
    actor.require(Permission.DECIDE)
    if kind not in (DecisionKind.LINK, DecisionKind.DO_NOT_LINK):
        raise InvalidInput("a decision about two records is link or do_not_link")
    if not reason.strip():
        raise InvalidInput("say why (the reason is kept with the decision)")
    if record == other:
        raise InvalidInput("the two records are the same record")
    decision = DecisionInput(
        kind=kind,
        feed=record[0],
        source_key=record[1],
        other_feed=other[0],
        other_source_key=other[1],
        reason=reason.strip(),
        decided_by_id=actor.user_id,
    )
    entry = actor.audit(AuditAction.DECIDE, "records", reason=reason, kind=str(kind))
    return work.decide(engine, decision, entry)


def accept_value(
    engine: Engine, actor: Actor, record: tuple[str, str], field: str, value: str | None, reason: str
) -> int:
    actor.require(Permission.DECIDE)
    if field not in GOLDEN_FIELDS:
        raise InvalidInput(f"{field!r} is not a golden field: one of {', '.join(GOLDEN_FIELDS)}")
    if not reason.strip():
        raise InvalidInput("say why this value is the right one")
    decision = DecisionInput(
        kind=DecisionKind.ACCEPT_VALUE,
        feed=record[0],
        source_key=record[1],
        field=field,
        value=value,
        reason=reason.strip(),
        decided_by_id=actor.user_id,
    )
    entry = actor.audit(AuditAction.DECIDE, "records", reason=reason, kind="accept_value", field=field)
    return work.decide(engine, decision, entry)


def dismiss(engine: Engine, actor: Actor, reference: str, reason: str) -> ExceptionRow:
    """Dismiss the exception a report's reference names (it stays dismissed while its data is unchanged)."""
    row = exception_by_reference(engine, reference)
    act(engine, actor, row.id, row.version, Action.DISMISS, reason)
    found = views.exception(engine, row.id)
    assert found is not None
    return found


def withdraw(engine: Engine, actor: Actor, decision_id: int, reason: str) -> DecisionView:
    """Withdraw a decision: one's own, or (supervisors) anyone's. Later nights no longer honour it."""
    actor.require(Permission.DECIDE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the decision is withdrawn")
    found = views.decisions(engine, decision_id=decision_id)
    if not found:
        raise NotFound(f"no decision {decision_id}")
    decision = found[0]
    if decision.decided_by_id != actor.user_id and not actor.may(Permission.WITHDRAW_ANY):
        raise Forbidden("only a supervisor withdraws another officer's decision")
    entry = actor.audit(AuditAction.WITHDRAW_DECISION, "decision", decision_id, reason=reason, kind=decision.kind)
    try:
        work.withdraw(engine, decision_id, actor.user_id, reason, entry)
    except StaleRow as exc:
        raise StaleVersion(str(exc)) from None
    return views.decisions(engine, decision_id=decision_id)[0]
