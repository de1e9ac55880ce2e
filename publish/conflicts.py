"""Disagreements among one person's records on the fields that identify them (date of birth, sex,
identifiers): one finding per record whose value differs from the published one. Survivorship
picks a value; this makes sure the others are seen, not hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal.masking import mask_series

from .findings import concat, findings, record_ref
from .rules import ConflictRules

_WORDS = {
    "date_of_birth": "date of birth",
    "sex": "sex",
    "pnc_id": "PNC ID",
    "cro_number": "CRO number",
    "noms_number": "NOMS number",
    "crn": "CRN",
    "ni_number": "NI number",
}
_MASK = {"date_of_birth": "date", "sex": None}


def conflicts(
    records: pd.DataFrame, golden: pd.DataFrame, chosen: dict[str, np.ndarray], rules: ConflictRules
) -> pd.DataFrame:
    """``records`` with person_id (publish.golden.with_persons); ``chosen`` from golden_records."""
    at = pd.Index(golden["person_id"]).get_indexer(records["person_id"])
    parts = []
    for field in rules.fields:
        if field not in records or field not in golden or field not in chosen:
            continue
        mine = records[field]
        published = golden[field].to_numpy()[at]
        ignore = mine.isin(rules.ignore.get(field, []))
        differs = mine.notna().to_numpy() & ~ignore.to_numpy() & pd.notna(published)
        # compared as pandas text, which spells a date the same whatever its unit
        mine_text = mine[differs].astype(str).to_numpy()
        published_text = pd.Series(published[differs]).astype(str).to_numpy()
        differs[differs] = mine_text != published_text
        rows = np.flatnonzero(differs)
        if not len(rows):
            continue
        about = records.iloc[rows]
        source = chosen[field][at[rows]]
        other = records.iloc[source][["feed", "source_key"]].reset_index(drop=True)
        words = _WORDS.get(field, field.replace("_", " "))
        kind = _MASK.get(field, "identifier")
        shown_mine = about[field].astype(str) if kind is None else mask_series(about[field].astype(str), kind)
        shown_published = pd.Series(published[rows]).astype(str)
        shown_published = shown_published if kind is None else mask_series(shown_published, kind)
        detail = (
            words
            + " "
            + shown_mine.to_numpy()
            + " on this record differs from "
            + shown_published.to_numpy()
            + " published from "
            + record_ref(other["feed"], other["source_key"])
        )
        data = about[field].astype(str).to_numpy() + "|" + pd.Series(published[rows]).astype(str).to_numpy()
        parts.append(
            findings(
                "conflict", f"{field}_differs", rules.severity, about.reset_index(drop=True), field, detail, data, other
            )
        )
    return concat(parts)
