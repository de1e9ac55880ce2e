"""Each exception's rule in a data officer's words: the validation suites' descriptions, the
discrepancy rules' (publish), conflicts, match reviews and the delivery's own problems."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from nominal.config import Config
from nominal.publish.discrepancies import DESCRIPTIONS
from nominal.publish.review import HEADLINES
from nominal.vocab import ExceptionKind

_FIELD = {
    "date_of_birth": "date of birth",
    "pnc_id": "PNC ID",
    "cro_number": "CRO number",
    "noms_number": "NOMS number",
}
# A review pair's reason as a sentence about both records (the reports' headlines speak of one record).
_REVIEW = {
    "match_review": "Two records may be the same person",
    "possible_twins": (
        "Two records may be twins (same surname and date of birth, different forenames), so they are never linked "
        "automatically"
    ),
    "identifier_contradicted": "Two records share an identifier, but their other details disagree strongly",
}
_DELIVERY = {
    "delivery": "The feed's delivery could not be loaded tonight (missing, incomplete or malformed).",
    "row_count": "The delivery is much smaller than the feed's recent nights.",
}


class RuleWords:
    """Looks a rule up by kind and name; suites are read from the configuration in use."""

    def __init__(self, config: Config | None):
        self.config = config

    @cached_property
    def _suites(self) -> dict[str, str]:
        paths: list[Path] = []
        if self.config is not None:
            paths += [p for p in (self.config.common_suite_path(),) if p is not None]
            paths += [p for f in self.config.feeds if (p := self.config.suite_path(f)) is not None]
        words: dict[str, str] = {}
        for path in paths:
            try:
                entries = json.loads(path.read_text(encoding="utf-8")).get("expectations", [])
            except (OSError, ValueError):
                continue
            for entry in entries:
                rule, description = entry.get("meta", {}).get("rule"), entry.get("description")
                if rule and description:
                    words.setdefault(str(rule), str(description))
        return words

    def describe(self, kind: str, rule: str, field: str | None = None) -> str:
        if kind == ExceptionKind.DISCREPANCY:
            return next((text for name, text in DESCRIPTIONS.items() if name == rule), rule)
        if kind == ExceptionKind.MATCH_REVIEW:
            if rule in _REVIEW:
                return f"{_REVIEW[rule]}: decide whether they are one person."
            headline = next((text for name, text in HEADLINES.items() if name == rule), "may be the same person")
            return f"Two records {headline}: decide whether they are one person."
        if kind == ExceptionKind.CONFLICT:
            if rule == "person_needs_attention":
                return "The person's records break a rule of matching (for example two different PNC IDs)."
            what = _FIELD.get(field or "", (field or "a field").replace("_", " "))
            return f"The person's records disagree on the {what}; the golden record shows one of them."
        if kind == ExceptionKind.PARSE:
            part, _, on = rule.partition(":")
            return (
                f"A value of {on.replace('_', ' ') or 'a field'} could not be read as sent ({part.replace('_', ' ')})."
            )
        if kind == ExceptionKind.SCHEMA_DRIFT:
            return "The delivery's columns changed since the last night (added, removed or no longer readable)."
        if kind == ExceptionKind.RULE_SKIPPED:
            return "A validation rule could not run on tonight's delivery."
        return self._suites.get(rule) or _DELIVERY.get(rule) or rule.replace("_", " ")
