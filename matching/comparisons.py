"""Comparisons: for every candidate pair, which level of each comparison it reaches.

Each comparison kind lists its levels in order (``matching.levels``: null first, then from the
strongest agreement to ``else``); here each level's condition is computed, by the level's name,
and every pair gets one small integer: the first level whose condition holds. String
similarity uses rapidfuzz's batch scorer (``process.cpdist``) over whole arrays, never a Python
loop over pairs; equality, phonetic codes and nicknames are integer comparisons of coded names.
Names are first aligned per pair: as given, swapped (forename and surname exchanged) or through
an alias, whichever agrees best; the ``name_variant`` comparison records which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from . import levels
from .arrays import isin_sorted
from .prepare import Records, nickname_equivalent
from .settings import Comparison, Settings

STRONG_NAMES = 1.8  # forename plus surname Jaro-Winkler (of 2) for a swapped or alias reading to count
AS_GIVEN, SWAPPED, THROUGH_ALIAS = (levels.index("name_variant", n) for n in ("as_given", "swapped", "alias"))
_EQUAL = {"sex": "same", "identifier": "agree", "exact": "exact"}  # the one level before else of these kinds


@dataclass
class Gamma:
    """Levels per comparison for a set of pairs (int8 arrays aligned with ``a`` and ``b``)."""

    a: np.ndarray
    b: np.ndarray
    levels: dict[str, np.ndarray]
    tf_codes: dict[str, np.ndarray]  # comparison → code of the agreed value (term-frequency weights)

    def __len__(self) -> int:
        return len(self.a)

    def take(self, mask: np.ndarray) -> Gamma:
        return Gamma(
            a=self.a[mask],
            b=self.b[mask],
            levels={k: v[mask] for k, v in self.levels.items()},
            tf_codes={k: v[mask] for k, v in self.tf_codes.items()},
        )

    def matrix(self, names: list[str]) -> np.ndarray:
        return np.column_stack([self.levels[n] for n in names]) if names else np.zeros((len(self.a), 0), np.int8)


def _jaro_winkler(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return np.zeros(0, np.float32)
    return process.cpdist(x, y, scorer=JaroWinkler.normalized_similarity, dtype=np.float32, workers=-1)


def _edit_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return np.zeros(0, np.int32)
    return process.cpdist(x, y, scorer=Levenshtein.distance, dtype=np.int32, workers=-1)


@dataclass
class AlignedNames:
    """Name codes per pair after alignment (-1: missing)."""

    forename_a: np.ndarray
    forename_b: np.ndarray
    surname_a: np.ndarray
    surname_b: np.ndarray
    variant: np.ndarray  # the name_variant level: as given, swapped or through an alias


def _similarity(records: Records, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Jaro-Winkler of two arrays of name codes (1.0 where equal and present, 0 where either is missing)."""
    text = records.names.text
    score = _jaro_winkler(text(x), text(y))
    score[(x < 0) | (y < 0)] = 0.0
    return score


def align_names(records: Records, a: np.ndarray, b: np.ndarray) -> AlignedNames:
    """Per pair, the reading of the two records' names that agrees best: as given, swapped or via an alias."""
    codes = records.name_codes
    fa, fb = codes["forename"][a], codes["forename"][b]
    sa, sb = codes["surname_key"][a], codes["surname_key"][b]
    given = _similarity(records, fa, fb) + _similarity(records, sa, sb)
    swapped = _similarity(records, fa, sb) + _similarity(records, sa, fb)
    # Only a clear, strong agreement the other way round counts: by chance alone, two unrelated
    # names often agree a little better swapped.
    swap = (swapped >= STRONG_NAMES) & (swapped > given + 0.25)
    variant = np.where(swap, SWAPPED, AS_GIVEN).astype(np.int8)
    fa, sa = np.where(swap, sa, fa), np.where(swap, fa, sa)
    best = np.maximum(given, swapped)
    fb, sb = fb.copy(), sb.copy()
    if len(records.aliases):
        for own, other, fo, so in ((a, b, fa, sa), (b, a, fb, sb)):
            _through_aliases(records, own, other, fo, so, variant, best)
    return AlignedNames(fa, fb, sa, sb, variant)


def _explode_aliases(records: Records, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position in ``owners`` (rids), one row per alias: (position, alias row)."""
    rids = records.aliases["rid"].to_numpy()  # sorted
    start = np.searchsorted(rids, owners, side="left")
    count = np.searchsorted(rids, owners, side="right") - start
    position = np.repeat(np.arange(len(owners)), count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return position, np.repeat(start, count) + offset


def _through_aliases(records: Records, own, other, forename, surname, variant, best) -> None:
    """Where an alias of ``own`` matches ``other``'s names better than the reading so far, use it (in place)."""
    position, row = _explode_aliases(records, own)
    if len(position) == 0:
        return
    alias_forename = records.aliases["forename"].to_numpy()[row]
    alias_surname = records.aliases["surname"].to_numpy()[row]
    other_rid = other[position]
    score = _similarity(records, alias_forename, records.name_codes["forename"][other_rid]) + _similarity(
        records, alias_surname, records.name_codes["surname_key"][other_rid]
    )
    order = np.lexsort((-score, position))  # best alias first within each pair
    first = order[np.r_[True, position[order][1:] != position[order][:-1]]]
    better = (score[first] >= STRONG_NAMES) & (score[first] > best[position[first]] + 0.25)
    pairs, chosen = position[first][better], first[better]
    forename[pairs], surname[pairs] = alias_forename[chosen], alias_surname[chosen]
    variant[pairs] = THROUGH_ALIAS
    best[pairs] = score[chosen]


def compare_forename(records: Records, names: AlignedNames, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x, y = names.forename_a, names.forename_b
    null = (x < 0) | (y < 0)
    jw = _similarity(records, x, y)
    sx, sy = records.name_sound[x], records.name_sound[y]
    middle_a, middle_b = records.name_codes["middle_name"][a], records.name_codes["middle_name"][b]
    middle = ((x == middle_b) & (x >= 0)) | ((y == middle_a) & (y >= 0))  # first and second names swapped
    return levels.first_level(
        "forename",
        {
            "exact": x == y,
            "nickname": nickname_equivalent(records, x, y),
            "jaro_winkler_0.92": jw >= 0.92,
            "same_sound": (sx == sy) & (sx >= 0),
            "jaro_winkler_0.80": jw >= 0.80,
            "middle_name": middle,
        },
        null,
    )


def compare_surname(records: Records, names: AlignedNames, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x, y = names.surname_a, names.surname_b
    null = (x < 0) | (y < 0)
    jw = _similarity(records, x, y)
    sx, sy = records.name_sound[x], records.name_sound[y]
    codes = records.name_codes
    first_a, last_a = codes["surname_first_part"][a], codes["surname_last_part"][a]
    first_b, last_b = codes["surname_first_part"][b], codes["surname_last_part"][b]
    # a double-barrelled name against one of its parts (SMITH-JONES / JONES), names as given only
    part = (names.variant == AS_GIVEN) & (
        ((first_a >= 0) & ((first_a == y) | (last_a == y))) | ((first_b >= 0) & ((first_b == x) | (last_b == x)))
    )
    return levels.first_level(
        "surname",
        {
            "exact": x == y,
            "jaro_winkler_0.92": jw >= 0.92,
            "same_sound": (sx == sy) & (sx >= 0),
            "jaro_winkler_0.80": jw >= 0.80,
            "name_part": part,
        },
        null,
    )


def compare_date_of_birth(records: Records, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    f = records.frame
    y, m, d, days = (f[c].to_numpy(dtype="float64", na_value=np.nan) for c in ("dob_y", "dob_m", "dob_d", "dob_days"))
    ya, yb, ma, mb, da, db = y[a], y[b], m[a], m[b], d[a], d[b]
    null = np.isnan(ya) | np.isnan(yb)
    same = (ya == yb) & (ma == mb) & (da == db)
    transposed = (ya == yb) & (ma == db) & (da == mb) & (ma != da)
    two_of_three = ((ya == yb).astype(int) + (ma == mb) + (da == db)) == 2
    within_year = np.abs(days[a] - days[b]) <= 366
    return levels.first_level(
        "date_of_birth",
        {"exact": same, "transposed": transposed, "one_part_differs": two_of_three, "within_year": within_year},
        null,
    )


def compare_postcode(records: Records, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, full = records.codes("postcode")
    _, sector = records.codes("postcode_sector")
    _, district = records.codes("postcode_district")
    null = (full[a] < 0) | (full[b] < 0)
    return levels.first_level(
        "postcode",
        {"full": full[a] == full[b], "sector": sector[a] == sector[b], "district": district[a] == district[b]},
        null,
    )


def compare_values(records: Records, comparison: Comparison, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sex, identifier, exact and fuzzy comparisons on one column."""
    vocabulary, codes = records.codes(comparison.column_name())
    if comparison.null_values:
        unknown = np.flatnonzero(np.isin(vocabulary.values, comparison.null_values))
        codes = np.where(isin_sorted(codes, unknown), -1, codes)
    x, y = codes[a], codes[b]
    null = (x < 0) | (y < 0)
    equal = x == y
    if comparison.kind in _EQUAL:
        return levels.first_level(comparison, {_EQUAL[comparison.kind]: equal}, null)
    similar = levels.names(comparison)[2:-1]  # fuzzy: one level per threshold, between exact and else
    if comparison.metric == "jaro_winkler":
        score = _jaro_winkler(vocabulary.text(x), vocabulary.text(y))
        met = [score >= t for t in comparison.thresholds]
    else:
        distance = _edit_distance(vocabulary.text(x), vocabulary.text(y))
        met = [distance <= t for t in comparison.thresholds]
    return levels.first_level(comparison, {"exact": equal, **dict(zip(similar, met))}, null)


def compare(records: Records, settings: Settings, a: np.ndarray, b: np.ndarray) -> Gamma:
    """Every comparison's level for every pair."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    found: dict[str, np.ndarray] = {}
    tf_codes: dict[str, np.ndarray] = {}
    names = (
        align_names(records, a, b)
        if any(c.kind in ("forename", "surname", "name_variant") for c in settings.comparisons)
        else None
    )
    for c in settings.comparisons:
        if c.kind == "forename" and names is not None:
            found[c.name] = compare_forename(records, names, a, b)
            tf_codes[c.name] = names.forename_a
        elif c.kind == "surname" and names is not None:
            found[c.name] = compare_surname(records, names, a, b)
            tf_codes[c.name] = names.surname_a
        elif c.kind == "name_variant" and names is not None:
            found[c.name] = names.variant
        elif c.kind == "date_of_birth":
            found[c.name] = compare_date_of_birth(records, a, b)
        elif c.kind == "postcode":
            found[c.name] = compare_postcode(records, a, b)
        elif c.column is None or c.column not in records.frame.columns:
            found[c.name] = np.full(len(a), levels.NULL, dtype=np.int8)  # not in these records: no evidence either way
        else:
            found[c.name] = compare_values(records, c, a, b)
            tf_codes[c.name] = records.codes(c.column_name())[1][a]
    return Gamma(a=a, b=b, levels=found, tf_codes=tf_codes)
