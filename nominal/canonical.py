"""The canonical person record: the frame every stage after mapping reads and writes.

One row per source record, the same columns for every feed. Feed-specific fields that a
mapping carries through (``extra:`` in its YAML) follow these columns with their own names.

Missing values are NA (never an empty string). Identifiers are in the canonical forms of
docs/feeds/identifiers.md, or NA when blank or invalid; the value as sent is kept beside
each identifier and the postcode in ``<name>_raw`` so that validation can report an invalid one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Field:
    name: str
    dtype: str
    description: str


STR = "str"
DATE = "datetime64[ms]"

IDENTIFIERS = ("pnc_id", "cro_number", "noms_number", "crn", "ni_number")
RAW_KEPT = (*IDENTIFIERS, "postcode")  # fields whose value as sent is kept beside the canonical one

FIELDS: tuple[Field, ...] = (
    Field("feed", STR, "name of the feed the record came from (police, probation, prison, …)"),
    Field("source_key", STR, "the record's key in its feed: unique within the feed, stable across nights"),
    Field("pnc_id", STR, "PNC ID, canonical long form YYYY/NNNNNNNC"),
    Field("cro_number", STR, "CRO number, NNNNNN/YYC or SFYY/NNNNNNC"),
    Field("noms_number", STR, "NOMS (prison) number A1234BC"),
    Field("crn", STR, "probation case reference X123456"),
    Field("ni_number", STR, "National Insurance number AB123456C"),
    Field("forenames", STR, "all given names, upper case, space separated, first forename first"),
    Field("surname", STR, "family name, upper case"),
    Field("aliases", STR, "other names used: 'SURNAME, FORENAMES; SURNAME, FORENAMES', upper case"),
    Field("date_of_birth", DATE, "date of birth (a date; the time part is always midnight)"),
    Field("sex", STR, "M, F or U (unknown / not specified)"),
    Field("postcode", STR, "UK postcode, upper case, one space before the inward code"),
    Field("address", STR, "address as one line of free text"),
    Field("mappa_category", "Int8", "MAPPA category 1, 2 or 3"),
    Field("mappa_level", "Int8", "MAPPA management level 1, 2 or 3"),
    Field("risk_level", STR, "LOW, MEDIUM, HIGH or VERY HIGH (police risk or probation ROSH)"),
    Field("record_updated_at", DATE, "when the source system last changed the record"),
    *(Field(f"{name}_raw", STR, f"{name} exactly as sent (trimmed), kept for exceptions") for name in RAW_KEPT),
    Field("extract_date", DATE, "the as-of date of the delivery the record came in"),
    Field("_source", STR, "provenance: file name, table or URL the record was read from"),
    Field("_row", "int64", "provenance: 1-based data row number within the source (header not counted)"),
)

COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS)
DTYPES: dict[str, str] = {f.name: f.dtype for f in FIELDS}
MAPPABLE: tuple[str, ...] = tuple(
    name for name in COLUMNS if name not in {"feed", "extract_date", "_source", "_row"} and not name.endswith("_raw")
)


KEY_SEPARATOR = "\x1f"  # between feed and source_key in a record's key: no key contains it


def record_keys(feeds: pd.Series | list[str], source_keys: pd.Series | list[str]) -> pd.Series:
    """One text key per record, ``feed`` and ``source_key`` joined (missing stays missing). Matching
    sorts and looks records up by it; publish builds its look-up indexes on it."""
    feed = pd.Series(feeds, dtype="str").reset_index(drop=True)
    return feed + KEY_SEPARATOR + pd.Series(source_keys, dtype="str").reset_index(drop=True)


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Order the canonical columns first with their documented dtypes; extras follow unchanged."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"canonical frame lacks columns: {', '.join(missing)}")
    out = frame.astype({c: DTYPES[c] for c in COLUMNS})
    extras = [c for c in frame.columns if c not in DTYPES]
    return out[list(COLUMNS) + extras]


def schema_markdown() -> str:
    """The schema as a Markdown table (used by the README and `nominal schema`)."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{f.name}` | {f.dtype} | {f.description} |" for f in FIELDS]
    return "\n".join(lines)
