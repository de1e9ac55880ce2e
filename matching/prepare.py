"""The records to match, with the derived columns comparisons and blocking use.

Records are put in a fixed order (feed, source_key) and numbered 0..n-1 (``rid``): every result
is then independent of the order rows arrived in.

Names are coded: every forename, middle name, surname and alias name is an integer into one
shared vocabulary (``-1`` for missing, which indexes the vocabulary's trailing empty string), so
comparing names — as given, swapped, through an alias — is integer arithmetic, and the string
work (phonetic codes, nicknames, term frequencies) is done once per distinct name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nominal import text
from nominal.canonical import record_keys
from nominal.reference import nicknames as reference_nicknames

from .arrays import isin_sorted

try:  # C++ Double Metaphone; its absence only costs the phonetic levels and keys
    from doublemetaphone import doublemetaphone as _double_metaphone
except ImportError:  # pragma: no cover
    _double_metaphone = None

NAME_COLUMNS = ("forename", "middle_name", "surname_key", "surname_first_part", "surname_last_part")


def letters_only(values: pd.Series) -> pd.Series:
    """Upper-case letters only: O'BRIEN → OBRIEN, SMITH-JONES → SMITHJONES, MC DONALD → MCDONALD."""
    out = text.replace(text.upper(values.astype("str")), r"[^A-Z]", "")
    return out.where(out.str.len() > 0)


def sound_code(name: str) -> str:
    return (_double_metaphone(name)[0] or "") if _double_metaphone and name else ""


@dataclass
class Vocabulary:
    """Distinct values of some columns, with a trailing "" so that code -1 reads as missing."""

    values: np.ndarray  # object array, last element ""

    def text(self, codes: np.ndarray) -> np.ndarray:
        return self.values[codes]


@dataclass
class Records:
    """Canonical records of every feed, in rid order, with coded columns for matching."""

    frame: pd.DataFrame
    names: Vocabulary = field(repr=False)
    name_codes: dict[str, np.ndarray] = field(repr=False)  # column → int32 code per rid
    name_sound: np.ndarray = field(repr=False)  # int32 sound code per name code (-1 none), length len(vocabulary)
    name_initial: np.ndarray = field(repr=False)  # int32 code of each name's first letter (-1 none)
    name_nickname: np.ndarray = field(repr=False)  # int32 nickname-vocabulary code per name code (-1 none)
    nickname_pairs: np.ndarray = field(repr=False)  # sorted int64 codes a*size+b of equivalent nicknames
    nickname_size: int = 0
    # Worked out on first use and kept while the records live:
    # column → its vocabulary and a code per rid (``codes``)
    column_codes: dict[str, tuple[Vocabulary, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # blocking key → its code per rid (``matching.blocking.key_values``)
    block_keys: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)
    # (id of a model, comparison) → term frequency per vocabulary code (``matching.model.Model``)
    term_frequencies: dict[tuple[int, str], np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def n(self) -> int:
        return len(self.frame)

    @cached_property
    def aliases(self) -> pd.DataFrame:
        """One row per alias, sorted by rid: rid, surname and forename name codes."""
        names = alias_table(self.frame["aliases"])
        table = pd.DataFrame(
            {
                "rid": names["rid"].to_numpy(),
                "surname": self._encode(names["surname"]),
                "forename": self._encode(names["forename"]),
            }
        )
        return table[table["surname"] >= 0].reset_index(drop=True)

    def _encode(self, values: pd.Series) -> np.ndarray:
        return (
            pd.Index(self.names.values[:-1]).get_indexer(values.fillna("\x00").to_numpy(dtype=object)).astype(np.int32)
        )

    @cached_property
    def _key_index(self) -> pd.Index:
        return pd.Index(self.frame["_key"])

    def rids(self, feeds, source_keys) -> np.ndarray:
        """The rid of each (feed, source_key), -1 where the record is not here."""
        return self._key_index.get_indexer(record_keys(feeds, source_keys)).astype(np.int64)

    def codes(self, column: str) -> tuple[Vocabulary, np.ndarray]:
        """Any column factorised once: its vocabulary and an int32 code per rid (-1 missing)."""
        if column not in self.column_codes:
            codes, uniques = pd.factorize(self.frame[column].astype("str"), use_na_sentinel=True)
            values = np.append(np.asarray(uniques, dtype=object), "")
            self.column_codes[column] = (Vocabulary(values), codes.astype(np.int32))
        return self.column_codes[column]

    def name_frequencies(self, column: str) -> np.ndarray:
        """Share of records holding each name code in ``column`` (for term-frequency weights)."""
        codes = self.name_codes[column]
        counts = np.bincount(codes[codes >= 0], minlength=len(self.names.values)).astype("float64")
        return counts / max(int((codes >= 0).sum()), 1)


MATCHING_COLUMNS = (
    "feed",
    "source_key",
    "forenames",
    "surname",
    "aliases",
    "date_of_birth",
    "sex",
    "postcode",
    "pnc_id",
    "cro_number",
    "noms_number",
    "crn",
    "ni_number",
)


def _words(values: pd.Series, pattern: str) -> pd.DataFrame:
    """The named groups of ``pattern`` where it matches the whole value (NA elsewhere)."""
    return text.extract(values.astype("str"), pattern).reindex(values.index)


def _word(values: pd.Series, pattern: str) -> pd.Series:
    return _words(values, pattern).iloc[:, 0]


def _per_distinct(values: pd.Series, derive) -> tuple[np.ndarray, dict[str, pd.Series]]:
    """The columns ``derive`` makes from the distinct values, and each row's code into those values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, derive(pd.Series(np.asarray(uniques, dtype=object), dtype="str"))


def _forename_parts(forenames: pd.Series) -> dict[str, pd.Series]:
    given = _words(forenames, r"\s*(?P<first>\S+)(?:\s+(?P<middle>\S+))?.*")
    return {"forename": letters_only(given["first"]), "middle_name": letters_only(given["middle"])}


def _surname_parts(surnames: pd.Series) -> dict[str, pd.Series]:
    several = text.fullmatch(surnames, r".*[\s-].*")
    parts = _words(surnames, r"\s*(?P<first>[^\s-]+)(?:.*?(?P<last>[^\s-]+))?\s*")
    return {
        "surname_key": letters_only(surnames),
        "surname_first_part": letters_only(parts["first"]).where(several),
        "surname_last_part": letters_only(parts["last"]).where(several),
    }


def _postcode_parts(postcodes: pd.Series) -> dict[str, pd.Series]:
    return {
        "postcode_district": _word(postcodes, r"(?P<w>\S+) .*"),
        "postcode_sector": _word(postcodes, r"(?P<w>\S+ \d).*"),
    }


def prepare(
    frames: list[pd.DataFrame] | pd.DataFrame,
    nicknames: pd.DataFrame | None = None,
    extra_columns: tuple[str, ...] = (),
) -> Records:
    """Concatenate canonical frames, fix their order and derive the comparison columns.

    Only the columns matching reads are kept (``extra_columns``: those its settings name besides
    the canonical ones), so that ordering a million records moves as little as possible.
    """
    frames = frames if isinstance(frames, list) else [frames]
    wanted = [*MATCHING_COLUMNS, *(c for c in extra_columns if c not in MATCHING_COLUMNS)]
    frames = (
        sorted((f for f in frames if len(f)), key=lambda f: str(f["feed"].iloc[0])) or frames[:1]
    )  # one feed per frame
    frame = pd.concat([f[[c for c in wanted if c in f.columns]] for f in frames], ignore_index=True)
    # One string key sorts in C (a lexsort of Python strings takes seconds per million); extracts
    # usually arrive in key order already, and then nothing moves.
    key = record_keys(frame["feed"], frame["source_key"])
    if not key.is_monotonic_increasing:
        order = key.argsort(kind="stable").to_numpy()
        frame = frame.take(order).reset_index(drop=True)
        key = key.take(order).reset_index(drop=True)
    repeated = (key.to_numpy() == np.roll(key.to_numpy(), -1))[:-1] if len(key) > 1 else np.zeros(0, bool)
    if repeated.any():  # a key repeated within a delivery: keep the last row (validation has reported it)
        keep = ~np.append(repeated, False)
        frame = frame[keep].reset_index(drop=True)
        key = key[keep].reset_index(drop=True)
    frame["_key"] = key

    # Names are worked on once per distinct value (a million records hold far fewer names), and
    # kept as codes into one vocabulary of names; no per-record name strings are made at all.
    forename_rows, forename_parts = _per_distinct(frame["forenames"], _forename_parts)
    surname_rows, surname_parts = _per_distinct(frame["surname"], _surname_parts)
    aliases = _alias_names(frame["aliases"])
    parts = {**forename_parts, **surname_parts}
    everything = pd.concat([*(parts[c] for c in NAME_COLUMNS), aliases], ignore_index=True)
    codes, uniques = pd.factorize(everything, use_na_sentinel=True)
    vocabulary = np.append(np.asarray(uniques, dtype=object), "")
    name_codes, start = {}, 0
    for column in NAME_COLUMNS:
        per_distinct = np.append(codes[start : start + len(parts[column])], -1)  # row code -1 (missing) → -1
        rows = forename_rows if column in forename_parts else surname_rows
        name_codes[column] = per_distinct[rows].astype(np.int32)
        start += len(parts[column])

    sounds = pd.Series([sound_code(v) for v in vocabulary])
    sound_ids, _ = pd.factorize(sounds.where(sounds != ""), use_na_sentinel=True)

    dob = pd.to_datetime(frame["date_of_birth"])
    frame["dob_y"] = dob.dt.year.astype("Int32")
    frame["dob_m"] = dob.dt.month.astype("Int32")
    frame["dob_d"] = dob.dt.day.astype("Int32")
    frame["dob_days"] = (dob - pd.Timestamp("1900-01-01")).dt.days.astype("Int32")
    postcode_rows, postcode_parts = _per_distinct(frame["postcode"], _postcode_parts)
    for column, values in postcode_parts.items():
        frame[column] = pd.Series(
            np.append(values.to_numpy(dtype=object, na_value=None), [None])[postcode_rows], dtype="str"
        )

    nick_vocabulary, pairs = _nickname_pairs(nicknames)
    nick_lookup = pd.Index(list(nick_vocabulary))
    name_nickname = np.append(nick_lookup.get_indexer(vocabulary[:-1]), -1).astype(np.int32)
    sound_per_code = np.append(sound_ids, -1).astype(np.int32)
    initials = pd.Series(vocabulary, dtype="str").str.slice(0, 1)
    name_initial = np.append(pd.factorize(initials.where(initials != ""), use_na_sentinel=True)[0][:-1], -1).astype(
        np.int32
    )
    return Records(
        frame=frame,
        names=Vocabulary(vocabulary),
        name_codes=name_codes,
        name_sound=sound_per_code,
        name_initial=name_initial,
        name_nickname=name_nickname,
        nickname_pairs=pairs,
        nickname_size=len(nick_vocabulary),
    )


def alias_table(aliases: pd.Series) -> pd.DataFrame:
    """One row per alias (``SURNAME, FORENAMES; …``): rid, surname and first forename, letters only."""
    present = aliases.dropna()
    if present.empty:
        return pd.DataFrame(
            {"rid": pd.Series(dtype="int64"), "surname": pd.Series(dtype="str"), "forename": pd.Series(dtype="str")}
        )
    lists = pc.split_pattern(pa.array(present.astype("str"), type=pa.string(), from_pandas=True), ";")
    parents = pc.list_parent_indices(lists).to_numpy()
    items = pd.Series(pc.list_flatten(lists).to_pandas().array, index=present.index.to_numpy()[parents], dtype="str")
    return pd.DataFrame(
        {
            "rid": items.index.to_numpy(dtype="int64"),
            "surname": letters_only(_word(items, r"\s*(?P<w>[^,]+).*")).to_numpy(),
            "forename": letters_only(_word(items, r"[^,]*,\s*(?P<w>\S+).*")).to_numpy(),
        }
    )


def _alias_names(aliases: pd.Series) -> pd.Series:
    table = alias_table(aliases)
    return pd.concat([table["surname"], table["forename"]], ignore_index=True)


def _nickname_pairs(nicknames: pd.DataFrame | None) -> tuple[dict[str, int], np.ndarray]:
    """Pairs of forenames that are the same name (WILLIAM/BILL, and BILL/WILL through WILLIAM), as codes."""
    if nicknames is None:
        nicknames = reference_nicknames()
    table = pd.DataFrame(
        {"name": letters_only(nicknames["name"]), "nickname": letters_only(nicknames["nickname"])}
    ).dropna()
    vocabulary = {name: i for i, name in enumerate(sorted(set(table["name"]) | set(table["nickname"])))}
    groups: dict[int, set[int]] = {}
    for name, nick in zip(table["name"], table["nickname"]):  # a few hundred rows of reference data
        groups.setdefault(vocabulary[name], {vocabulary[name]}).add(vocabulary[nick])
    size = len(vocabulary)
    codes = {a * size + b for members in groups.values() for a in members for b in members if a != b}
    return vocabulary, np.array(sorted(codes), dtype=np.int64)


def nickname_equivalent(records: Records, a_codes: np.ndarray, b_codes: np.ndarray) -> np.ndarray:
    """True where two forenames (name codes) are nicknames of one another or of a shared formal name."""
    x, y = records.name_nickname[a_codes], records.name_nickname[b_codes]
    known = (x >= 0) & (y >= 0)
    pair = np.where(known, x.astype(np.int64) * records.nickname_size + y, -1)
    return known & isin_sorted(pair, records.nickname_pairs)
