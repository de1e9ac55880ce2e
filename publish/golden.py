"""The golden record: one row per person, each field taken from one of their records by the
survivorship rules, with the lineage of every published value.

Vectorised: per field, the candidates (records with a value) are ordered by person and the rule's
preferences with one lexsort, and the first per person survives. No loop over persons.

Output frame (``GOLDEN_COLUMNS``): person_id, status, status_reason, the golden fields, and
``lineage``: JSON text ``{"run_id": R, "fields": {field: [feed, source_key, extract_date]}}``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .rules import FieldRule, PublishRules

# Golden fields and their dtypes, in the store's column order (store.models.Person).
GOLDEN_FIELDS: dict[str, str] = {
    "forenames": "str", "surname": "str", "date_of_birth": "datetime64[ms]", "sex": "str",
    "pnc_id": "str", "cro_number": "str", "noms_number": "str", "crn": "str", "ni_number": "str",
    "postcode": "str", "address": "str", "mappa_category": "Int8", "mappa_level": "Int8",
    "risk_level": "str", "custody_status": "str", "supervision_status": "str", "registration_type": "str",
    "registration_start": "datetime64[ms]", "notification_due": "datetime64[ms]", "release_date": "datetime64[ms]",
}
GOLDEN_COLUMNS = ("person_id", "status", "status_reason", *GOLDEN_FIELDS, "lineage")


def with_persons(records: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """Tonight's records with their person id (every record has one: matching places them all)."""
    keyed = clusters[["feed", "source_key", "person_id"]]
    out = records.merge(keyed, on=["feed", "source_key"], how="inner", validate="one_to_one")
    if len(out) != len(records):
        raise ValueError(f"{len(records) - len(out)} records have no person: matching and publish disagree")
    return out.reset_index(drop=True)


def candidate_values(records: pd.DataFrame, field: str, rule: FieldRule) -> pd.Series:
    """The value each record offers for a golden field (NA where it offers none)."""
    sources = rule.from_ or {None: field}
    value = pd.Series(pd.NA, index=records.index, dtype="object")
    for feed, column in sources.items():
        if column not in records.columns:
            continue
        take = records[column].notna() if feed is None else (records["feed"] == feed) & records[column].notna()
        value[take] = records.loc[take, column].astype(object)
    if rule.codes:
        value = value.map(lambda v: rule.codes.get(v, v) if isinstance(v, str) else v)
    if rule.ignore:
        value[value.isin(rule.ignore)] = pd.NA
    return value


def choose(records: pd.DataFrame, value: pd.Series, rule: FieldRule) -> np.ndarray:
    """Row positions of the surviving record per person, for the persons with any candidate."""
    has = np.flatnonzero(value.notna().to_numpy())
    if not len(has):
        return has
    person = records["person_id"].to_numpy()[has]
    keys: list[np.ndarray] = []  # lexsort: the last key is the primary one
    for preference in rule.prefer:
        if preference == "feeds":
            order = {feed: i for i, feed in enumerate(rule.feeds)}
            keys.append(records["feed"].map(order).fillna(len(order)).to_numpy()[has])
        elif preference == "most_common":
            frame = pd.DataFrame({"p": person, "v": value.to_numpy()[has].astype(str)})
            keys.append(-frame.groupby(["p", "v"], sort=False)["v"].transform("size").to_numpy())
        elif preference == "recent":
            keys.append(-_day_number(records["record_updated_at"].to_numpy()[has]))
            keys.append(-_day_number(records["extract_date"].to_numpy()[has]))
    tiebreak = [records["source_key"].to_numpy()[has].astype(str), records["feed"].to_numpy()[has].astype(str)]
    order = np.lexsort([*tiebreak, *reversed(keys), person])
    ranked = person[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    return has[order[first]]


def _day_number(values: np.ndarray) -> np.ndarray:
    """Dates as comparable numbers, missing ones oldest."""
    days = pd.to_datetime(values).to_numpy(dtype="datetime64[D]").astype("int64").astype("float64")
    days[pd.isna(values)] = -np.inf
    return days


def golden_records(records: pd.DataFrame, persons: pd.DataFrame, rules: PublishRules, run_id: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """(golden frame, the surviving record's row per field) for every person in ``persons``.

    ``records`` carry ``person_id`` (``with_persons``); ``persons`` has person_id, status, status_reason.
    """
    out = persons[["person_id", "status", "status_reason"]].drop_duplicates("person_id").reset_index(drop=True)
    position = pd.Index(out["person_id"])
    chosen: dict[str, np.ndarray] = {}
    for field, dtype in GOLDEN_FIELDS.items():
        out[field] = pd.Series(pd.NA, index=out.index, dtype=dtype)
    lineage_parts = []
    for field, rule in rules.survivorship.items():
        if field not in GOLDEN_FIELDS:
            continue
        value = candidate_values(records, field, rule)
        rows = choose(records, value, rule)
        at = position.get_indexer(records["person_id"].to_numpy()[rows])
        for published in (field, *[f for f in rule.with_ if f in GOLDEN_FIELDS]):
            column = value if published == field else records[published] if published in records else None
            if column is None:
                continue
            out.loc[at, published] = pd.array(column.to_numpy()[rows], dtype=GOLDEN_FIELDS[published]) if len(rows) else []
            chosen[published] = np.full(len(out), -1, dtype=np.int64)
            chosen[published][at] = rows
            lineage_parts.append((published, at, rows))
    out["lineage"] = _lineage(records, len(out), lineage_parts, run_id)
    return out[list(GOLDEN_COLUMNS)], chosen


def _lineage(records: pd.DataFrame, n: int, parts: list[tuple[str, np.ndarray, np.ndarray]], run_id: int) -> np.ndarray:
    """Per person: {"run_id": R, "fields": {field: [feed, source_key, extract_date]}} as JSON text,
    built by string operations over whole columns (a million json.dumps calls would take seconds)."""
    ref = (
        '["' + _json_escape(records["feed"]) + '","' + _json_escape(records["source_key"])
        + '","' + pd.to_datetime(records["extract_date"]).dt.strftime("%Y-%m-%d").fillna("") + '"]'
    ).to_numpy(dtype=object)
    entries = np.full(n, "", dtype=object)
    for field, at, rows in parts:
        piece = np.full(n, "", dtype=object)
        piece[at] = f'"{field}":' + ref[rows]
        sep = np.where((entries != "") & (piece != ""), ",", "")
        entries = entries + sep + piece
    return f'{{"run_id":{int(run_id)},"fields":{{' + entries + "}}"


def _json_escape(values: pd.Series) -> pd.Series:
    """JSON string escaping for a whole column (keys are printable text; control characters too, to be safe)."""
    text = values.astype(str).str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    odd = text.str.contains(r"[\x00-\x1f]", regex=True)
    if odd.any():
        text[odd] = values[odd].astype(str).map(lambda t: json.dumps(t)[1:-1])
    return text


def content_hash(golden: pd.DataFrame) -> pd.Series:
    """A fingerprint of everything published for a person, to write only the persons that changed."""
    columns = [c for c in GOLDEN_COLUMNS if c not in ("person_id", "lineage")]
    hashed = pd.util.hash_pandas_object(golden[columns].astype(str), index=False)
    # which record each value comes from counts; the run and extract that first published it do not
    # (otherwise every person would be rewritten every night)
    sources = golden["lineage"].str.replace(r'^\{"run_id":\d+,|,"\d{4}-\d\d-\d\d"\]', "", regex=True)
    lineage = pd.util.hash_pandas_object(sources, index=False)
    return (hashed.to_numpy() ^ (lineage.to_numpy() * np.uint64(31))).astype("uint64").astype(str)
