"""Identifier formats and check characters (docs/feeds/identifiers.md), vectorised.

Every ``normalise_*`` function takes a Series of raw values as sent and returns an
``IdentifierResult``: the canonical value (or NA) and, for values that were present but
invalid, a short reason (or NA). Blank input is missing, not invalid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nominal.text import extract, fullmatch, squeeze, to_int

CHECK_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"  # 23 letters, I O S left out; index 0 is Z
_ALPHABET_ARRAY = np.array(list(CHECK_ALPHABET))

# NI number: letters never used in the prefix, and prefixes never allocated.
_NI_BAD_FIRST = set("DFIQUV")
_NI_BAD_SECOND = set("DFIOQUV")
_NI_UNALLOCATED = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}

REASON_FORMAT = "bad format"
REASON_CHECK = "fails check letter"
REASON_YEAR = "year out of range"
REASON_PREFIX = "prefix not allocated"


@dataclass(frozen=True)
class IdentifierResult:
    canonical: pd.Series  # str dtype, NA where missing or invalid
    reason: pd.Series  # str dtype, NA where missing or valid


def check_letters(digits: np.ndarray) -> np.ndarray:
    """Check letter for each integer formed from YY followed by the serial."""
    return _ALPHABET_ARRAY[np.asarray(digits, dtype=np.int64) % 23]


def pnc_check_letter(year: int, serial: int) -> str:
    return CHECK_ALPHABET[int(f"{year % 100:02d}{serial:07d}") % 23]


def cro_check_letter(year: int, serial: int) -> str:
    return CHECK_ALPHABET[int(f"{year % 100:02d}{serial:06d}") % 23]


def sf_check_letter(year: int, serial_as_written: str) -> str:
    return CHECK_ALPHABET[int(f"{year % 100:02d}{serial_as_written}") % 23]


def _empty_like(raw: pd.Series) -> pd.Series:
    return pd.Series(pd.NA, index=raw.index, dtype="str")


def _result(present: pd.Series, canonical: pd.Series, reason: pd.Series) -> IdentifierResult:
    # A present value with neither a canonical form nor a reason failed every pattern.
    reason = reason.mask(present & canonical.isna() & reason.isna(), REASON_FORMAT)
    return IdentifierResult(canonical.astype("str"), reason.astype("str"))


def normalise_pnc_id(raw: pd.Series, current_year: int | None = None) -> IdentifierResult:
    """PNC IDs to ``YYYY/NNNNNNNC``; short, slash-less and lower-case forms accepted."""
    current_year = current_year or dt.date.today().year
    s = squeeze(raw)
    canonical, reason = _empty_like(raw), _empty_like(raw)
    patterns = [
        r"(?P<year>\d{4})/(?P<serial>\d{1,7})(?P<check>[A-Z])",
        r"(?P<year>\d{2})/(?P<serial>\d{1,7})(?P<check>[A-Z])",
        r"(?P<year>\d{4})(?P<serial>\d{7})(?P<check>[A-Z])",
        r"(?P<year>\d{2})(?P<serial>\d{7})(?P<check>[A-Z])",
    ]
    todo = s.notna()
    for pattern in patterns:
        parts = extract(s[todo], pattern)
        if parts.empty:
            continue
        year = to_int(parts["year"])
        short = parts["year"].str.len() == 2
        year = year.mask(short & (year <= current_year % 100), 2000 + year)
        year = year.mask(short & (year < 100), 1900 + year)
        serial = to_int(parts["serial"])
        expected = check_letters((year % 100).to_numpy() * 10**7 + serial.to_numpy())
        future = (year > current_year) | (year < 1900)
        bad_check = parts["check"].to_numpy() != expected
        ok = ~future & ~bad_check
        formatted = year.astype("str") + "/" + parts["serial"].str.zfill(7) + parts["check"]
        canonical.loc[parts.index[ok.to_numpy()]] = formatted[ok]
        reason.loc[parts.index[future.to_numpy()]] = REASON_YEAR
        reason.loc[parts.index[~future.to_numpy() & bad_check]] = REASON_CHECK
        todo.loc[parts.index] = False
    return _result(s.notna(), canonical, reason)


def normalise_cro_number(raw: pd.Series) -> IdentifierResult:
    """CRO numbers: standard ``NNNNNN/YYC`` (serial padded to 6) or SF ``SFYY/NNNNNNC`` (as written)."""
    s = squeeze(raw)
    canonical, reason = _empty_like(raw), _empty_like(raw)

    standard = extract(s, r"(?P<serial>\d{1,6})/(?P<year>\d{2})(?P<check>[A-Z])")
    if not standard.empty:
        serial6 = standard["serial"].str.zfill(6)
        digits = to_int(standard["year"] + serial6).to_numpy()
        ok = standard["check"].to_numpy() == check_letters(digits)
        formatted = serial6 + "/" + standard["year"] + standard["check"]
        canonical.loc[standard.index[ok]] = formatted[ok]
        reason.loc[standard.index[~ok]] = REASON_CHECK

    sf = extract(s, r"SF(?P<year>\d{2})/?(?P<serial>\d{1,6})(?P<check>[A-Z])")
    if not sf.empty:
        digits = to_int(sf["year"] + sf["serial"]).to_numpy()
        ok = sf["check"].to_numpy() == check_letters(digits)
        formatted = "SF" + sf["year"] + "/" + sf["serial"] + sf["check"]
        canonical.loc[sf.index[ok]] = formatted[ok]
        reason.loc[sf.index[~ok]] = REASON_CHECK
    return _result(s.notna(), canonical, reason)


def _normalise_format(raw: pd.Series, pattern: str) -> IdentifierResult:
    s = squeeze(raw)
    ok = fullmatch(s, pattern)
    return _result(s.notna(), s.where(ok), _empty_like(raw))


def normalise_noms_number(raw: pd.Series) -> IdentifierResult:
    return _normalise_format(raw, r"[A-Z]\d{4}[A-Z]{2}")


def normalise_crn(raw: pd.Series) -> IdentifierResult:
    return _normalise_format(raw, r"[A-Z]\d{6}")


def normalise_booking_no(raw: pd.Series) -> IdentifierResult:
    return _normalise_format(raw, r"[A-Z]\d{5}")


def normalise_ni_number(raw: pd.Series) -> IdentifierResult:
    s = squeeze(raw)
    shaped = fullmatch(s, r"[A-Z]{2}\d{6}[A-D]")
    prefix = s.str.slice(0, 2)
    bad_prefix = (
        (
            prefix.str.slice(0, 1).isin(_NI_BAD_FIRST)
            | prefix.str.slice(1, 2).isin(_NI_BAD_SECOND)
            | prefix.isin(_NI_UNALLOCATED)
        )
        .fillna(False)
        .astype(bool)
    )
    reason = _empty_like(raw).mask(shaped & bad_prefix, REASON_PREFIX)
    return _result(s.notna(), s.where(shaped & ~bad_prefix), reason)


_POSTCODE = r"(?P<outward>GIR|[A-Z]{1,2}\d[A-Z\d]?)(?P<inward>\d[A-Z]{2})"


def normalise_postcode(raw: pd.Series) -> IdentifierResult:
    """UK postcodes to ``OUTWARD INWARD`` (one space, upper case)."""
    s = squeeze(raw)
    parts = extract(s, _POSTCODE)
    canonical = (parts["outward"] + " " + parts["inward"]).reindex(s.index).astype("str")
    return _result(s.notna(), canonical, _empty_like(raw))


NORMALISERS = {
    "pnc_id": normalise_pnc_id,
    "cro_number": normalise_cro_number,
    "noms_number": normalise_noms_number,
    "crn": normalise_crn,
    "ni_number": normalise_ni_number,
    "booking_no": normalise_booking_no,
    "postcode": normalise_postcode,
}
