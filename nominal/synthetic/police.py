"""Police feed (ViSOR style, docs/feeds/police.md): one record per nominal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from . import strs
from .dates import DAY, DMY, add_years, format_dates, format_timestamps
from .rand import chance
from .records import World, adult_from, days_between, exponential_days, identity, shown_aliases, stamps, with_blanks

FEED = "police"
FILE = "nominals_{date}.csv"
COLUMNS = (
    "NOMINAL_REF", "FORCE_CODE", "PNC_ID", "CRO_NO", "SURNAME", "FORENAME_1", "FORENAME_2", "ALIASES", "DOB", "SEX",
    "ADDRESS", "POSTCODE", "NOMINAL_TYPE", "MAPPA_CATEGORY", "MAPPA_LEVEL", "RISK_LEVEL", "REGISTRATION_START",
    "LAST_NOTIFIED", "NOTIFICATION_DUE", "LAST_UPDATED",
)  # fmt: skip
# Columns that can hold a comma, quote or line break (the rest are dates, codes, identifiers).
FREE_TEXT = frozenset({"SURNAME", "FORENAME_1", "FORENAME_2", "ALIASES", "ADDRESS", "POSTCODE"})
ALIAS_SHOWN = 0.8  # nominals that list a known alias


def registration(world: World, persons: np.ndarray, rng: np.random.Generator, today: np.datetime64):
    """Notification dates for RSOs (NaT for other nominals): registered some years ago, last
    notified within the year, next notification a year after the last. The last notification is
    recent enough that none falls overdue before the last night generated (overdue ones are
    injected as errors)."""
    n = len(persons)
    rso = world.person_column("nominal_type", persons) == "RSO"
    adult = adult_from(world.person_column("dob", persons))
    registered = np.maximum(today - exponential_days(rng, 1500, n, low=30, high=25 * 365) * DAY, adult)
    registered = np.minimum(registered, today - DAY)
    margin = (world.last_night - today).astype(np.int64) + 7
    notified = days_between(rng, np.maximum(registered, today - (365 - margin) * DAY), today)
    nat = np.datetime64("NaT")
    return (
        np.where(rso, registered, nat).astype("M8[s]"),
        np.where(rso, notified, nat).astype("M8[s]"),
        np.where(rso, add_years(notified, 1), nat).astype("M8[s]"),
    )


def force_codes(world: World, persons: np.ndarray, rng: np.random.Generator, other: bool) -> pd.Series:
    """The force covering the person's home, or (``other``) a different force: the same nominal
    registered a second time elsewhere."""
    home = world.places.force[world.person_column("home_district", persons)]
    if not other:
        return strs.series(home)
    forces = np.unique(world.places.force)
    pick = forces[rng.integers(0, len(forces), len(persons))]
    clash = pick == home
    pick[clash] = forces[(np.searchsorted(forces, pick[clash]) + 1) % len(forces)]
    return strs.series(pick)


def mappa_text(category: np.ndarray, level: np.ndarray) -> tuple[pd.Series, pd.Series]:
    return strs.series(strs.take(["", "1", "2", "3"], category)), strs.series(strs.take(["", "1", "2", "3"], level))


def build(
    world: World,
    persons: np.ndarray,
    today: np.datetime64,
    rng: np.random.Generator,
    duplicate: np.ndarray | None = None,
) -> pd.DataFrame:
    """Nominals for these people (a person listed twice is registered in two forces:
    ``duplicate`` marks the extra registrations)."""
    settings = world.settings
    persons = np.asarray(persons, dtype=np.int64)
    n = len(persons)
    duplicate = np.zeros(n, dtype=bool) if duplicate is None else duplicate
    record = identity(world, persons)
    alias_surname, alias_forename = shown_aliases(world, persons, rng, ALIAS_SHOWN)
    registered, notified, due = registration(world, persons, rng, today)
    category, level = mappa_text(
        world.person_column("mappa_category", persons), world.person_column("mappa_level", persons)
    )
    unknown = chance(rng, settings.sex_unknown, n)
    touched = np.maximum(notified.astype("M8[D]"), today - exponential_days(rng, 200, n, low=0, high=3 * 365) * DAY)
    touched = np.where(np.isnat(touched), today - exponential_days(rng, 200, n, low=0, high=3 * 365) * DAY, touched)
    forces = force_codes(world, persons, rng, other=False).where(
        pd.Series(~duplicate), force_codes(world, persons, rng, other=True)
    )
    records = pd.DataFrame(
        {
            "key": world.issuers.nominal_refs(n, rng),
            **record,
            "dup": duplicate,
            "force": forces,
            "alias_surname": alias_surname,
            "alias_forename": alias_forename,
            "sex": strs.series(np.where(unknown, "U", world.person_column("sex", persons)).astype(str)),
            "pnc": with_blanks(world.person_text("pnc", persons), rng, settings.police_pnc_blank),
            "cro": with_blanks(world.person_text("cro", persons), rng, settings.police_cro_blank),
            "nominal_type": world.person_text("nominal_type", persons),
            "mappa_category": category,
            "mappa_level": level,
            "risk": world.person_text("risk", persons),
            "registration_start": registered,
            "last_notified": notified,
            "notification_due": due,
            "last_updated": stamps(rng, touched),
        }
    )
    # References are issued in a shuffled order; the extract lists them in order.
    return records.sort_values("key", kind="stable").reset_index(drop=True)


def render(records: pd.DataFrame) -> dict[str, pa.Array]:
    aliases = strs.join(records["alias_surname"], ", ", records["alias_forename"])
    return {
        "NOMINAL_REF": strs.arrow(records["key"]),
        "FORCE_CODE": strs.arrow(records["force"]),
        "PNC_ID": strs.arrow(records["pnc"]),
        "CRO_NO": strs.arrow(records["cro"]),
        "SURNAME": strs.arrow(records["surname"]),
        "FORENAME_1": strs.arrow(records["forename"]),
        "FORENAME_2": strs.arrow(records["middle"]),
        "ALIASES": strs.choose(records["alias_surname"].ne("").to_numpy(), aliases, ""),
        "DOB": format_dates(records["dob"].to_numpy(), DMY),
        "SEX": strs.arrow(records["sex"]),
        "ADDRESS": strs.arrow(records["address"]),
        "POSTCODE": strs.arrow(records["postcode"]),
        "NOMINAL_TYPE": strs.arrow(records["nominal_type"]),
        "MAPPA_CATEGORY": strs.arrow(records["mappa_category"]),
        "MAPPA_LEVEL": strs.arrow(records["mappa_level"]),
        "RISK_LEVEL": strs.arrow(records["risk"]),
        "REGISTRATION_START": format_dates(records["registration_start"].to_numpy(), DMY),
        "LAST_NOTIFIED": format_dates(records["last_notified"].to_numpy(), DMY),
        "NOTIFICATION_DUE": format_dates(records["notification_due"].to_numpy(), DMY),
        "LAST_UPDATED": format_timestamps(records["last_updated"].to_numpy(), DMY, " "),
    }
