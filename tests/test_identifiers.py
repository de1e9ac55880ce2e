"""Identifier check characters and canonical forms (docs/feeds/identifiers.md)."""

import pandas as pd
import pytest

from nominal.identifiers import (
    CHECK_ALPHABET,
    normalise_crn,
    normalise_cro_number,
    normalise_ni_number,
    normalise_noms_number,
    normalise_pnc_id,
    normalise_postcode,
)

VALID_PNC = ["2001/0171310W", "2011/0275516Q", "1981/0154257C"]
VALID_CRO = ["265416/21G", "SF05/482703J", "SF83/50058Z"]


def one(normalise, value, **kwargs):
    result = normalise(pd.Series([value], dtype="str"), **kwargs)
    canonical, reason = result.canonical.iloc[0], result.reason.iloc[0]
    return (None if pd.isna(canonical) else canonical), (None if pd.isna(reason) else reason)


@pytest.mark.parametrize("value", VALID_PNC)
def test_documented_pnc_ids_are_valid(value):
    assert one(normalise_pnc_id, value, current_year=2026) == (value, None)


@pytest.mark.parametrize(
    "sent, canonical",
    [
        ("01/171310W", "2001/0171310W"),  # short form, serial without leading zeros
        ("20010171310W", "2001/0171310W"),  # slash missing
        (" 2001/0171310w ", "2001/0171310W"),  # stray spaces, lower case
        ("2011 / 0275516 Q", "2011/0275516Q"),
        ("81/154257C", "1981/0154257C"),  # 81 > current YY → 19YY
    ],
)
def test_pnc_forms_normalise_to_the_long_form(sent, canonical):
    assert one(normalise_pnc_id, sent, current_year=2026) == (canonical, None)


def mutations(value: str):
    """Every single-character change of a value: each digit or letter replaced by every other."""
    for i, ch in enumerate(value):
        pool = "0123456789" if ch.isdigit() else (CHECK_ALPHABET if ch.isalpha() else "")
        for other in pool:
            if other != ch:
                yield value[:i] + other + value[i + 1 :]


@pytest.mark.parametrize("value", VALID_PNC)
def test_every_single_character_mutation_of_a_pnc_id_is_caught(value):
    # The century digits are not part of the check (1901 and 2001 share YY), so they are left alone;
    # every other change is caught by the check letter or, for a year in the future, the range.
    mutated = list(mutations(value[2:]))
    assert mutated
    series = pd.Series([value[:2] + m for m in mutated], dtype="str")
    result = normalise_pnc_id(series, current_year=2026)
    assert result.canonical.isna().all(), series[result.canonical.notna()].tolist()
    assert result.reason.notna().all()


@pytest.mark.parametrize("value", VALID_CRO)
def test_documented_cro_numbers_are_valid(value):
    assert one(normalise_cro_number, value) == (value, None)


@pytest.mark.parametrize("value", VALID_CRO)
def test_every_single_character_mutation_of_a_cro_number_is_caught(value):
    body = value[2:] if value.startswith("SF") else value
    prefix = "SF" if value.startswith("SF") else ""
    series = pd.Series([prefix + m for m in mutations(body)], dtype="str")
    result = normalise_cro_number(series)
    assert result.canonical.isna().all(), series[result.canonical.notna()].tolist()
    assert (result.reason == "fails check letter").all()


def test_documented_invalid_cro_fails_its_check():
    assert one(normalise_cro_number, "85227/65G") == (None, "fails check letter")


def test_unpadded_standard_cro_is_padded():
    assert one(normalise_cro_number, "65416/21" + CHECK_ALPHABET[int("21065416") % 23]) == (
        "065416/21" + CHECK_ALPHABET[int("21065416") % 23],
        None,
    )


def test_pnc_with_future_year_is_invalid():
    assert one(normalise_pnc_id, "2031/0000001" + CHECK_ALPHABET[int("310000001") % 23], current_year=2026) == (
        None,
        "year out of range",
    )


@pytest.mark.parametrize(
    "normalise, sent, expected",
    [
        (normalise_noms_number, "a1234bc", ("A1234BC", None)),
        (normalise_noms_number, "A12345C", (None, "bad format")),
        (normalise_crn, "x123456", ("X123456", None)),
        (normalise_crn, "X12345", (None, "bad format")),
        (normalise_ni_number, "hb 10 88 40 b", ("HB108840B", None)),
        (normalise_ni_number, "DA123456A", (None, "prefix not allocated")),
        (normalise_ni_number, "AO123456A", (None, "prefix not allocated")),
        (normalise_ni_number, "TN123456A", (None, "prefix not allocated")),
        (normalise_ni_number, "AB123456E", (None, "bad format")),
        (normalise_postcode, "ls63tj", ("LS6 3TJ", None)),
        (normalise_postcode, "SW1A  1AA", ("SW1A 1AA", None)),
        (normalise_postcode, "EC1A1BB", ("EC1A 1BB", None)),
        (normalise_postcode, "12345", (None, "bad format")),
        (normalise_pnc_id, "", (None, None)),
        (normalise_pnc_id, "   ", (None, None)),
        (normalise_pnc_id, "NOT A PNC", (None, "bad format")),
    ],
)
def test_formats(normalise, sent, expected):
    assert one(normalise, sent) == expected


def test_missing_values_are_neither_valid_nor_invalid():
    result = normalise_pnc_id(pd.Series([None, pd.NA, ""], dtype="str"))
    assert result.canonical.isna().all() and result.reason.isna().all()
