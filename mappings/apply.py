"""Apply a feed's mapping to its raw frame: the canonical frame plus row-level issues.

Unparseable values become null plus an issue naming the source, row, field and (masked)
value; rows are never dropped silently. The only row dropped is one without a key, and it is
reported. Structural problems (a required column missing) are errors: the delivery is refused.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from nominal import canonical, text
from nominal.errors import FeedError
from nominal.masking import mask_series
from nominal.schema import STR, Field, schema

from .parsers import MASK_KIND, PARSERS, ParseContext, Parsed, apply_normalisers, blank_to_na
from .spec import IDENTIFIER_TYPES, FieldSpec, MappingSpec


class IssueKind(StrEnum):
    UNPARSEABLE = "unparseable"  # not a value of the field's type (or not matching its pattern)
    TOO_LONG = "too_long"  # longer than the field's max_length (kept whole)
    MISSING_KEY = "missing_key"  # a blank key: the row is dropped


# What mapping emits beside the canonical frame: one row per value that could not be used as sent.
ISSUES = schema(
    "mapping issues",
    (
        Field("feed", STR, "the feed", nullable=False),
        Field("source", STR, "file name, table or URL the record was read from"),
        Field("row", "int64", "1-based data row within the source"),
        Field("source_key", STR, "the record's key (masked where it is an identifier)"),
        Field("field", STR, "the canonical field"),
        Field("column", STR, "the source column"),
        Field("value", STR, "the value as sent, masked"),
        Field("reason", STR, "why it could not be used, in words"),
        Field("kind", STR, "what kind of issue", IssueKind, False),
    ),
)
ISSUE_COLUMNS = ISSUES.columns
_SAFE_CODE = r"[A-Za-z0-9 ._/-]{1,20}"


@dataclass
class MappedFeed:
    frame: pd.DataFrame  # the canonical frame (nominal/canonical.py) plus the mapping's extra fields
    issues: pd.DataFrame  # ISSUE_COLUMNS, one row per value that could not be used as sent
    unexpected_columns: list[str] = field(default_factory=list)  # in the source, not in the mapping


def check_columns(spec: MappingSpec, columns: list[str], *, feed: str, source: str) -> list[str]:
    """Refuse a delivery that lacks a required column; return the columns the mapping does not know."""
    present = set(columns)
    missing = [c for c in spec.required_columns() if c not in present]
    unexpected = [c for c in columns if c not in spec.known_columns()]
    if missing:
        renamed = {m: difflib.get_close_matches(m, unexpected, n=1, cutoff=0.6) for m in missing}
        hints = [f"{m} (renamed {r[0]}?)" if r else m for m, r in renamed.items()]
        raise FeedError(
            feed,
            f"required column(s) missing from the header: {', '.join(hints)}",
            source=source,
            column=missing[0],
            kind="missing_column",
        )
    return unexpected


def map_records(
    raw: pd.DataFrame,
    spec: MappingSpec,
    *,
    feed: str,
    source: str,
    as_of: dt.date | None,
    columns: list[str] | None = None,
) -> MappedFeed:
    """Map a raw frame (text columns + ``_row``) to canonical records."""
    columns = columns if columns is not None else [c for c in raw.columns if not c.startswith("_")]
    unexpected = check_columns(spec, columns, feed=feed, source=source)
    context = ParseContext(as_of=as_of)
    out: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []
    rows = raw["_row"].astype("int64") if "_row" in raw else pd.Series(range(1, len(raw) + 1), index=raw.index)

    for name, field_spec in spec.all_fields().items():
        values = _source_values(raw, field_spec)
        parsed = PARSERS[field_spec.type](values, field_spec, context)
        if field_spec.pattern is not None:
            parsed = _require_pattern(parsed, field_spec.pattern)
        out[name] = parsed.values
        if parsed.raw is not None and name in canonical.RAW_KEPT:
            out[f"{name}_raw"] = parsed.raw
        problems.append(_issues(parsed.reason, values, name, field_spec, kind=IssueKind.UNPARSEABLE))
        if field_spec.max_length:
            too_long = values.str.len() > field_spec.max_length
            reason = pd.Series(pd.NA, index=values.index, dtype="str").mask(
                too_long.fillna(False).astype(bool),
                f"longer than {field_spec.max_length} characters (kept whole)",
            )
            problems.append(_issues(reason, values, name, field_spec, kind=IssueKind.TOO_LONG))

    frame = pd.DataFrame(out, index=raw.index)
    issues = pd.concat([p for p in problems if len(p)] or [_empty_issues()], ignore_index=False)
    keyless = frame["source_key"].isna()
    if keyless.any():
        key_issue = pd.DataFrame(
            {
                "field": "source_key",
                "column": spec.fields["source_key"].columns[0],
                "value": "",
                "reason": "record has no key: not loaded",
                "kind": IssueKind.MISSING_KEY,
            },
            index=frame.index[keyless],
        )
        issues = pd.concat([issues, key_issue])

    issues = _finish_issues(issues, frame["source_key"], rows, feed=feed, source=source)
    frame = _canonical_frame(frame[~keyless], raw[~keyless], spec, feed=feed, source=source, as_of=as_of)
    return MappedFeed(frame=frame, issues=issues, unexpected_columns=unexpected)


def _require_pattern(parsed: Parsed, pattern: str) -> Parsed:
    matches = text.fullmatch(parsed.values, pattern) | parsed.values.isna()
    reason = parsed.reason.mask(~matches & parsed.reason.isna(), "not in the expected form")
    return Parsed(parsed.values.where(matches), reason, parsed.raw)


def _source_values(raw: pd.DataFrame, spec: FieldSpec) -> pd.Series:
    """The field's source text: several columns joined with a space; an absent optional column is all NA."""
    parts = []
    for column in spec.columns:
        if column in raw:
            parts.append(blank_to_na(raw[column]))
        elif not spec.optional:  # check_columns has already refused this
            raise KeyError(column)
    if not parts:
        return pd.Series(pd.NA, index=raw.index, dtype="str")
    values = parts[0]
    for part in parts[1:]:
        values = (values.fillna("") + " " + part.fillna("")).str.strip()
    return apply_normalisers(values, spec.normalise)


def _issues(reason: pd.Series, values: pd.Series, name: str, spec: FieldSpec, kind: str) -> pd.DataFrame:
    failed = reason.notna()
    if not failed.any():
        return _empty_issues()
    shown = values[failed]
    mask_kind = MASK_KIND.get(spec.type)
    if mask_kind:
        masked = mask_series(shown, mask_kind)
    else:  # codes and numbers: show short plain codes, mask anything that could be free text
        safe = text.fullmatch(shown, _SAFE_CODE)
        masked = shown.where(safe, mask_series(shown, "text"))
    return pd.DataFrame(
        {"field": name, "column": ",".join(spec.columns), "value": masked, "reason": reason[failed], "kind": kind},
        index=values.index[failed],
    )


def _empty_issues() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in ("field", "column", "value", "reason", "kind")})


def _finish_issues(issues: pd.DataFrame, keys: pd.Series, rows: pd.Series, *, feed: str, source: str) -> pd.DataFrame:
    issues = issues.copy()
    issues["feed"] = feed
    issues["source"] = source
    issues["row"] = rows.reindex(issues.index).astype("int64")
    issues["source_key"] = keys.reindex(issues.index)
    issues = issues.sort_values(["row", "field"], kind="stable").reset_index(drop=True)
    return issues.astype({c: "str" for c in ISSUE_COLUMNS if c != "row"})[list(ISSUE_COLUMNS)]


def _canonical_frame(
    mapped: pd.DataFrame, raw: pd.DataFrame, spec: MappingSpec, *, feed: str, source: str, as_of: dt.date | None
) -> pd.DataFrame:
    frame = mapped.copy()
    for name in canonical.COLUMNS:
        if name not in frame:
            frame[name] = pd.Series(None, index=frame.index, dtype=canonical.DTYPES[name])
    frame["feed"] = feed
    frame["extract_date"] = pd.Timestamp(as_of) if as_of else pd.NaT
    frame["_source"] = raw.get("_source", source)
    frame["_row"] = raw["_row"] if "_row" in raw else range(1, len(frame) + 1)
    return canonical.conform(frame.reset_index(drop=True))


__all__ = ["ISSUE_COLUMNS", "IDENTIFIER_TYPES", "MappedFeed", "check_columns", "map_records"]
