"""Parsers and normalisers for mapping field types, vectorised over a whole column.

Each parser takes the source text (NA where blank) and returns the parsed column plus a reason
column: NA where the value parsed or was blank, a short reason where it was present but could
not be parsed. A parser never raises on bad data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nominal import identifiers, text

from .spec import FieldSpec


@dataclass(frozen=True)
class Parsed:
    values: pd.Series
    reason: pd.Series
    raw: pd.Series | None = None  # identifiers keep the value as sent


@dataclass(frozen=True)
class ParseContext:
    as_of: dt.date | None = None


def _no_reason(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="str")


def blank_to_na(values: pd.Series) -> pd.Series:
    """Text with surrounding white space removed; empty or all-space is missing."""
    values = values.astype("str").str.strip()
    return values.where(values.str.len() > 0)


def collapse_spaces(values: pd.Series) -> pd.Series:
    return text.replace(values, r"\s+", " ")


_NORMALISERS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "trim": lambda s: s.str.strip(),
    "upper": lambda s: s.str.upper(),
    "lower": lambda s: s.str.lower(),
    "title": lambda s: s.str.title(),
    "collapse_spaces": collapse_spaces,
    "remove_spaces": lambda s: text.replace(s, r"\s+", ""),
    "strip_punctuation": lambda s: text.replace(s, r"[^\w\s'\-/]", ""),
}


def apply_normalisers(values: pd.Series, names: list[str]) -> pd.Series:
    for name in names:
        values = _NORMALISERS[name](values)
    return blank_to_na(values)


def parse_text(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    return Parsed(blank_to_na(collapse_spaces(values)), _no_reason(values.index))


def normalise_name(values: pd.Series) -> pd.Series:
    values = text.upper(collapse_spaces(values))
    values = text.replace(values, "[\u2019\u2018`\u00b4]", "'")
    values = text.replace(text.replace(values, r"\s*-\s*", "-"), r"\bO\s*'\s*", "O'")
    return blank_to_na(values)


def parse_name(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    return Parsed(normalise_name(values), _no_reason(values.index))


def parse_key(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    return Parsed(text.squeeze(values), _no_reason(values.index))


def parse_full_name(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    names = normalise_name(values)
    surname, forenames = split_full_name(names, spec.order)
    part = surname if spec.part == "surname" else forenames
    return Parsed(blank_to_na(part), _no_reason(values.index))


def split_full_name(names: pd.Series, order: str) -> tuple[pd.Series, pd.Series]:
    """(surname, forenames) of names in one string. A comma always ends the surname when surname comes first."""
    has_comma = names.str.contains(",", regex=False).fillna(False).astype(bool)
    by_comma = names.str.split(",", n=1, expand=True).reindex(columns=[0, 1])
    if order == "surname_first":
        by_space = names.str.split(" ", n=1, expand=True).reindex(columns=[0, 1])
        surname = by_comma[0].where(has_comma, by_space[0])
        forenames = by_comma[1].where(has_comma, by_space[1])
    else:
        by_space = names.str.rsplit(" ", n=1, expand=True).reindex(columns=[0, 1])
        one_word = by_space[1].isna()
        surname = by_space[1].where(~one_word, by_space[0])
        forenames = by_space[0].where(~one_word)
        surname = by_comma[0].where(has_comma, surname)  # "SMITH, JOHN" is unambiguous either way
        forenames = by_comma[1].where(has_comma, forenames)
    return surname.astype("str").str.strip(), forenames.astype("str").str.strip()


def parse_aliases(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    """Each alias to ``SURNAME, FORENAMES``; several joined with ``; ``."""
    present = values.dropna()
    if present.empty:
        return Parsed(pd.Series(pd.NA, index=values.index, dtype="str"), _no_reason(values.index))
    items = present.str.split(spec.separator, regex=False).explode()
    items = normalise_name(items).dropna()
    parts = items.str.split(spec.name_separator, n=1, expand=True, regex=False).reindex(columns=[0, 1])
    first, second = parts[0].str.strip(), parts[1].str.strip()
    surname, forenames = (first, second) if spec.order == "surname_first" else (second, first)
    surname = surname.where(surname.notna() & (surname.str.len() > 0), forenames)
    forenames = forenames.where(surname != forenames)
    alias = surname.where(forenames.isna() | (forenames.str.len() == 0), surname + ", " + forenames).dropna()
    return Parsed(_join_per_row(alias, values.index, "; "), _no_reason(values.index))


def _join_per_row(items: pd.Series, index: pd.Index, separator: str) -> pd.Series:
    """Join items that share an index label, in order, into one string per label (NA where none).

    A pyarrow list array built from the items' row offsets: a groupby-join in pandas calls
    Python once per row and costs seconds on a million rows.
    """
    positions = index.get_indexer(items.index)
    counts = np.bincount(positions, minlength=len(index))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype("int32")
    order = np.argsort(positions, kind="stable")
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(items.iloc[order], type=pa.string(), from_pandas=True))
    joined = pd.Series(pc.binary_join(lists, separator).to_pandas().array, index=index, dtype="str")
    return joined.where(counts > 0)


def parse_code(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    table = {str(k).strip().upper(): v for k, v in (spec.codes or {}).items()}
    keys = collapse_spaces(values).str.upper()
    mapped = keys.map(table)
    known = keys.isin(list(table))
    unknown = keys.notna() & ~known
    integer_codes = all(isinstance(v, int) for v in table.values() if v is not None)
    out = mapped.astype("Int8" if integer_codes else "str")
    reason = _no_reason(values.index).mask(unknown, "not one of the known codes")
    return Parsed(out, reason)


def parse_integer(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    numbers = pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")
    whole = numbers.notna() & (numbers % 1 == 0)
    reason = _no_reason(values.index).mask(values.notna() & ~whole, "not a whole number")
    return Parsed(numbers.where(whole).astype("Int64"), reason)


def _human_format(fmt: str) -> str:
    for code, shown in (
        ("%d", "dd"),
        ("%m", "mm"),
        ("%Y", "yyyy"),
        ("%y", "yy"),
        ("%H", "HH"),
        ("%M", "MM"),
        ("%S", "SS"),
    ):
        fmt = fmt.replace(code, shown)
    return fmt


def _parse_dates(values: pd.Series, spec: FieldSpec, what: str) -> Parsed:
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ms]")
    remaining = values.notna()
    for fmt in spec.formats:
        if not remaining.any():
            break
        attempt = pd.to_datetime(values[remaining], format=fmt, errors="coerce")
        parsed.loc[attempt.index] = attempt.astype("datetime64[ms]")
        remaining &= parsed.isna()
    forms = " or ".join(_human_format(f) for f in spec.formats)
    reason = _no_reason(values.index).mask(remaining, f"not a valid {what} in the form {forms}")
    return Parsed(parsed, reason)


def parse_date(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    parsed = _parse_dates(values, spec, "date")
    return Parsed(parsed.values.dt.normalize(), parsed.reason)


def parse_datetime(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
    return _parse_dates(values, spec, "date and time")


def _identifier_parser(kind: str):
    def parse(values: pd.Series, spec: FieldSpec, context: ParseContext) -> Parsed:
        if kind == "pnc_id":  # the one normaliser that takes the year: it reads a short form's two-digit year
            year = context.as_of.year if context.as_of else None
            result = identifiers.normalise_pnc_id(values, current_year=year)
        else:
            result = identifiers.NORMALISERS[kind](values)
        label = IDENTIFIER_LABELS[kind]
        reason = (label + " " + result.reason).astype("str")
        return Parsed(result.canonical, reason, raw=values)

    return parse


IDENTIFIER_LABELS = {
    "pnc_id": "PNC ID",
    "cro_number": "CRO number",
    "noms_number": "NOMS number",
    "crn": "CRN",
    "ni_number": "NI number",
    "booking_no": "booking number",
    "postcode": "postcode",
}

PARSERS: dict[str, Callable[[pd.Series, FieldSpec, ParseContext], Parsed]] = {
    "key": parse_key,
    "text": parse_text,
    "name": parse_name,
    "full_name": parse_full_name,
    "aliases": parse_aliases,
    "code": parse_code,
    "integer": parse_integer,
    "date": parse_date,
    "datetime": parse_datetime,
    **{
        kind: _identifier_parser(kind)
        for kind in ("pnc_id", "cro_number", "noms_number", "crn", "ni_number", "booking_no", "postcode")
    },
}

# How a field's value is masked when it appears in an issue.
MASK_KIND = {
    "key": "identifier",
    "name": "name",
    "full_name": "name",
    "aliases": "name",
    "date": "date",
    "datetime": "date",
    **dict.fromkeys(
        ("pnc_id", "cro_number", "noms_number", "crn", "ni_number", "booking_no", "postcode"), "identifier"
    ),
}
