"""The blocking keys: one registry of the keys a blocking rule or a training session may name.

Each key has a description (for people and for the settings' messages), how it is computed from
the prepared records (an integer code per record, -1 where the record has none), how it is
computed from an alias's names when it is a name key (a record is also blocked under its
aliases), and which kinds of comparison it makes agree (an EM session on it leaves those out).
A key not in the registry names a record column (``pnc_id``, a mapping's extra field …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # for annotations only: the settings read this registry, and need not load pyarrow for it
    from .prepare import Records


@dataclass(frozen=True)
class BlockingKey:
    name: str
    description: str
    compute: Callable[[Records], np.ndarray]
    agrees: frozenset[str]  # kinds of comparison that agree on every pair sharing this key
    # (records, alias surname codes, alias forename codes) → the key of each alias; None: aliases take their record's
    of_alias: Callable[[Records, np.ndarray, np.ndarray], np.ndarray] | None = None
    # the records' column the key is (a rule on it is skipped when the records lack it); None: matching derives it
    column: str | None = None


def _ints(values) -> np.ndarray:
    """Non-negative integer keys as int64, -1 where missing."""
    return pd.Series(values).astype("Int64").fillna(-1).to_numpy(dtype=np.int64)


def _dob_any_order(records: Records) -> np.ndarray:
    f = records.frame
    low = np.minimum(f["dob_m"], f["dob_d"])
    high = np.maximum(f["dob_m"], f["dob_d"])
    return _ints(f["dob_y"] * 10000 + low * 100 + high)


def _names_sound_any_order(records: Records) -> np.ndarray:
    first = records.name_sound[records.name_codes["forename"]].astype(np.int64)
    second = records.name_sound[records.name_codes["surname_key"]].astype(np.int64)
    both = (first >= 0) & (second >= 0)
    return np.where(
        both, np.minimum(first, second) * (int(records.name_sound.max()) + 2) + np.maximum(first, second), -1
    )


def _column(name: str) -> Callable[[Records], np.ndarray]:
    return lambda records: records.codes(name)[1].astype(np.int64)


def _sounds(records: Records) -> np.ndarray:
    return records.name_sound


def _initials(records: Records) -> np.ndarray:
    return records.name_initial


NameTable = Callable[["Records"], np.ndarray]  # a value per name code: its sound or its initial


def _name_key(table: NameTable, name_column: str) -> Callable[[Records], np.ndarray]:
    """A key of one of the record's names (its sound or initial)."""
    return lambda records: table(records)[records.name_codes[name_column]].astype(np.int64)


def _alias_key(table: NameTable, part: str) -> Callable[[Records, np.ndarray, np.ndarray], np.ndarray]:
    """The same key of an alias's surname or forename."""

    def key(records: Records, surnames: np.ndarray, forenames: np.ndarray) -> np.ndarray:
        return table(records)[surnames if part == "surname" else forenames].astype(np.int64)

    return key


_DOB = frozenset({"date_of_birth"})
_SURNAME = frozenset({"surname", "name_variant"})
_FORENAME = frozenset({"forename", "name_variant"})

KEYS: dict[str, BlockingKey] = {
    k.name: k
    for k in (
        BlockingKey("dob", "date of birth", lambda r: _ints(r.frame["dob_days"]), _DOB),
        BlockingKey("dob_any_order", "date of birth with day and month in either order", _dob_any_order, _DOB),
        BlockingKey("dob_year", "year of birth", lambda r: _ints(r.frame["dob_y"]), _DOB),
        BlockingKey(
            "dob_month_day",
            "day and month of birth (catches a mistyped year)",
            lambda r: _ints(r.frame["dob_m"] * 100 + r.frame["dob_d"]),
            _DOB,
        ),
        BlockingKey(
            "surname_initial",
            "first letter of the surname",
            _name_key(_initials, "surname_key"),
            _SURNAME,
            _alias_key(_initials, "surname"),
        ),
        BlockingKey(
            "forename_initial",
            "first letter of the first forename",
            _name_key(_initials, "forename"),
            _FORENAME,
            _alias_key(_initials, "forename"),
        ),
        BlockingKey(
            "surname_sound",
            "Double Metaphone code of the surname",
            _name_key(_sounds, "surname_key"),
            _SURNAME,
            _alias_key(_sounds, "surname"),
        ),
        BlockingKey(
            "forename_sound",
            "Double Metaphone code of the first forename",
            _name_key(_sounds, "forename"),
            _FORENAME,
            _alias_key(_sounds, "forename"),
        ),
        BlockingKey(
            "names_sound_any_order",
            "the two names' codes in either order (catches swapped names)",
            _names_sound_any_order,
            _SURNAME | _FORENAME,
        ),
        BlockingKey("postcode", "full postcode", _column("postcode"), frozenset({"postcode"}), column="postcode"),
        BlockingKey(
            "postcode_sector",
            "postcode sector (outward code and first digit of the inward code)",
            _column("postcode_sector"),
            frozenset({"postcode"}),
            column="postcode_sector",
        ),
    )
}


def key_of(name: str) -> BlockingKey:
    """The registered key, or a key on the record column of that name."""
    return KEYS.get(name) or BlockingKey(name, f"the record column {name}", _column(name), frozenset(), column=name)


def is_derived(name: str) -> bool:
    """Whether matching derives the key itself (otherwise it is a column of the records)."""
    key = KEYS.get(name)
    return key is not None and key.column is None
