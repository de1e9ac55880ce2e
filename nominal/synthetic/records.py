"""Pieces every feed's record builder shares: identity columns taken from the people table,
blank identifiers, timestamps, and the per-night context the builders and errors read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import strs
from .dates import DAY
from .people import Issuers, Names, Places, address_text, postcode_text
from .rand import Streams, chance
from .settings import GeneratorSettings

FEEDS = ("police", "probation", "prison")

# Person-level custody state, from their latest prison booking.
NO_CUSTODY, ACTIVE_IN, ACTIVE_OUT, RELEASED = 0, 1, 2, 3


@dataclass
class World:
    """Everything the generator knows: the people, each feed's current records and the errors
    carried by those records. Nightly changes edit it in place."""

    settings: GeneratorSettings
    streams: Streams
    start: np.datetime64  # the first night
    last_night: np.datetime64
    people: pd.DataFrame
    issuers: Issuers
    names: Names = field(default_factory=Names)
    places: Places = field(default_factory=Places)
    records: dict[str, pd.DataFrame] = field(default_factory=dict)
    errors: dict[str, pd.DataFrame] = field(default_factory=dict)
    staff: pd.Series | None = None  # offender managers, "Surname, Forename"

    def person_column(self, name: str, persons: np.ndarray) -> np.ndarray:
        """A column of the people table at these positions, as numpy (text as objects)."""
        column = self.people[name]
        if column.dtype == "str":
            return strs.values_at(column, persons)
        return column.to_numpy()[persons]

    def person_text(self, name: str, persons: np.ndarray) -> pd.Series:
        return strs.series(strs.arrow(self.people[name]).take(np.asarray(persons, dtype=np.int64)))

    def in_feed(self, feed: str) -> np.ndarray:
        """Per person: has at least one record in the feed."""
        present = np.zeros(len(self.people), dtype=bool)
        if feed in self.records:
            present[self.records[feed]["person"].to_numpy()] = True
        return present

    def custody(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per person: custody state of the latest booking, its reception and release dates."""
        state = np.full(len(self.people), NO_CUSTODY, dtype=np.int8)
        reception = np.full(len(self.people), np.datetime64("NaT"), dtype="M8[D]")
        release = reception.copy()
        bookings = self.records.get("prison")
        if bookings is None or bookings.empty:
            return state, reception, release
        order = np.lexsort((bookings["reception_date"].to_numpy(), bookings["person"].to_numpy()))
        persons = bookings["person"].to_numpy()[order]
        latest = order[np.append(persons[1:] != persons[:-1], True)]
        status = strs.values_at(bookings["status"], latest)
        who = bookings["person"].to_numpy()[latest]
        state[who] = np.select([status == "ACTIVE IN", status == "ACTIVE OUT"], [ACTIVE_IN, ACTIVE_OUT], RELEASED)
        reception[who] = bookings["reception_date"].to_numpy()[latest].astype("M8[D]")
        release[who] = bookings["release_date"].to_numpy()[latest].astype("M8[D]")
        return state, reception, release


def set_at(frame: pd.DataFrame, column: str, rows: np.ndarray, values) -> None:
    """Set ``frame[column]`` at positions ``rows`` (text columns take objects, others as given)."""
    series = frame[column].copy()
    series.iloc[rows] = np.asarray(values, dtype=object) if series.dtype == "str" else values
    frame[column] = series


def identity(world: World, persons: np.ndarray, with_home: bool = True) -> dict[str, Any]:
    """Name, date of birth and (``with_home``) address of each person: true values, names in
    upper case."""
    persons = np.asarray(persons, dtype=np.int64)
    columns = {
        "person": persons,
        "surname": world.person_text("surname", persons),
        "forename": world.person_text("forename", persons),
        "middle": world.person_text("middle", persons),
        "dob": world.person_column("dob", persons),
    }
    if with_home:
        columns |= {"address": home_address(world, persons), "postcode": home_postcode(world, persons)}
    return columns


def home_address(world: World, persons: np.ndarray, which: str = "home") -> pd.Series:
    part = {k: world.person_column(f"{which}_{k}", persons) for k in ("house", "flat", "street", "district")}
    return address_text(world.places, part["house"], part["flat"], part["street"], part["district"])


def home_postcode(world: World, persons: np.ndarray, which: str = "home") -> pd.Series:
    return postcode_text(
        world.places, world.person_column(f"{which}_district", persons), world.person_column(f"{which}_inward", persons)
    )


def shown_aliases(
    world: World, persons: np.ndarray, rng: np.random.Generator, share: float
) -> tuple[pd.Series, pd.Series]:
    """The person's alias, on the share of records that list it (blank otherwise)."""
    surname = world.person_text("alias_surname", persons)
    forename = world.person_text("alias_forename", persons)
    shown = pd.Series(chance(rng, share, len(persons)))
    return surname.where(shown, ""), forename.where(shown, "")


def with_blanks(values: pd.Series, rng: np.random.Generator, blank_rate: float) -> pd.Series:
    """Blank a value at the rate that makes the feed's overall blank share ``blank_rate``, counting
    values that are blank already (people without that identifier)."""
    values = values.reset_index(drop=True)
    have = values.ne("").to_numpy()
    have_share = have.mean() if len(have) else 1.0
    conditional = np.clip((blank_rate - (1 - have_share)) / max(have_share, 1e-9), 0.0, 1.0)
    return values.where(pd.Series(~chance(rng, conditional, len(values))), "")


def stamps(rng: np.random.Generator, days: np.ndarray, latest: np.datetime64 | None = None) -> np.ndarray:
    """Timestamps on the given days in working hours (07:00–22:59), never after ``latest``."""
    seconds = rng.integers(7 * 3600, 23 * 3600, len(days)).astype("m8[s]")
    result = np.asarray(days, dtype="M8[D]").astype("M8[s]") + seconds
    if latest is not None:
        result = np.minimum(result, latest.astype("M8[s]"))
    return result


def days_between(rng: np.random.Generator, first, last) -> np.ndarray:
    """A day uniformly between first and last (inclusive), as datetime64[D]."""
    first = np.asarray(first, dtype="M8[D]")
    last = np.maximum(np.asarray(last, dtype="M8[D]"), first)
    span = (last - first).astype(np.int64) + 1
    return first + np.floor(rng.random(np.broadcast(first, last).shape) * span).astype(np.int64) * DAY


def exponential_days(
    rng: np.random.Generator, mean_days: float, count: int, low: int = 1, high: int | None = None
) -> np.ndarray:
    days = np.round(rng.exponential(mean_days, count)).astype(np.int64) + low
    return np.minimum(days, high) if high is not None else days


def adult_from(dob: np.ndarray, years: int = 18) -> np.ndarray:
    """The date someone born on ``dob`` reaches ``years`` (approximately; a day or two either way)."""
    return np.asarray(dob, dtype="M8[D]") + (years * 36525 // 100) * DAY
