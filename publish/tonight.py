"""What a night keeps for the people who work from it: tonight's review pairs as a review screen
needs them, each current source record's canonical values, and the night's match counts for the
dashboards. Built from matching's output and tonight's records; written by the store in the
night's one transaction (``nominal.tables``: REVIEW_ROWS, SOURCE_RECORDS, NIGHT_MATCH_COUNTS)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal import canonical
from nominal.matching.schemas import REVIEW_PAIRS
from nominal.tables import REVIEW_ROWS, SOURCE_FIELDS, SOURCE_RECORDS
from nominal.text import name_anagrams, name_sounds
from nominal.vocab import LinkedBy, PersonEventKind, PersonStatus

from .exceptions import fingerprints
from .review import review_findings

# the canonical columns a source record does not keep as values of its own
_NOT_VALUES = {"feed", "source_key", "person_id", "_source", "_row", *SOURCE_FIELDS}
_RAW = tuple(f"{name}_raw" for name in canonical.RAW_KEPT)


def review_rows(pairs: pd.DataFrame, run_id: int, model_version: str | None) -> pd.DataFrame:
    """Tonight's review pairs with the model that scored them and the exception that asks about them."""
    if pairs is None or pairs.empty:
        return REVIEW_ROWS.empty()
    out = pairs[list(REVIEW_PAIRS.columns)].reset_index(drop=True).copy()
    out["model_version"] = model_version
    out["exception_fingerprint"] = fingerprints(review_findings(out))
    out["run_id"] = run_id
    return out[[*REVIEW_ROWS.columns, "run_id"]]


def source_records(people: pd.DataFrame, hashes: np.ndarray) -> pd.DataFrame:
    """Each record's canonical values, identifiers as sent and feed-specific fields, as the store keeps
    them (SOURCE_RECORDS). ``people``: tonight's records with their person; ``hashes``: their content."""
    if people.empty:
        return SOURCE_RECORDS.empty()
    records = people.reset_index(drop=True)
    out = records[["feed", "source_key", "person_id", *SOURCE_FIELDS]].copy()
    out["row"] = pd.array(records["_row"], dtype="Int64")
    out["raw"] = _json_lines(records[[c for c in _RAW if c in records]])
    extras = [c for c in records.columns if c not in _NOT_VALUES and c not in _RAW and c not in canonical.COLUMNS]
    out["extra"] = _json_lines(records[extras])
    out["surname_sound"] = name_sounds(records["surname"]).to_numpy(dtype=object)
    out["surname_anagram"] = name_anagrams(records["surname"]).to_numpy(dtype=object)
    out["record_hash"] = np.asarray(hashes, dtype=np.int64)
    return out[list(SOURCE_RECORDS.columns)]


def _json_lines(frame: pd.DataFrame) -> np.ndarray:
    """Each row as a JSON object of its present values, written by pandas' C encoder (a million
    ``json.dumps`` calls would take long); dates as YYYY-MM-DD."""
    if frame.shape[1] == 0:
        return np.full(len(frame), "{}", dtype=object)
    dated = frame.copy()
    for column in dated.columns:
        if pd.api.types.is_datetime64_any_dtype(dated[column]):
            dated[column] = dated[column].dt.strftime("%Y-%m-%d")
    text = dated.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    return np.asarray(text.splitlines(), dtype=object)


def match_counts(clusters: pd.DataFrame, review: pd.DataFrame, events: pd.DataFrame, retired: int) -> dict[str, int]:
    """How tonight's records came together (``nominal.tables.NIGHT_MATCH_COUNTS``, in that order):
    links by how they were made, review band, persons needing attention, merges and splits."""
    linked_by = clusters["linked_by"].astype(str)
    kinds = events["kind"].astype(str).value_counts() if len(events) else pd.Series(dtype="int64")
    persons = clusters.drop_duplicates("person_id")
    counts = {
        "records": len(clusters),
        "persons": len(persons),
        "links_identifier": int((linked_by == LinkedBy.IDENTIFIER).sum()),
        "links_model": int((linked_by == LinkedBy.MODEL).sum()),
        "links_officer": int((linked_by == LinkedBy.OFFICER).sum()),
        "singles": int((linked_by == LinkedBy.SINGLE).sum()),
        "review_pairs": 0 if review is None else len(review),
        "needs_attention": int((persons["status"] == PersonStatus.NEEDS_ATTENTION).sum()),
        "created": int(kinds.get(PersonEventKind.CREATED, 0)),
        "merged": int(kinds.get(PersonEventKind.MERGED, 0)),
        "split": int(kinds.get(PersonEventKind.SPLIT, 0)),
        "retired": retired,
    }
    return counts


def feed_combinations(clusters: pd.DataFrame) -> dict[str, int]:
    """How many persons appear in each combination of feeds: ``{"police+prison": 1234, …}``."""
    if clusters.empty:
        return {}
    pairs = clusters[["person_id", "feed"]].drop_duplicates().sort_values(["person_id", "feed"])
    combination = pairs.groupby("person_id", sort=False)["feed"].agg("+".join)
    return {str(k): int(v) for k, v in combination.value_counts().sort_index().items()}
