"""Synthetic identifiers: issue them, vary their format as feeds send them, and corrupt them.

Serial ranges below are reserved by this project for synthetic data (docs/synthetic.md), so a
generated PNC ID or CRO number can never be a real person's.
"""

from __future__ import annotations

import math
import string

import numpy as np
import pandas as pd

from nominal.identifiers import CHECK_ALPHABET, check_letters

from . import strs
from .rand import Streams

PNC_SERIALS = (9_000_000, 9_999_999)  # 7-digit PNC serials
CRO_SERIALS = (900_000, 999_999)  # standard CRO serials, and SF serials written with 6 digits
SF_SHORT_SERIALS = (90_000, 99_999)  # SF serials written with 5 digits (the SF form does not pad)
SF_SHORT_SHARE = 0.3

LETTERS = np.array(list(string.ascii_uppercase))
_NI_FIRST = [c for c in string.ascii_uppercase if c not in "DFIQUV"]
_NI_SECOND = [c for c in string.ascii_uppercase if c not in "DFIOQUV"]
NI_PREFIXES = np.array(
    [a + b for a in _NI_FIRST for b in _NI_SECOND if a + b not in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}]
)

PNC_PATTERN = r"\d{4}/\d{7}[A-Z]"


def _check_text(numbers: np.ndarray):
    """The check letter of each number (YY followed by the serial), as text."""
    return strs.arrow(check_letters(numbers))


NI_PATTERN = r"[A-Z]{2}\d{6}[A-D]"


# --- keys and numbers issued from a counter: unique by construction ---------------------------


class KeySpace:
    """Turns counter values 0, 1, 2 … into distinct, random-looking codes below ``size``.

    An affine map ``(a·i + b) mod size`` with ``a`` coprime to ``size`` is a bijection, so codes
    never repeat while the counter stays below ``size``.
    """

    def __init__(self, size: int, rng: np.random.Generator):
        self.size = size
        a = int(rng.integers(size // 3, size // 2))
        while math.gcd(a, size) != 1:
            a += 1
        self.a, self.b = a, int(rng.integers(0, size))

    def codes(self, counters: np.ndarray) -> np.ndarray:
        counters = np.asarray(counters, dtype=np.int64)
        if len(counters) and counters.max() >= self.size:
            raise ValueError(f"key space of {self.size:,} exhausted: too many records for this identifier")
        return (counters * self.a + self.b) % self.size


CRN_SPACE = 26 * 10**6  # X123456
BOOKING_SPACE = 26 * 10**5  # K12345
NOMS_SPACE = 2 * 10**4 * 26 * 26  # A1234BC / G1234BC


def nominal_refs(counters: np.ndarray) -> pd.Series:
    return strs.series(strs.join("NOM", strs.padded(np.asarray(counters) + 1, 8)))


def crns(codes: np.ndarray) -> pd.Series:
    return strs.series(strs.join(strs.take(LETTERS, codes // 10**6), strs.padded(codes % 10**6, 6)))


def booking_numbers(codes: np.ndarray) -> pd.Series:
    return strs.series(strs.join(strs.take(LETTERS, codes // 10**5), strs.padded(codes % 10**5, 5)))


def noms_numbers(codes: np.ndarray) -> pd.Series:
    codes = np.asarray(codes, dtype=np.int64)
    rest = codes % (10**4 * 676)
    return strs.series(
        strs.join(
            strs.take(["A", "G"], codes // (10**4 * 676)),
            strs.padded(rest // 676, 4),
            strs.take(LETTERS, (rest % 676) // 26),
            strs.take(LETTERS, rest % 26),
        )
    )


# --- identifiers issued per group (a year, a form) from counters -------------------------------


class Issuer:
    """Issues distinct codes below ``size`` within each group (a PNC year, a CRO form and year),
    from one counter per group, so an identifier is never issued twice: not within a night, not
    on a later night.
    """

    def __init__(self, streams: Streams, name: str, size: int):
        self.streams, self.name, self.size = streams, name, size
        self.spaces: dict[int, KeySpace] = {}
        self.issued: dict[int, int] = {}

    def issue(self, groups: np.ndarray) -> np.ndarray:
        groups = np.asarray(groups, dtype=np.int64)
        codes = np.zeros(len(groups), dtype=np.int64)
        order = np.argsort(groups, kind="stable")
        values, starts = np.unique(groups[order], return_index=True)
        for group, first, last in zip(values.tolist(), starts, np.append(starts[1:], len(order))):
            if group not in self.spaces:
                self.spaces[group] = KeySpace(self.size, self.streams.rng("issuer", self.name, group))
                self.issued[group] = 0
            counters = self.issued[group] + np.arange(last - first)
            codes[order[first:last]] = self.spaces[group].codes(counters)
            self.issued[group] += last - first
        return codes


def pnc_ids(issuer: Issuer, years: np.ndarray) -> pd.Series:
    """Canonical ``YYYY/NNNNNNNC`` with correct check letters (serials from the synthetic range)."""
    years = np.asarray(years, dtype=np.int64)
    serials = PNC_SERIALS[0] + issuer.issue(years)
    check = _check_text((years % 100) * 10**7 + serials)
    return strs.series(strs.join(strs.number(years), "/", strs.padded(serials, 7), check))


def cro_numbers(
    issuer: Issuer, short_issuer: Issuer, years: np.ndarray, sf: np.ndarray, rng: np.random.Generator
) -> pd.Series:
    """Canonical CRO numbers: standard ``NNNNNN/YYC`` or, where ``sf``, ``SFYY/NNNNNNC`` (a share
    of SF serials are five digits: the SF form writes the serial as issued, unpadded)."""
    yy = np.asarray(years, dtype=np.int64) % 100
    sf = np.asarray(sf, dtype=bool)
    short = sf & (rng.random(len(yy)) < SF_SHORT_SHARE)
    serials = np.zeros(len(yy), dtype=np.int64)
    serials[~short] = CRO_SERIALS[0] + issuer.issue(sf[~short] * 100 + yy[~short])  # standard and SF apart
    serials[short] = SF_SHORT_SERIALS[0] + short_issuer.issue(yy[short])
    # The check number is YY followed by the serial as written (standard serials padded to 6).
    check = _check_text(yy * np.where(short, 10**5, 10**6) + serials)
    standard = strs.join(strs.padded(serials, 6), "/", strs.padded(yy, 2), check)
    sf_form = strs.join("SF", strs.padded(yy, 2), "/", strs.number(serials), check)
    return strs.series(strs.choose(sf, sf_form, standard))


NI_SPACE = len(NI_PREFIXES) * 10**6 * 4


def ni_numbers(issuer: Issuer, count: int) -> pd.Series:
    """NI numbers with allocated prefixes and suffixes A–D."""
    codes = issuer.issue(np.zeros(count, dtype=np.int64))
    prefix, rest = codes // (4 * 10**6), codes % (4 * 10**6)
    return strs.series(
        strs.join(strs.take(NI_PREFIXES, prefix), strs.padded(rest // 4, 6), strs.take(LETTERS, rest % 4))
    )


# --- format variations: how a feed writes a valid identifier (normalise back fine) -------------


def pnc_variants(
    canonical: pd.Series, rng: np.random.Generator, *, short: float, no_slash: float, lower: float, this_year: int
) -> pd.Series:
    """PNC IDs as a feed sends them: short form ``YY/serialC``, slash missing, lower case.

    Only well-formed canonical values are varied (a deliberately malformed one is left alone), and
    the short form only where its century is unambiguous.
    """
    result = canonical.astype("str").copy()
    shaped = result.str.fullmatch(PNC_PATTERN).fillna(False).to_numpy(bool)
    year = pd.to_numeric(result.str.slice(0, 4), errors="coerce").fillna(0).to_numpy(np.int64)
    unambiguous = (year >= 2000) | (year % 100 > this_year % 100)
    u = rng.random(len(result))
    make_short = shaped & unambiguous & (u < short)
    drop_slash = shaped & ~make_short & (u < short + no_slash)
    lower_case = shaped & (rng.random(len(result)) < lower)
    if make_short.any():
        part = result[make_short]
        result[make_short] = part.str.slice(2, 4) + "/" + part.str.slice(5, 12).str.lstrip("0") + part.str.slice(12, 13)
    if drop_slash.any():
        result[drop_slash] = result[drop_slash].str.replace("/", "", regex=False)
    if lower_case.any():
        result[lower_case] = result[lower_case].str.lower()
    return result


def ni_variants(canonical: pd.Series, rng: np.random.Generator, *, spaced: float) -> pd.Series:
    """NI numbers written ``AB 12 34 56 C`` instead of ``AB123456C``."""
    result = canonical.astype("str").copy()
    rows = result.str.fullmatch(NI_PATTERN).fillna(False).to_numpy(bool) & (rng.random(len(result)) < spaced)
    if rows.any():
        part = result[rows]
        result[rows] = (
            part.str.slice(0, 2)
            + " "
            + part.str.slice(2, 4)
            + " "
            + part.str.slice(4, 6)
            + " "
            + part.str.slice(6, 8)
            + " "
            + part.str.slice(8, 9)
        )
    return result


def postcode_variants(canonical: pd.Series, rng: np.random.Generator, *, share: float) -> pd.Series:
    """Postcodes with no space, in lower case or with a double space."""
    result = canonical.astype("str").copy()
    kind = np.where(rng.random(len(result)) < share, rng.integers(1, 4, len(result)), 0)
    for k, (old, new) in {1: (" ", ""), 3: (" ", "  ")}.items():
        rows = kind == k
        if rows.any():
            result[rows] = result[rows].str.replace(old, new, regex=False)
    rows = kind == 2
    if rows.any():
        result[rows] = result[rows].str.lower()
    return result


# --- corruption: identifiers that fail validation, or belong to someone else --------------------


def break_check(canonical: pd.Series, rng: np.random.Generator) -> pd.Series:
    """A mistyped serial digit or check letter in canonical PNC IDs or CRO numbers.

    Either way the check letter no longer holds (one changed digit always changes the number
    modulo 23), while the value keeps a valid shape.
    """
    count = len(canonical)
    if count == 0:
        return canonical.astype("str")
    matrix = np.asarray(canonical.astype("str").to_numpy(), dtype="U").view(np.uint32).reshape(count, -1).copy()
    lengths = (matrix != 0).sum(axis=1)
    sf = canonical.str.startswith("SF").to_numpy(bool)
    pnc = canonical.str.fullmatch(PNC_PATTERN).fillna(False).to_numpy(bool)
    rows = np.arange(count)
    # Serial digits: PNC positions 5–11; SF 5 to the one before the letter; standard CRO 0–5.
    first = np.where(pnc | sf, 5, 0)
    last = np.where(pnc | sf, lengths - 2, 5)
    digit_pos = first + np.floor(rng.random(count) * (last - first + 1)).astype(np.int64)
    new_digit = (matrix[rows, digit_pos] - ord("0") + rng.integers(1, 10, count)) % 10 + ord("0")
    alphabet = np.array([ord(c) for c in CHECK_ALPHABET], dtype=np.uint32)
    letter_pos = lengths - 1
    letter_index = np.argmax(alphabet[None, :] == matrix[rows, letter_pos][:, None], axis=1)
    new_letter = alphabet[(letter_index + rng.integers(1, 23, count)) % 23]
    change_letter = rng.random(count) < 0.5
    matrix[rows[change_letter], letter_pos[change_letter]] = new_letter[change_letter]
    matrix[rows[~change_letter], digit_pos[~change_letter]] = new_digit[~change_letter]
    return pd.Series(matrix.view(f"U{matrix.shape[1]}").reshape(count), index=canonical.index).astype("str")


def malformed(values: pd.Series, field: str, rng: np.random.Generator) -> pd.Series:
    """Identifiers keyed so badly that no pattern matches: a check letter or digit lost, a digit
    too many, a wrong separator or an impossible NI suffix."""
    values = values.astype("str")
    first_way = pd.Series(rng.random(len(values)) < 0.5, index=values.index)
    if field == "pnc_id":
        result = values.str.slice(0, -1).where(first_way, values.str.replace("/", "/1", n=1, regex=False))
    elif field == "cro_number":
        result = values.str.slice(0, -1).where(first_way, values.str.replace("/", "-", n=1, regex=False))
    elif field == "ni_number":
        result = (values.str.slice(0, 7) + values.str.slice(8, 9)).where(first_way, values.str.slice(0, 8) + "X")
    elif field == "noms_number":
        result = values.str.slice(0, 1) + values.str.slice(2, 7)
    else:
        raise ValueError(f"no malformed form for {field}")
    return result.astype("str")


def other_people(persons: np.ndarray, holders: np.ndarray, rng) -> np.ndarray:
    """For each record's person, another person among ``holders`` (people holding the identifier)."""
    picks = rng.integers(0, len(holders), len(persons))
    same = holders[picks] == persons
    picks[same] = (picks[same] + 1) % len(holders)
    return holders[picks]
