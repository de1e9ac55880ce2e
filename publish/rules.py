"""The publish rules file (``publish/rules.yaml``, or ``publish.rules`` in nominal.yaml), validated on load."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field

from nominal.vocab import Severity
from nominal.yamlfile import Strict, load_model

SHIPPED_RULES = Path(__file__).with_name("rules.yaml")


class Discrepancy(StrEnum):
    """The cross-agency discrepancy rules (``nominal.publish.discrepancies`` implements each)."""

    IN_CUSTODY_BUT_RELEASED = "in_custody_but_released"
    RELEASE_DATE_PASSED = "release_date_passed"
    MAPPA_DIFFERS = "mappa_differs"
    NOTIFICATION_OVERDUE = "notification_overdue"
    RSO_WITHOUT_ADDRESS = "rso_without_address"
    LICENCE_WITHOUT_POLICE_NOMINAL = "licence_without_police_nominal"


Preference = Literal["feeds", "most_common", "recent"]


def _most_recent() -> list[Preference]:
    return ["recent"]


class FieldRule(Strict):
    prefer: list[Preference] = Field(default_factory=_most_recent)
    feeds: list[str] = Field(default_factory=list)
    from_: dict[str, str] = Field(default_factory=dict, alias="from")
    codes: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    with_: list[str] = Field(default_factory=list, alias="with")


class ConflictRules(Strict):
    severity: Severity = Severity.ERROR
    fields: list[str] = Field(default_factory=list)
    ignore: dict[str, list[str]] = Field(default_factory=dict)


class DiscrepancyRule(Strict):
    enabled: bool = True
    severity: Severity = Severity.ERROR
    mappa_categories: list[int] = Field(default_factory=lambda: [1, 2])


class PublishRules(Strict):
    survivorship: dict[str, FieldRule]
    conflicts: ConflictRules = Field(default_factory=ConflictRules)
    discrepancies: dict[Discrepancy, DiscrepancyRule] = Field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes whenever a rule does: a night after a change recomputes every golden record."""
        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


def load_rules(path: Path | None = None) -> PublishRules:
    return load_model(path or SHIPPED_RULES, PublishRules, "publish rules")
