"""The publish rules file (``publish/rules.yaml``, or ``publish.rules`` in nominal.yaml), validated on load."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nominal.errors import ConfigError

SHIPPED_RULES = Path(__file__).with_name("rules.yaml")
SEVERITY = Literal["critical", "error", "warning"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldRule(_Strict):
    prefer: list[Literal["feeds", "most_common", "recent"]] = Field(default_factory=lambda: ["recent"])
    feeds: list[str] = Field(default_factory=list)
    from_: dict[str, str] = Field(default_factory=dict, alias="from")
    codes: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    with_: list[str] = Field(default_factory=list, alias="with")


class ConflictRules(_Strict):
    severity: SEVERITY = "error"
    fields: list[str] = Field(default_factory=list)
    ignore: dict[str, list[str]] = Field(default_factory=dict)


class DiscrepancyRule(_Strict):
    enabled: bool = True
    severity: SEVERITY = "error"
    mappa_categories: list[int] = Field(default_factory=lambda: [1, 2])


class PublishRules(_Strict):
    survivorship: dict[str, FieldRule]
    conflicts: ConflictRules = Field(default_factory=ConflictRules)
    discrepancies: dict[str, DiscrepancyRule] = Field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes whenever a rule does: a night after a change recomputes every golden record."""
        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


def load_rules(path: Path | None = None) -> PublishRules:
    from nominal.publish.discrepancies import RULES

    path = path or SHIPPED_RULES
    try:
        rules = PublishRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"publish rules {path} not found") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {where}") from None
    unknown = sorted(set(rules.discrepancies) - set(RULES))
    if unknown:
        raise ConfigError(f"{path}: discrepancies.{unknown[0]}: unknown rule; one of {', '.join(RULES)}")
    return rules
