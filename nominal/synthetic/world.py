"""Building the world: people join, get records in the feeds they belong to, and the errors
those records carry. Used for the first night's population and for new people on later nights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import errors, police, prison, probation
from .people import Issuers, assign_mappa, make_people
from .rand import Streams, chance
from .records import FEEDS, World
from .settings import GeneratorSettings


def new_world(settings: GeneratorSettings, streams: Streams, start: np.datetime64, last_night: np.datetime64) -> World:
    world = World(
        settings=settings,
        streams=streams,
        start=start,
        last_night=last_night,
        people=pd.DataFrame(),
        issuers=Issuers(streams),
    )
    world.errors = {feed: pd.DataFrame({c: pd.Series(dtype="str") for c in errors.ERROR_COLUMNS}) for feed in FEEDS}
    return world


def membership(rng: np.random.Generator, count: int, settings: GeneratorSettings) -> dict[str, np.ndarray]:
    """Which feeds each person is in: every person in at least one, each feed holding its share.

    Feeds are drawn independently at slightly lower rates and people drawn into none are drawn
    again; the rates are solved so that after the redraws each feed has its target share.
    """
    target = np.array([settings.police_share, settings.probation_share, settings.prison_share])
    rates = target.copy()
    for _ in range(50):  # fixed point of rate = target · P(in at least one feed)
        rates = np.clip(target * (1 - np.prod(1 - rates)), 0, 1)
    member = rng.random((count, 3)) < rates
    for _ in range(100):
        none = ~member.any(axis=1)
        if not none.any():
            break
        member[none] = rng.random((int(none.sum()), 3)) < rates
    member[~member.any(axis=1), 1] = True  # in the unlikely event of leftovers: probation
    return dict(zip(("police", "probation", "prison"), member.T))


def add_people(world: World, people: pd.DataFrame, today: np.datetime64, label: str) -> dict[str, pd.DataFrame]:
    """Add people to the world with their records in each feed; returns the new records."""
    settings = world.settings
    rng = world.streams.rng("build", label)
    first = len(world.people)
    people = people.reset_index(drop=True)
    world.people = people if world.people.empty else pd.concat([world.people, people], ignore_index=True)
    persons = first + np.arange(len(people))
    member = membership(rng, len(people), settings)

    category, level = assign_mappa(rng, people["nominal_type"].to_numpy(), member["police"])
    for column, values in (("mappa_category", category), ("mappa_level", level)):
        full = world.people[column].to_numpy().copy()
        full[persons] = values
        world.people[column] = full

    # Each feed's new records go in straight away (probation reads custody from the bookings);
    # errors are injected once all three exist, as some compare feeds.
    built: dict[str, pd.DataFrame] = {}
    built["prison"] = prison.build_history(world, persons[member["prison"]], today, rng)
    built["police"] = _with_duplicates(
        world, police.build, persons[member["police"]], settings.police_duplicate, today, rng
    )
    for feed in ("prison", "police"):
        append(world, feed, built[feed])
    built["probation"] = _with_duplicates(
        world, probation.build, persons[member["probation"]], settings.probation_duplicate, today, rng
    )
    append(world, "probation", built["probation"])
    finish(world, built, today, rng)
    return built


def _with_duplicates(world: World, build, persons: np.ndarray, rate: float, today, rng) -> pd.DataFrame:
    """Records for these people plus, for a share of them, an extra record of the same person."""
    twice = persons[chance(rng, rate, len(persons))]
    everyone = np.concatenate([persons, twice])
    duplicate = np.concatenate([np.zeros(len(persons), dtype=bool), np.ones(len(twice), dtype=bool)])
    return build(world, everyone, today, rng, duplicate=duplicate)


def append(world: World, feed: str, records: pd.DataFrame) -> None:
    """Add new records at the end of a feed (``finish`` then swaps in their final form)."""
    old = world.records.get(feed)
    world.records[feed] = (
        records.reset_index(drop=True) if old is None or old.empty else pd.concat([old, records], ignore_index=True)
    )


def finish(world: World, built: dict[str, pd.DataFrame], today, rng) -> None:
    """Inject errors into the records just appended, vary their formats, and log the errors."""
    custody_state = world.custody()[0]
    in_police = world.in_feed("police")
    for feed in FEEDS:
        if feed not in built or built[feed].empty:
            continue
        batch = errors.Batch(world, feed, built[feed].reset_index(drop=True), today, custody_state, in_police)
        log = errors.inject(batch, rng)
        errors.vary_formats(batch, rng)
        built[feed] = batch.records
        current = world.records[feed]
        kept = current.iloc[: len(current) - len(batch.records)]
        world.records[feed] = pd.concat([kept, batch.records], ignore_index=True) if len(kept) else batch.records
        world.errors[feed] = pd.concat([world.errors[feed], log], ignore_index=True)


def initial_world(
    settings: GeneratorSettings, seed: int, people: int, start: np.datetime64, last_night: np.datetime64
) -> World:
    streams = Streams(seed)
    world = new_world(settings, streams, start, last_night)
    population = make_people(
        streams, people, first_number=1, start=start, settings=settings, issuers=world.issuers, label="initial"
    )
    add_people(world, population, start, "initial")
    return world
