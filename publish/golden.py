"""The golden record: one row per person, each field taken from one of their records by the
survivorship rules, with the lineage of every published value.

Vectorised: per field, the candidates (records with a value) are ordered by person and the rule's
preferences with one lexsort, and the first per person survives. No loop over persons.

Output frame (``GOLDEN_COLUMNS``): person_id, status, status_reason, the golden fields, and
``lineage``: JSON text ``{"run_id": R, "records": [[feed, source_key, extract_date], …],
"fields": {field: index into records}}``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nominal.tables import GOLDEN_COLUMNS, GOLDEN_FIELDS

from .keys import key_index
from .rules import FieldRule, PublishRules

# Bumped by a release that changes what survivorship publishes: the next night recomputes everyone.
SURVIVORSHIP_VERSION = 2


def with_persons(records: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """Tonight's records with their person id (every record has one: matching places them all)."""
    repeated = key_index(records).duplicated(keep="last")
    if repeated.any():  # a key repeated within a delivery: the last row counts, as in matching (validation reported it)
        records = records[~repeated]
    keyed = clusters[["feed", "source_key", "person_id"]]
    out = records.merge(keyed, on=["feed", "source_key"], how="inner", validate="one_to_one")
    if len(out) != len(records):
        raise ValueError(f"{len(records) - len(out)} records have no person: matching and publish disagree")
    return out.reset_index(drop=True)


def candidate_values(records: pd.DataFrame, field: str, rule: FieldRule) -> pd.Series:
    """The value each record offers for a golden field (NA where it offers none)."""
    sources: list[tuple[str | None, str]] = list(rule.from_.items()) or [(None, field)]
    value = None
    for feed, column in sources:
        if column not in records.columns:
            continue
        offered = records[column] if feed is None else records[column].where(records["feed"] == feed)
        value = offered if value is None else value.where(value.notna(), offered)
    if value is None:
        return pd.Series(pd.NA, index=records.index, dtype="object")
    if rule.codes:
        translated = value.map(rule.codes)
        value = translated.where(translated.notna(), value)
    if rule.ignore:
        value = value.where(~value.isin(rule.ignore))
    return value


class _Ranks:
    """Per-record integer keys that every field's choice sorts on, computed once for all fields."""

    def __init__(self, records: pd.DataFrame):
        self.person, _ = pd.factorize(records["person_id"], sort=False)
        self.feed, self.feeds = pd.factorize(records["feed"], sort=False)
        # row order must not matter: ties fall to the smallest (feed, source_key)
        self.tiebreak = np.empty(len(records), dtype=np.int64)
        self.tiebreak[
            np.lexsort(
                (
                    records["source_key"].to_numpy(dtype=object).astype(str),
                    records["feed"].to_numpy(dtype=object).astype(str),
                )
            )
        ] = np.arange(len(records))
        self.updated = _day_number(records["record_updated_at"])
        self.extracted = _day_number(records["extract_date"])

    def feed_rank(self, order: list[str]) -> np.ndarray:
        rank = {feed: i for i, feed in enumerate(order)}
        return np.array([rank.get(f, len(order)) for f in self.feeds], dtype=np.int64)[self.feed]


def choose(ranks: _Ranks, value: pd.Series, rule: FieldRule, pinned: np.ndarray | None = None) -> np.ndarray:
    """Row positions of the surviving record per person, for the persons with any candidate.
    ``pinned`` records (an officer accepted their value) win before any rule."""
    has = np.flatnonzero(value.notna().to_numpy())
    if not len(has):
        return has
    person = ranks.person[has]
    keys: list[np.ndarray] = [] if pinned is None else [~pinned[has]]  # most important first
    for preference in rule.prefer:
        if preference == "feeds":
            keys.append(ranks.feed_rank(rule.feeds)[has])
        elif preference == "most_common":
            codes, _ = pd.factorize(value.iloc[has], sort=False)
            pair, _ = pd.factorize(person.astype(np.int64) * (int(codes.max()) + 1) + codes, sort=False)
            keys.append(-np.bincount(pair)[pair])
        elif preference == "recent":
            keys += [-ranks.updated[has], -ranks.extracted[has]]
    order = np.lexsort([ranks.tiebreak[has], *reversed(keys), person])
    ranked = person[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    return has[order[first]]


def _day_number(values: pd.Series) -> np.ndarray:
    """Dates as comparable whole numbers, missing ones oldest."""
    days = pd.to_datetime(values).to_numpy(dtype="datetime64[D]")
    out = days.astype("int64")
    out[np.isnat(days)] = np.iinfo(np.int64).min // 2
    return out


def accepted_values(records: pd.DataFrame, accepted: pd.DataFrame | None, rules: PublishRules) -> dict[str, np.ndarray]:
    """Per field, the records whose value an officer accepted for their person's golden record
    (``accepted``: feed, source_key, field, value; oldest first, so the latest per person and field
    counts). A decision holds while its record still offers the value accepted (or any value, when
    none was named); once the source changes it, the rules choose again."""
    if accepted is None or accepted.empty or records.empty:
        return {}
    at = key_index(records).get_indexer(key_index(accepted))
    present = accepted.assign(at=at, person=records["person_id"].to_numpy(dtype=object)[np.maximum(at, 0)])[at >= 0]
    present = present.drop_duplicates(["person", "field"], keep="last")
    out: dict[str, np.ndarray] = {}
    for field, decided in present.groupby("field", sort=False):
        rule = rules.survivorship.get(field)
        if rule is None or field not in GOLDEN_FIELDS:
            continue
        rows = decided["at"].to_numpy()
        offered = candidate_values(records, field, rule).iloc[rows]
        wanted = decided["value"].fillna("").astype(str).to_numpy()
        holds = offered.notna().to_numpy() & ((wanted == "") | (wanted == _as_text(offered)))
        out[field] = np.zeros(len(records), dtype=bool)
        out[field][rows[holds]] = True
    return out


def _as_text(values: pd.Series) -> np.ndarray:
    """Values as an officer would type them: dates as YYYY-MM-DD."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    return values.astype(str).to_numpy(dtype=object)


def golden_records(
    records: pd.DataFrame,
    persons: pd.DataFrame,
    rules: PublishRules,
    run_id: int,
    pinned: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """(golden frame, the surviving record's row per field) for every person in ``persons``.

    ``records`` carry ``person_id`` (``with_persons``); ``persons`` has person_id, status, status_reason;
    ``pinned`` (``accepted_values``) names records that win a field by an officer's decision.
    """
    pins = pinned or {}
    out = persons[["person_id", "status", "status_reason"]].drop_duplicates("person_id").reset_index(drop=True)
    position = pd.Index(out["person_id"])
    ranks = _Ranks(records)
    at_person = position.get_indexer(records["person_id"])
    chosen: dict[str, np.ndarray] = {}
    columns: dict[str, object] = {}
    for field, rule in rules.survivorship.items():
        if field not in GOLDEN_FIELDS:
            continue
        value = candidate_values(records, field, rule)
        rows = choose(ranks, value, rule, pins.get(field))
        at = at_person[rows]
        for published in (field, *[f for f in rule.with_ if f in GOLDEN_FIELDS]):
            column = value if published == field else records.get(published)
            if column is None:
                continue
            full = pd.Series(pd.NA, index=out.index, dtype=GOLDEN_FIELDS[published])
            if len(rows):
                full.iloc[at] = pd.array(column.to_numpy()[rows], dtype=GOLDEN_FIELDS[published])
            columns[published] = full
            chosen[published] = np.full(len(out), -1, dtype=np.int64)
            chosen[published][at] = rows
    for field, dtype in GOLDEN_FIELDS.items():
        out[field] = columns.get(field, pd.Series(pd.NA, index=out.index, dtype=dtype))
    # per field, the persons whose value is an officer's accepted one (it came from a pinned record)
    accepted = {
        field: (rows >= 0) & pins[field][np.maximum(rows, 0)] for field, rows in chosen.items() if field in pins
    }
    accepted = {field: persons for field, persons in accepted.items() if persons.any()}
    out["lineage"] = _lineage(records, len(out), chosen, run_id, accepted)
    out["content_hash"] = content_hash(out, records, chosen, accepted)
    return out[[*GOLDEN_COLUMNS, "content_hash"]], chosen


def _lineage(
    records: pd.DataFrame, n: int, chosen: dict[str, np.ndarray], run_id: int, accepted: dict[str, np.ndarray]
) -> np.ndarray:
    """Per person, as JSON text: ``{"run_id": R, "records": [[feed, source_key, extract_date], …],
    "fields": {field: index into records}}``, and ``"accepted": [field, …]`` for values an officer
    accepted. Each source record is listed once, however many values it gives; built by Arrow over
    whole columns (a million json.dumps calls would take long)."""

    def text(value: str | None) -> pa.Scalar:
        return pa.scalar(value, pa.large_string())

    used = [(np.flatnonzero(rows >= 0), rows[rows >= 0]) for rows in chosen.values()]
    width = np.int64(len(records) + 1)
    keys = np.sort(np.concatenate([p.astype(np.int64) * width + r for p, r in used] or [np.empty(0, np.int64)]))
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys  # np.unique's hash path is slow here
    person, row = keys // width, keys % width
    starts = np.searchsorted(person, np.arange(n + 1))  # each person's run of records in ``keys``
    date = pd.to_datetime(records["extract_date"]).dt.strftime("%Y-%m-%d").fillna("")
    ref = (
        '["' + _json_escape(records["feed"]) + '","' + _json_escape(records["source_key"]) + '","' + date + '"]'
    ).to_numpy(dtype=object)
    listed = pa.ListArray.from_arrays(pa.array(starts.astype(np.int32)), pa.array(ref[row], type=pa.large_string()))
    record_text = pc.binary_join(listed, text(","))
    pieces = []
    for field, (p, r) in zip(chosen, used):
        index = np.full(n, -1, dtype=np.int64)
        index[p] = np.searchsorted(keys, p.astype(np.int64) * width + r) - starts[p]
        number = pc.cast(pa.array(index), pa.large_string())
        piece = pc.binary_join_element_wise(text(f'"{field}":'), number, text(""))
        pieces.append(pc.if_else(pa.array(index >= 0), piece, text(None)))
    fields = (
        pc.fill_null(pc.binary_join_element_wise(*pieces, text(","), null_handling="skip"), text(""))
        if pieces
        else pa.array([""] * n, pa.large_string())
    )
    decided = pa.array([""] * n, pa.large_string())
    if accepted:
        officer = [pc.if_else(pa.array(persons), text(f'"{field}"'), text(None)) for field, persons in accepted.items()]
        names = pc.binary_join_element_wise(*officer, text(","), null_handling="skip")
        listed = pc.binary_join_element_wise(text(',"accepted":['), names, text("]"), text(""))
        decided = pc.if_else(pa.array(np.logical_or.reduce(list(accepted.values()))), listed, text(""))
    joined = pc.binary_join_element_wise(
        text(f'{{"run_id":{int(run_id)},"records":['),
        record_text,
        text('],"fields":{'),
        fields,
        text("}"),
        decided,
        text("}"),
        text(""),
    )
    return joined.to_numpy(zero_copy_only=False)


def _json_escape(values: pd.Series) -> pd.Series:
    """JSON string escaping for a whole column (keys are printable text; control characters too, to be safe)."""
    text = values.astype(str).str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    odd = text.str.contains(r"[\x00-\x1f]", regex=True)
    if odd.any():
        text[odd] = values[odd].astype(str).map(lambda t: json.dumps(t)[1:-1])
    return text


def content_hash(
    golden: pd.DataFrame,
    records: pd.DataFrame,
    chosen: dict[str, np.ndarray],
    accepted: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """A fingerprint of everything published for a person and which record each value came from
    (not the run or extract: otherwise every person would be rewritten every night), so that a
    night writes only the persons that changed."""
    columns = [c for c in GOLDEN_COLUMNS if c not in ("person_id", "lineage")]
    hashed = pd.util.hash_pandas_object(golden[columns], index=False).to_numpy()
    source = pd.util.hash_pandas_object(records[["feed", "source_key"]], index=False).to_numpy()
    for i, rows in enumerate(chosen.values()):
        hashed = hashed * np.uint64(1_000_003) + np.where(rows >= 0, source[np.maximum(rows, 0)], np.uint64(i))
    for i, (_, persons) in enumerate(sorted((accepted or {}).items())):  # a value that became an officer's is a change
        hashed = hashed * np.uint64(1_000_003) + persons.astype(np.uint64) * np.uint64(7919 + i)
    return np.char.mod("%016x", hashed).astype(object)


def accepted_fields(lineage: dict | str) -> list[str]:
    """The fields whose published value an officer accepted (``nominal decide accept-value``)."""
    data = json.loads(lineage) if isinstance(lineage, str) else lineage
    return list(data.get("accepted", []))


def source_of(lineage: dict | str, field: str) -> list[str] | None:
    """[feed, source_key, extract_date] of the record a published field came from (None if none)."""
    data = json.loads(lineage) if isinstance(lineage, str) else lineage
    index = data.get("fields", {}).get(field)
    return None if index is None else data["records"][index]
