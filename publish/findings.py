"""Tonight's person-level exceptions as frames in one schema (``FINDING_COLUMNS``).

A finding names the record it is about (feed, source_key), the other record it disagrees with
when there is one, the person, the field and rule, and a masked detail in a data officer's words.
``publish.exceptions`` gives each a fingerprint and merges them with earlier nights'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal.masking import mask_series
from nominal.schema import OBJECT, Field, schema
from nominal.tables import EXCEPTIONS
from nominal.vocab import PRIORITY_BY_SEVERITY, Severity

# A finding is an exception row before it is merged with earlier nights': the store's exception
# columns that describe the problem, and ``data``, what it is about as text (hashed into data_hash).
FINDINGS = schema(
    "findings",
    (
        *(EXCEPTIONS.field(c) for c in ("kind", "rule", "severity", "priority", "feed", "source_key", "row")),
        *(EXCEPTIONS.field(c) for c in ("person_id", "field", "other_feed", "other_source_key", "detail")),
        Field("data", OBJECT, "what the finding is about, as text: a dismissal holds while it is unchanged"),
    ),
)
FINDING_COLUMNS = FINDINGS.columns


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "row" else "object") for c in FINDING_COLUMNS})


def findings(
    kind: str,
    rule: str,
    severity: str,
    about: pd.DataFrame,
    field: str,
    detail: pd.Series,
    data: pd.Series,
    other: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows of ``about`` (records with feed, source_key, _row, person_id) as findings.

    ``data`` is what the finding is about, as text: a finding dismissed by an officer stays
    dismissed while it is the same. ``other`` (feed, source_key), aligned with ``about``, is the
    record it disagrees with.
    """
    if about.empty:
        return empty()
    out = pd.DataFrame(
        {
            "kind": kind,
            "rule": rule,
            "severity": severity,
            "priority": PRIORITY_BY_SEVERITY[Severity(severity)],
            "feed": about["feed"].to_numpy(),
            "source_key": about["source_key"].to_numpy(),
            "row": pd.array(about["_row"].to_numpy() if "_row" in about else [pd.NA] * len(about), dtype="Int64"),
            "person_id": about["person_id"].to_numpy(),
            "field": field,
            "other_feed": None if other is None else other["feed"].to_numpy(),
            "other_source_key": None if other is None else other["source_key"].to_numpy(),
            "detail": np.asarray(detail, dtype=object),
            "data": np.asarray(data, dtype=object),
        }
    )
    return out[list(FINDING_COLUMNS)]


def record_ref(feed: pd.Series, key: pd.Series) -> pd.Series:
    """``prison record A1***34`` — which record, masked (a key can be an identifier such as a CRN)."""
    return feed.astype(str).to_numpy() + " record " + mask_series(key.astype("str"), "identifier").to_numpy()


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else empty()
