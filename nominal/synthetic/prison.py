"""Prison feed (NOMIS style, docs/feeds/prison.md): one record per booking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from nominal import reference

from . import strs
from .dates import DAY, ISO, format_dates, format_timestamps
from .rand import chance, weighted_choice
from .records import (
    ACTIVE_IN,
    ACTIVE_OUT,
    RELEASED,
    World,
    adult_from,
    days_between,
    exponential_days,
    identity,
    set_at,
    shown_aliases,
    stamps,
    with_blanks,
)

FEED = "prison"
FILE = "prisoners_{date}.csv"
COLUMNS = (
    "BOOKING_NO", "PRISON_NUMBER", "LAST_NAME", "FIRST_NAME", "MIDDLE_NAMES", "BIRTH_DATE", "SEX_CODE", "PNC", "CRO",
    "ESTABLISHMENT_CODE", "RECEPTION_DATE", "RELEASE_DATE", "STATUS", "ALIASES", "LAST_UPDATED",
)  # fmt: skip
# Columns that can hold a comma, quote or line break (the rest are dates, codes, identifiers).
FREE_TEXT = frozenset({"LAST_NAME", "FIRST_NAME", "MIDDLE_NAMES", "ALIASES"})
STATUS_TEXT = {ACTIVE_IN: "ACTIVE IN", ACTIVE_OUT: "ACTIVE OUT", RELEASED: "INACTIVE OUT"}
STATUS_BY_STATE = np.array(["", STATUS_TEXT[ACTIVE_IN], STATUS_TEXT[ACTIVE_OUT], STATUS_TEXT[RELEASED]])
LATEST_STATE_WEIGHTS = ((ACTIVE_IN, 0.55), (ACTIVE_OUT, 0.02), (RELEASED, 0.43))
ALIAS_SHOWN = 0.6  # bookings that list a known alias
RELEASE_UNSET = 0.05  # active bookings with no release date yet (remand, indeterminate)


def establishments(female: np.ndarray, rng: np.random.Generator) -> pd.Series:
    """A prison holding people of each one's sex."""
    table = reference.establishments()
    codes = np.empty(len(female), dtype=np.int64)
    for sex, rows in (("F", np.flatnonzero(female)), ("M", np.flatnonzero(~female))):
        choices = np.flatnonzero(table["sex"].to_numpy() == sex)
        codes[rows] = choices[rng.integers(0, len(choices), len(rows))]
    return strs.series(strs.take(table["code"].to_numpy(), codes))


def _sex_codes(world: World, persons: np.ndarray, rng: np.random.Generator) -> pd.Series:
    unknown = chance(rng, world.settings.sex_unknown, len(persons))
    not_known = np.where(chance(rng, 0.5, len(persons)), "NK", "NS")
    return strs.series(np.where(unknown, not_known, world.person_column("sex", persons)).astype(str))


def _bookings(world: World, persons: np.ndarray, rng, *, reception, release, status, today) -> pd.DataFrame:
    """Records for the given bookings (one row per booking; ``persons`` may repeat)."""
    settings = world.settings
    count = len(persons)
    record = identity(world, persons, with_home=False)
    female = world.person_column("sex", persons) == "F"
    active = status != RELEASED
    alias_surname, alias_forename = shown_aliases(world, persons, rng, ALIAS_SHOWN)
    # Last changed: some time in the last year while held; otherwise at (or just after) release.
    while_held = days_between(rng, np.maximum(reception, today - 365 * DAY), today)
    at_release = np.minimum(release.astype("M8[D]") + rng.integers(0, 3, count) * DAY, today)
    touched = np.where(active, while_held, at_release)
    issue_noms(world, persons)
    return pd.DataFrame(
        {
            "key": world.issuers.booking_numbers(count),
            **record,
            "dup": np.zeros(count, dtype=bool),
            "alias_surname": alias_surname,
            "alias_forename": alias_forename,
            "sex": _sex_codes(world, persons, rng),
            "pnc": with_blanks(world.person_text("pnc", persons), rng, settings.prison_pnc_blank),
            "cro": with_blanks(world.person_text("cro", persons), rng, settings.prison_cro_blank),
            "noms": world.person_text("noms", persons),
            "establishment": establishments(female, rng).where(pd.Series(active), "OUT"),
            "reception_date": reception.astype("M8[s]"),
            "release_date": release.astype("M8[s]"),
            "status": strs.series(strs.take(STATUS_BY_STATE, status)),
            "last_updated": stamps(rng, touched),
        }
    )


def issue_noms(world: World, persons: np.ndarray) -> None:
    """Give a NOMS number to each of these people who has none yet."""
    people = world.people
    persons = np.unique(persons)
    missing = persons[strs.values_at(people["noms"], persons) == ""]
    if len(missing):
        noms = people["noms"].copy()
        noms.iloc[missing] = world.issuers.noms_numbers(len(missing)).to_numpy()
        people["noms"] = noms


def future_release(world: World, rng, today: np.datetime64, count: int) -> np.ndarray:
    """Expected release dates for bookings active now: after the last night generated, so an
    active booking only has a past release date when that error is injected; some not yet set."""
    earliest = max(today, world.last_night) + DAY
    release = earliest + exponential_days(rng, 500, count, low=0, high=15 * 365) * DAY
    return np.where(chance(rng, RELEASE_UNSET, count), np.datetime64("NaT"), release)


def build_history(world: World, persons: np.ndarray, today: np.datetime64, rng: np.random.Generator) -> pd.DataFrame:
    """Every booking of these people up to ``today``: the latest in any state, earlier ones
    released; now and then one taken under an alias, with a second prison number."""
    settings = world.settings
    n = len(persons)
    extra = np.minimum(rng.geometric(1 - settings.prison_extra_booking, n) - 1, 3)
    dob = world.person_column("dob", persons).astype("M8[D]")
    adult = adult_from(dob)

    # The latest booking.
    state = np.array([s for s, _ in LATEST_STATE_WEIGHTS])[
        weighted_choice(rng, [w for _, w in LATEST_STATE_WEIGHTS], n)
    ]
    reception = np.maximum(today - exponential_days(rng, 500, n, high=6 * 365) * DAY, adult)
    released_on = today - exponential_days(rng, 700, n, high=10 * 365) * DAY
    room = (today - reception).astype(np.int64)
    state = np.where((state == RELEASED) & (room < 3), ACTIVE_IN, state)
    reception = np.where(
        state == RELEASED, np.minimum(reception, released_on - exponential_days(rng, 300, n, low=7) * DAY), reception
    )
    reception = np.maximum(reception, adult)
    released_on = np.clip(released_on, reception + DAY, today - DAY)
    release = np.where(state == RELEASED, released_on, future_release(world, rng, today, n))

    # Earlier bookings, each released before the next reception; none before adulthood.
    count = 1 + extra
    row_person = np.repeat(np.arange(n), count)
    first_row = np.repeat(np.cumsum(count) - count, count)
    order_in_person = np.arange(len(row_person)) - first_row  # 0 = the latest
    gap = exponential_days(rng, 500, len(row_person), low=30)
    duration = exponential_days(rng, 250, len(row_person), low=7)
    step = np.where(order_in_person == 0, 0, gap + duration)
    offset = np.cumsum(step) - np.cumsum(step)[first_row] + step[first_row]
    row_reception = reception[row_person] - offset * DAY
    row_release = np.where(order_in_person == 0, release[row_person], row_reception + duration * DAY)
    keep = (order_in_person == 0) | (row_reception >= adult[row_person])
    row_person, order_in_person = row_person[keep], order_in_person[keep]
    row_reception, row_release = row_reception[keep], row_release[keep]
    row_state = np.where(order_in_person == 0, state[row_person], RELEASED)

    records = _bookings(
        world, persons[row_person], rng, reception=row_reception, release=row_release, status=row_state, today=today
    )
    alias_rows = _received_under_alias(world, persons, row_person, order_in_person, rng)
    return _use_alias(world, records, alias_rows) if alias_rows.any() else records


def _received_under_alias(world: World, persons, row_person, order_in_person, rng) -> np.ndarray:
    """At most one booking per person, never their first, received under their alias."""
    kept = np.bincount(row_person, minlength=len(persons))
    has_alias = world.person_column("alias_surname", persons) != ""
    eligible = (order_in_person < kept[row_person] - 1) & has_alias[row_person]
    chosen = eligible & chance(rng, world.settings.prison_alias_booking, len(row_person))
    # Rows are grouped by person: count the chosen rows within each person, keep the first.
    running = np.cumsum(chosen)
    first = np.searchsorted(row_person, row_person, side="left")
    within = running - running[first] + chosen[first]
    return chosen & (within == 1)


def _use_alias(world: World, records: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Bookings taken under an alias: the alias as the name and a new prison number."""
    positions = np.flatnonzero(rows)
    persons = records["person"].to_numpy()[positions]
    for column, source in (("surname", "alias_surname"), ("forename", "alias_forename")):
        set_at(records, column, positions, world.person_column(source, persons))
    for column in ("middle", "alias_surname", "alias_forename"):
        set_at(records, column, positions, np.full(len(positions), ""))
    set_at(records, "noms", positions, world.issuers.noms_numbers(len(positions)).to_numpy())
    records["dup"] = rows
    return records


def build_new_bookings(
    world: World, persons: np.ndarray, today: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    """People received into custody tonight (recognised: their existing prison number)."""
    n = len(persons)
    reception = np.full(n, today, dtype="M8[D]")
    release = future_release(world, rng, today, n)
    return _bookings(
        world, persons, rng, reception=reception, release=release, status=np.full(n, ACTIVE_IN), today=today
    )


def render(records: pd.DataFrame) -> dict[str, pa.Array]:
    aliases = strs.join(records["alias_surname"], "/", records["alias_forename"])
    return {
        "BOOKING_NO": strs.arrow(records["key"]),
        "PRISON_NUMBER": strs.arrow(records["noms"]),
        "LAST_NAME": strs.arrow(records["surname"]),
        "FIRST_NAME": strs.arrow(records["forename"]),
        "MIDDLE_NAMES": strs.arrow(records["middle"]),
        "BIRTH_DATE": format_dates(records["dob"].to_numpy(), ISO),
        "SEX_CODE": strs.arrow(records["sex"]),
        "PNC": strs.arrow(records["pnc"]),
        "CRO": strs.arrow(records["cro"]),
        "ESTABLISHMENT_CODE": strs.arrow(records["establishment"]),
        "RECEPTION_DATE": format_dates(records["reception_date"].to_numpy(), ISO),
        "RELEASE_DATE": format_dates(records["release_date"].to_numpy(), ISO),
        "STATUS": strs.arrow(records["status"]),
        "ALIASES": strs.choose(records["alias_surname"].ne("").to_numpy(), aliases, ""),
        "LAST_UPDATED": format_timestamps(records["last_updated"].to_numpy(), ISO, " "),
    }
