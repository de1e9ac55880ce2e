"""Reference data shipped with nominal: UK name frequencies, nicknames, streets, postcode districts
and prison establishments. Public aggregate facts written for this project, not personal data.

Each loader returns a fresh DataFrame of text columns (weights as floats); the files are read once.
The matching stage reads ``nicknames.csv`` through :func:`nicknames` too.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

FILES = (
    "surnames.csv",  # name, weight (relative frequency), group (name origin), sex (blank: either)
    "forenames.csv",  # name, sex, weight, peak_birth_year (blank: no era), group
    "nicknames.csv",  # name, nickname: one row per pair, upper case
    "streets.csv",  # street, weight
    "postcode_districts.csv",  # outward, town, region (probation region), force_code
    "establishments.csv",  # code, name, sex (of the prisoners held)
)


@cache
def _read(name: str) -> pd.DataFrame:
    with resources.files(__name__).joinpath(name).open("rb") as f:
        frame = pd.read_csv(f, dtype="str", keep_default_na=False)
    if "weight" in frame.columns:
        frame["weight"] = frame["weight"].astype("float64")
    return frame


def surnames() -> pd.DataFrame:
    return _read("surnames.csv").copy()


def forenames() -> pd.DataFrame:
    return _read("forenames.csv").copy()


def nicknames() -> pd.DataFrame:
    """Formal name → nickname pairs (``WILLIAM,BILL``), upper case."""
    return _read("nicknames.csv").copy()


def nickname_map() -> dict[str, tuple[str, ...]]:
    """Formal name → its nicknames, e.g. ``{"WILLIAM": ("BILL", "BILLY", …)}``."""
    pairs = _read("nicknames.csv")
    return {name: tuple(group["nickname"]) for name, group in pairs.groupby("name", sort=True)}


def streets() -> pd.DataFrame:
    return _read("streets.csv").copy()


def postcode_districts() -> pd.DataFrame:
    return _read("postcode_districts.csv").copy()


def establishments() -> pd.DataFrame:
    return _read("establishments.csv").copy()
