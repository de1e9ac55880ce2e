"""Matching's vocabulary: the levels of each kind of comparison, in order, by name.

As in Splink, a comparison is a list of levels: ``null`` first (either value missing: no
evidence), then from the strongest agreement down, and ``else`` last. A pair's level is stored as
its position in that list (an int8 code per pair, so that arrays stay small and fast); everything
outside this module asks for a level by its **name** (``index("identifier", "agree")``), never by
its position. Each level also has a **label**: the words that model.json, explanations and the
review screen show (``jaro-winkler ≥ 0.92``).

Which condition puts a pair in a level is the comparison's business (``matching.comparisons``):
it names one condition per level, and ``first_level`` takes them in this module's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # for annotations only: the levels are read before any settings exist
    from .settings import Comparison

NULL = 0  # every kind's first level: one or both values missing
NULL_NAME, ELSE_NAME = "null", "else"


@dataclass(frozen=True)
class Level:
    """One level of a comparison: ``name`` for code, ``label`` for people."""

    name: str
    label: str


def in_words(label: str) -> str:
    """A level's label as an explanation reads it (``null`` and ``else`` in plain words)."""
    return {NULL_NAME: "one or both missing", ELSE_NAME: "different"}.get(label, label)


def _levels(*levels: tuple[str, str]) -> tuple[Level, ...]:
    return (Level(NULL_NAME, NULL_NAME), *(Level(name, label) for name, label in levels), Level(ELSE_NAME, ELSE_NAME))


# The levels of every kind whose levels do not depend on the comparison's settings (``fuzzy``'s do:
# ``levels_of``). name_variant has no ``else``: a pair's names are read one of these ways.
KINDS: dict[str, tuple[Level, ...]] = {
    "forename": _levels(
        ("exact", "exact"),
        ("nickname", "nickname"),
        ("jaro_winkler_0.92", "jaro-winkler ≥ 0.92"),
        ("same_sound", "same sound"),
        ("jaro_winkler_0.80", "jaro-winkler ≥ 0.80"),
        ("middle_name", "matches a middle name"),
    ),
    "surname": _levels(
        ("exact", "exact"),
        ("jaro_winkler_0.92", "jaro-winkler ≥ 0.92"),
        ("same_sound", "same sound"),
        ("jaro_winkler_0.80", "jaro-winkler ≥ 0.80"),
        ("name_part", "one name part of the other"),
    ),
    "name_variant": (
        Level(NULL_NAME, NULL_NAME),
        Level("as_given", "as given"),
        Level("swapped", "forename and surname swapped"),
        Level("alias", "through an alias"),
    ),
    "date_of_birth": _levels(
        ("exact", "exact"),
        ("transposed", "day and month transposed"),
        ("one_part_differs", "one of day, month, year differs"),
        ("within_year", "within a year"),
    ),
    "postcode": _levels(("full", "full postcode"), ("sector", "same sector"), ("district", "same district")),
    "sex": (Level(NULL_NAME, NULL_NAME), Level("same", "same"), Level("different", "different")),
    "identifier": (Level(NULL_NAME, NULL_NAME), Level("agree", "agree"), Level("disagree", "disagree")),
    "exact": _levels(("exact", "exact")),
}

# From this forename level on, two forenames are different names (the twins rule's "different forenames").
FORENAMES_DIFFER = "jaro_winkler_0.80"


def levels_of(comparison: Comparison | str) -> tuple[Level, ...]:
    """A comparison's levels, in order (a kind's name will do for every kind but ``fuzzy``)."""
    if isinstance(comparison, str):
        return KINDS[comparison]
    if comparison.kind != "fuzzy":
        return KINDS[comparison.kind]
    if comparison.metric == "jaro_winkler":
        similar = [(f"jaro_winkler_{t:g}", f"jaro-winkler ≥ {t}") for t in comparison.thresholds]
    else:
        similar = [(f"edit_distance_{t:g}", f"edit distance ≤ {t:g}") for t in comparison.thresholds]
    return _levels(("exact", "exact"), *similar)


def names(comparison: Comparison | str) -> list[str]:
    return [level.name for level in levels_of(comparison)]


def labels(comparison: Comparison | str) -> list[str]:
    return [level.label for level in levels_of(comparison)]


def index(comparison: Comparison | str, name: str) -> int:
    """The code of a level by name: ``index("identifier", "agree") == 1``."""
    for i, level in enumerate(levels_of(comparison)):
        if level.name == name:
            return i
    kind = comparison if isinstance(comparison, str) else comparison.kind
    raise KeyError(f"a {kind} comparison has no level {name!r}")


def levels_from(comparison: Comparison | str, name: str) -> np.ndarray:
    """The codes of a level and every weaker one after it (through ``else``)."""
    return np.arange(index(comparison, name), len(levels_of(comparison)), dtype=np.int8)


def first_level(comparison: Comparison | str, conditions: Mapping[str, np.ndarray], null: np.ndarray) -> np.ndarray:
    """Each pair's level: null where ``null``, else the first level (in order) whose condition holds,
    else ``else``. ``conditions`` names one condition per level between null and else."""
    order = levels_of(comparison)
    between = [level.name for level in order[1:-1]]
    if list(conditions) != between:
        raise ValueError(f"conditions {list(conditions)} are not the levels {between}")
    level = np.full(len(null), len(order) - 1, dtype=np.int8)
    for i in range(len(between), 0, -1):
        level[conditions[between[i - 1]]] = i
    level[null] = NULL
    return level
