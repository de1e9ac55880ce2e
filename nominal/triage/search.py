"""Finding a person by name (fuzzy), date of birth or any identifier. Every search is audited (what
was searched on and how many were found, never the terms); viewers see the results masked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from nominal.store import audit, views
from nominal.vocab import AuditAction

from .actors import Actor
from .errors import InvalidInput
from .masks import mask_value
from .roles import Permission


@dataclass(frozen=True)
class Hit:
    person_id: str | None
    feed: str
    record: str  # the record's key (masked for viewers)
    forenames: str | None
    surname: str | None
    date_of_birth: str | None
    matched_on: str
    score: float


def search(
    engine: Engine,
    actor: Actor,
    *,
    name: str | None = None,
    date_of_birth: str | None = None,
    identifier: str | None = None,
    limit: int = 50,
) -> list[Hit]:
    """``name``: "SURNAME" or "SURNAME, FORENAMES" (or "Forenames Surname"); ``date_of_birth``: YYYY-MM-DD."""
    actor.require(Permission.VIEW_QUEUE)
    surname, forenames = _split(name)
    dob = None
    if date_of_birth:
        try:
            dob = dt.date.fromisoformat(date_of_birth.strip())
        except ValueError:
            raise InvalidInput("a date of birth is YYYY-MM-DD") from None
    if not (surname or dob or (identifier and identifier.strip())):
        raise InvalidInput("search by a name, a date of birth or an identifier")
    found = views.search(
        engine, surname=surname, forenames=forenames, date_of_birth=dob, identifier=identifier, limit=min(limit, 200)
    )
    on = [what for what, given in (("name", surname), ("date_of_birth", dob), ("identifier", identifier)) if given]
    audit.record(engine, actor.audit(AuditAction.SEARCH, "search", fields=on, results=len(found)))
    unmasked = actor.may(Permission.VIEW_RECORDS)

    def shown(field: str, value: object) -> str | None:
        if value is None:
            return None
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
        return text if unmasked else str(mask_value(field, value))

    return [
        Hit(
            h.person_id,
            h.feed,
            shown("source_key", h.source_key) or "",
            shown("forenames", h.forenames),
            shown("surname", h.surname),
            shown("date_of_birth", h.date_of_birth),
            h.matched_on,
            round(h.score, 1),
        )
        for h in found
    ]


def _split(name: str | None) -> tuple[str | None, str | None]:
    """ "SMITH, JOHN" → (SMITH, JOHN); "John Smith" → (Smith, John); "Smith" → (Smith, None)."""
    text = (name or "").strip()
    if not text:
        return None, None
    if "," in text:
        surname, _, forenames = text.partition(",")
        return surname.strip() or None, forenames.strip() or None
    words = text.split()
    return (words[-1], " ".join(words[:-1])) if len(words) > 1 else (words[0], None)
