"""The exception workflow: which action takes an exception from which status to which.

    open ──assign──▶ assigned ──start──▶ in_progress ──resolve──▶ resolved
      │                 │                    │        ──dismiss──▶ dismissed
      └──────── start, resolve and dismiss also from open or assigned ────────┘
    resolved / dismissed ──reopen (supervisor)──▶ open

The nightly run moves exceptions too (``nominal.publish.exceptions``): one no longer found is
resolved by source; a resolved one found again, or a dismissed one whose data changed, is reopened.
Every move, by a person or by a night, is an ``exception_events`` row.
"""

from __future__ import annotations

from enum import StrEnum

from nominal.vocab import ExceptionStatus

from .errors import NotAllowedNow
from .roles import Permission


class Action(StrEnum):
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    START = "start"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    REOPEN = "reopen"
    COMMENT = "comment"


OPEN, ASSIGNED, IN_PROGRESS = ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED, ExceptionStatus.IN_PROGRESS
RESOLVED, DISMISSED = ExceptionStatus.RESOLVED, ExceptionStatus.DISMISSED
LIVE = (OPEN, ASSIGNED, IN_PROGRESS)

# action → (statuses it applies to, status after it; None: unchanged)
TRANSITIONS: dict[Action, tuple[tuple[ExceptionStatus, ...], ExceptionStatus | None]] = {
    Action.ASSIGN: (LIVE, ASSIGNED),
    Action.UNASSIGN: ((ASSIGNED, IN_PROGRESS), OPEN),
    Action.START: ((OPEN, ASSIGNED), IN_PROGRESS),
    Action.RESOLVE: (LIVE, RESOLVED),
    Action.DISMISS: (LIVE, DISMISSED),
    Action.REOPEN: ((RESOLVED, DISMISSED), OPEN),
    Action.COMMENT: (tuple(ExceptionStatus), None),
}

# The permission each action needs (assigning to someone else needs ASSIGN_ANYONE besides).
NEEDS: dict[Action, Permission] = {
    Action.ASSIGN: Permission.ASSIGN_SELF,
    Action.UNASSIGN: Permission.ASSIGN_SELF,
    Action.START: Permission.WORK,
    Action.RESOLVE: Permission.WORK,
    Action.DISMISS: Permission.WORK,
    Action.REOPEN: Permission.REOPEN,
    Action.COMMENT: Permission.WORK,
}

# Actions that must say why.
NEEDS_A_NOTE = (Action.DISMISS, Action.REOPEN, Action.COMMENT, Action.RESOLVE)


def next_status(action: Action, status: str) -> ExceptionStatus:
    """The status after ``action``; NotAllowedNow if the action does not apply to ``status``."""
    applies_to, after = TRANSITIONS[action]
    current = ExceptionStatus(status)
    if current not in applies_to:
        allowed = ", ".join(s.replace("_", " ") for s in applies_to)
        raise NotAllowedNow(f"cannot {action} an exception that is {current.replace('_', ' ')} (only when {allowed})")
    return current if after is None else after


def actions_for(status: str) -> list[Action]:
    """The actions that apply to an exception in ``status`` (before any role is considered)."""
    return [action for action, (applies_to, _) in TRANSITIONS.items() if ExceptionStatus(status) in applies_to]
