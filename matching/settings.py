"""Model settings: what a user writes (YAML) to say how records are compared and linked.

Plain data, kept apart from the trained model (``matching/model.py``). The default for the
canonical person record is ``matching/default_settings.yaml``::

    link_type: dedupe_and_link          # or link_only: pairs across feeds only
    thresholds: {link: 0.95, review: 0.50}
    blocking:                            # candidate pairs share every key of at least one rule
      - {name: dob_surname_initial, keys: [dob_any_order, surname_initial]}
    comparisons:                         # each a list of levels, from null through exact to else
      - {name: surname, kind: name, column: surname, term_frequency: true}
      - {name: court, kind: fuzzy, column: court, thresholds: [0.92, 0.8]}

Comparison kinds (``KINDS``): ``forename`` and ``surname`` (names, with phonetic, nickname and
fuzzy levels), ``date_of_birth``, ``postcode``, ``sex``, ``identifier`` (agree / disagree: two
different valid identifiers are evidence against), ``exact`` and ``fuzzy`` for any carried-through
field. Blocking keys are those of ``matching.blocking_keys.KEYS`` or any record column by name.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from nominal import canonical
from nominal.errors import ConfigError
from nominal.yamlfile import Strict, load_model

from .blocking_keys import KEYS

DEFAULT_SETTINGS = Path(__file__).with_name("default_settings.yaml")

KINDS = ("forename", "surname", "date_of_birth", "postcode", "sex", "identifier", "exact", "fuzzy", "name_variant")


def _known_keys(keys: list[str]) -> list[str]:
    """Blocking keys are registered keys (``matching.blocking_keys.KEYS``) or record columns; a key
    that is neither a canonical column nor registered but spelled like a registered key is a typo."""
    for key in keys:
        if key in KEYS or key in canonical.COLUMNS:
            continue
        close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.85)
        if close:
            raise ValueError(
                f"unknown blocking key {key!r} — did you mean {close[0]!r} ({KEYS[close[0]].description})?"
            )
    return keys


class BlockingRule(Strict):
    name: str
    keys: list[str] = Field(min_length=1, description="blocking keys (matching.blocking_keys) or record columns")
    aliases: bool = Field(False, description="also block each record under its aliases' names")

    @field_validator("keys")
    @classmethod
    def _known(cls, keys: list[str]) -> list[str]:
        return _known_keys(keys)


class Comparison(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal[KINDS]  # type: ignore[valid-type]
    column: str | None = None
    term_frequency: bool = False
    thresholds: list[float] = Field(
        default_factory=list, description="similarity thresholds for fuzzy levels, highest first"
    )
    metric: Literal["jaro_winkler", "levenshtein"] = "jaro_winkler"
    null_values: list[str] = Field(default_factory=list, description="values that mean unknown (e.g. U for sex)")

    @model_validator(mode="after")
    def _column_needed(self) -> Comparison:
        if self.kind in ("identifier", "exact", "fuzzy") and not self.column:
            raise ValueError(f"a {self.kind} comparison needs a column")
        if self.kind == "fuzzy" and not self.thresholds:
            raise ValueError("a fuzzy comparison needs thresholds, e.g. [0.92, 0.8]")
        if self.metric == "levenshtein" and any(t != int(t) or t < 1 for t in self.thresholds):
            raise ValueError("levenshtein thresholds are edit distances: whole numbers from 1")
        return self

    def column_name(self) -> str:
        """The record column compared (identifier, exact and fuzzy comparisons always name one)."""
        if self.column is None:
            raise ConfigError(f"comparison {self.name!r} names no column")
        return self.column


class Thresholds(Strict):
    link: float = Field(default=0.95, gt=0, lt=1, description="pairs at or above this probability are linked")
    review: float = Field(
        default=0.50, gt=0, lt=1, description="pairs from this probability up to link go to a data officer"
    )
    evidence_against: float = Field(
        default=-8.0,
        description="an identifier link is not made when the other comparisons' weight is below this (bits)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.link:
            raise ValueError("the review threshold must not be above the link threshold")
        return self


class Training(Strict):
    random_pairs: int = Field(default=1_000_000, ge=1000, description="random record pairs sampled for u probabilities")
    sessions: list[list[str]] = Field(
        default_factory=lambda: [
            ["dob_any_order", "surname_sound"],
            ["dob_any_order", "forename_sound"],
            ["surname_sound", "forename_sound"],
        ],
        description="EM sessions: each trains on the candidate pairs that share these keys, "
        "leaving out the comparisons those keys already make agree",
    )
    max_iterations: int = Field(default=60, ge=1)
    tolerance: float = Field(default=1e-5, gt=0)
    seed: int = 42

    @field_validator("sessions")
    @classmethod
    def _known_session_keys(cls, sessions: list[list[str]]) -> list[list[str]]:
        return [_known_keys(keys) for keys in sessions]


class Settings(Strict):
    link_type: Literal["dedupe_and_link", "link_only"] = "dedupe_and_link"
    thresholds: Thresholds = Field(default_factory=Thresholds)
    blocking: list[BlockingRule] = Field(min_length=1)
    max_block_size: int = Field(
        default=2000, ge=2, description="larger blocks are skipped (and reported): too common to be useful"
    )
    comparisons: list[Comparison] = Field(min_length=1)
    strong_identifiers: list[str] = Field(
        default_factory=lambda: ["pnc_id", "cro_number", "noms_number"],
        description="records sharing one of these valid identifiers link directly",
    )
    unique_identifiers: list[str] = Field(
        default_factory=lambda: ["pnc_id", "cro_number"],
        description="one person never holds two different values of these (clusters are split)",
    )
    twins_rule: bool = Field(
        True, description="same surname and date of birth, different forenames: review, never auto-link"
    )
    training: Training = Field(default_factory=Training)

    @field_validator("comparisons")
    @classmethod
    def _unique_names(cls, comparisons: list[Comparison]) -> list[Comparison]:
        names = [c.name for c in comparisons]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"comparison names must be unique: {', '.join(repeated)}")
        return comparisons

    def comparison(self, name: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.name == name), None)


def load_settings(path: str | Path | None = None) -> Settings:
    return load_model(Path(path) if path else DEFAULT_SETTINGS, Settings, "model settings")
