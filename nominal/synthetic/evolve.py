"""What changes between one night and the next: records removed, updated and added.

Keys of unchanged and updated records stay the same; errors stay on a record until an update
rewrites the field they are in. An update can reach other feeds (a release from prison changes the
probation case too) and can make another record stale (a move leaves the old address elsewhere).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from . import police, prison, probation, strs
from .dates import DAY, add_years
from .ids import postcode_variants
from .people import make_people, nearby_address
from .rand import rounded, weighted_choice
from .records import ACTIVE_IN, ACTIVE_OUT, FEEDS, World, home_address, home_postcode, set_at, stamps
from .world import add_people, append, finish

POLICE_UPDATES = (("move", 0.4), ("mappa", 0.2), ("notified", 0.3), ("risk", 0.1))
PROBATION_UPDATES = (("move", 0.35), ("mappa", 0.15), ("assessment", 0.5))
PRISON_UPDATES = (("release", 0.5), ("transfer", 0.5))
EXISTING_PEOPLE_ADDS = (("prison", 0.40), ("probation", 0.35), ("police", 0.25))
RISK_LEVELS = np.array(["LOW", "MEDIUM", "HIGH", "VERY HIGH"])
ROSH_LEVELS = np.array(["Low", "Medium", "High", "Very High"])


class Night:
    """Changes made for one night, with counts per feed for the report."""

    def __init__(self, world: World, index: int, today: np.datetime64):
        self.world, self.index, self.today = world, index, today
        self.added: Counter[str] = Counter()
        self.updated: dict[str, set[str]] = {feed: set() for feed in FEEDS}
        self.removed: Counter[str] = Counter()

    def rng(self, *names: str) -> np.random.Generator:
        return self.world.streams.rng("night", self.index, *names)

    # --- bookkeeping --------------------------------------------------------------------------

    def records(self, feed: str) -> pd.DataFrame:
        return self.world.records[feed]

    def put(self, feed: str, column: str, rows: np.ndarray, values) -> None:
        set_at(self.world.records[feed], column, rows, values)

    def touch(self, feed: str, rows: np.ndarray, rng: np.random.Generator) -> None:
        """Mark records updated tonight: LAST_UPDATED moves to today."""
        rows = np.unique(rows)
        if not len(rows):
            return
        self.put(feed, "last_updated", rows, stamps(rng, np.full(len(rows), self.today)))
        self.updated[feed].update(strs.values_at(self.records(feed)["key"], rows).tolist())

    def forget_errors(self, feed: str, rows: np.ndarray, *, fields=None, codes=None) -> None:
        """Drop logged errors of these records (only in ``fields`` / of ``codes`` if given)."""
        log = self.world.errors[feed]
        hit = strs.is_in(log["key"], strs.values_at(self.records(feed)["key"], rows))
        if fields is not None:
            hit &= strs.is_in(log["field"], fields)
        if codes is not None:
            hit &= strs.is_in(log["error"], codes)
        self.world.errors[feed] = log[~hit].reset_index(drop=True)

    def log_error(self, feed: str, rows: np.ndarray, field: str, code: str) -> None:
        keys = pd.Series(strs.values_at(self.records(feed)["key"], np.unique(rows)), dtype="str")
        log = self.world.errors[feed]
        already = log.loc[strs.equals(log["field"], field) & strs.equals(log["error"], code), "key"]
        keys = keys[~strs.is_in(keys, already)]
        new = pd.DataFrame({"key": keys, "field": field, "error": code}).astype("str")
        self.world.errors[feed] = pd.concat([log, new], ignore_index=True)

    def rows_of(self, feed: str, persons: np.ndarray) -> np.ndarray:
        return np.flatnonzero(np.isin(self.records(feed)["person"].to_numpy(), persons))


def run_night(world: World, index: int, today: np.datetime64) -> Night:
    night = Night(world, index, today)
    remove(night)
    update(night)
    add(night)
    settle_duplicates(night)
    return night


# --- removals ------------------------------------------------------------------------------------


def remove(night: Night) -> None:
    """Records leave the extract: deregistered nominals, closed cases, archived released bookings."""
    world = night.world
    for feed in FEEDS:
        records = night.records(feed)
        rng = night.rng(feed, "remove")
        candidates = np.arange(len(records))
        if feed == "prison":
            candidates = np.flatnonzero(strs.equals(records["status"], "INACTIVE OUT"))
        count = min(rounded(rng, len(records) * world.settings.nightly_remove), len(candidates))
        gone = rng.choice(candidates, size=count, replace=False)
        night.forget_errors(feed, gone)
        keep = np.ones(len(records), dtype=bool)
        keep[gone] = False
        world.records[feed] = records[keep].reset_index(drop=True)
        night.removed[feed] += count


# --- updates -------------------------------------------------------------------------------------


def update(night: Night) -> None:
    settings = night.world.settings
    for feed, kinds in (("police", POLICE_UPDATES), ("probation", PROBATION_UPDATES), ("prison", PRISON_UPDATES)):
        records = night.records(feed)
        rng = night.rng(feed, "update")
        candidates = np.arange(len(records))
        if feed == "prison":
            candidates = np.flatnonzero(strs.equals(records["status"], "ACTIVE IN"))
        # At least one update a night, so no night repeats the previous extract byte for byte
        # (an identical extract counts as a re-delivery and is loaded once).
        count = min(max(rounded(rng, len(records) * settings.nightly_update), 1), len(candidates))
        if not settings.nightly_update:
            count = 0
        elif count == 0 and len(records):  # nothing in custody to release or move: a clerical edit
            night.touch(feed, rng.integers(0, len(records), 1), rng)
        chosen = rng.choice(candidates, size=count, replace=False)
        kind = np.array([k for k, _ in kinds])[weighted_choice(rng, [w for _, w in kinds], count)]
        kind = _feasible(records, chosen, kind, feed)
        for name in dict(kinds):
            rows = chosen[kind == name]
            if len(rows):
                UPDATES[name](night, feed, rows, rng)


def _feasible(records: pd.DataFrame, rows: np.ndarray, kind: np.ndarray, feed: str) -> np.ndarray:
    """Fall back to a plain reassessment where the drawn update cannot apply."""
    fallback = "risk" if feed == "police" else "assessment"
    if feed == "police":
        kind = np.where((kind == "notified") & (strs.values_at(records["nominal_type"], rows) != "RSO"), fallback, kind)
    if feed in ("police", "probation"):
        kind = np.where((kind == "mappa") & (strs.values_at(records["mappa_category"], rows) == ""), fallback, kind)
    return kind


def move(night: Night, feed: str, rows: np.ndarray, rng) -> None:
    """The person moved: this record has the new address; their other records keep the old one
    and are stale from tonight."""
    world = night.world
    persons = np.unique(night.records(feed)["person"].to_numpy()[rows])
    people = world.people
    new = nearby_address(
        rng, world.places, people["home_district"].to_numpy()[persons], world.settings.flat_address_share
    )
    for part, values in new.items():
        home = people[f"home_{part}"].to_numpy().copy()
        prev = people[f"prev_{part}"].to_numpy().copy()
        prev[persons] = home[persons]
        home[persons] = values
        people[f"prev_{part}"], people[f"home_{part}"] = prev, home
    updated = night.rows_of(feed, persons)
    updated = updated[np.isin(updated, rows)]
    owners = night.records(feed)["person"].to_numpy()[updated]
    postcode = home_postcode(world, owners)
    if feed == "police":
        postcode = postcode_variants(postcode, rng, share=world.settings.postcode_variant)
    night.put(feed, "address", updated, home_address(world, owners).to_numpy())
    night.put(feed, "postcode", updated, postcode.to_numpy())
    night.forget_errors(feed, updated, fields=["address"])
    night.touch(feed, updated, rng)
    for other in ("police", "probation"):
        stale = night.rows_of(other, persons)
        if other == feed:
            stale = stale[~np.isin(stale, updated)]
        night.log_error(other, stale, "address", "stale_address")


def mappa(night: Night, feed: str, rows: np.ndarray, rng) -> None:
    """A MAPPA meeting changed the level: police and probation both record it."""
    people = night.world.people
    persons = np.unique(night.records(feed)["person"].to_numpy()[rows])
    persons = persons[people["mappa_category"].to_numpy()[persons] > 0]
    level = people["mappa_level"].to_numpy().copy()
    level[persons] = (level[persons] - 1 + rng.integers(1, 3, len(persons))) % 3 + 1
    people["mappa_level"] = level
    for target, prefix in (("police", ""), ("probation", "L")):
        hit = night.rows_of(target, persons)
        owners = night.records(target)["person"].to_numpy()[hit]
        night.put(target, "mappa_level", hit, np.char.add(prefix, level[owners].astype(str)))
        if target == "probation":
            night.forget_errors(target, hit, fields=["mappa_level"], codes=["mappa_differs"])
        night.touch(target, hit, rng)


def notified(night: Night, feed: str, rows: np.ndarray, rng) -> None:
    """The RSO notified in person tonight: the next notification is due in a year."""
    today = np.full(len(rows), night.today)
    night.put(feed, "last_notified", rows, today.astype("M8[s]"))
    night.put(feed, "notification_due", rows, add_years(today, 1).astype("M8[s]"))
    night.forget_errors(feed, rows, codes=["overdue_notification"])
    night.touch(feed, rows, rng)


def risk(night: Night, feed: str, rows: np.ndarray, rng) -> None:
    """The police risk assessment changed to another level."""
    level = pd.Series(strs.values_at(night.records(feed)["risk"], rows)).map({r: i for i, r in enumerate(RISK_LEVELS)})
    night.put(feed, "risk", rows, RISK_LEVELS[(level.to_numpy(np.int64) + rng.integers(1, 4, len(rows))) % 4])
    night.touch(feed, rows, rng)


def assessment(night: Night, feed: str, rows: np.ndarray, rng) -> None:
    """A new OASys assessment; the ROSH rating may change."""
    night.put(feed, "rosh", rows, ROSH_LEVELS[rng.integers(0, 4, len(rows))])
    night.put(feed, "oasys_date", rows, np.full(len(rows), night.today).astype("M8[s]"))
    night.touch(feed, rows, rng)


def release(night: Night, feed: str, rows: np.ndarray, rng) -> None:
    """Released tonight: the booking closes and probation's case moves to licence."""
    night.put(feed, "status", rows, np.full(len(rows), "INACTIVE OUT"))
    night.put(feed, "establishment", rows, np.full(len(rows), "OUT"))
    night.put(feed, "release_date", rows, np.full(len(rows), night.today).astype("M8[s]"))
    night.forget_errors(feed, rows, codes=["release_passed_active_in"])
    night.touch(feed, rows, rng)
    persons = np.unique(night.records(feed)["person"].to_numpy()[rows])
    cases = night.rows_of("probation", persons)
    licence_end = night.today + rng.integers(180, 4 * 365, len(cases)) * DAY
    night.put("probation", "custody_status", cases, np.full(len(cases), probation.LICENCE))
    night.put("probation", "licence_end", cases, licence_end.astype("M8[s]"))
    night.forget_errors("probation", cases, fields=["custody_status"])
    night.touch("probation", cases, rng)


def transfer(night: Night, feed: str, rows: np.ndarray, rng) -> None:
    records = night.records(feed)
    female = night.world.people["sex"].to_numpy()[records["person"].to_numpy()[rows]] == "F"
    night.put(feed, "establishment", rows, prison.establishments(female, rng).to_numpy())
    night.touch(feed, rows, rng)


UPDATES = {
    "move": move,
    "mappa": mappa,
    "notified": notified,
    "risk": risk,
    "assessment": assessment,
    "release": release,
    "transfer": transfer,
}


# --- additions -----------------------------------------------------------------------------------


def add(night: Night) -> None:
    """New records tonight: for people already known (a new booking, case or registration) and
    for people new to every feed."""
    world, settings = night.world, night.world.settings
    rng = night.rng("add")
    total = sum(len(night.records(feed)) for feed in FEEDS)
    adds = rounded(rng, total * settings.nightly_add)
    for_new_people = rounded(rng, adds * settings.new_person_share_of_adds)
    add_for_known_people(night, adds - for_new_people, rng)
    per_person = (
        settings.police_share * (1 + settings.police_duplicate)
        + settings.probation_share * (1 + settings.probation_duplicate)
        + settings.prison_share / (1 - settings.prison_extra_booking)
    )
    newcomers = rounded(rng, for_new_people / per_person)
    if newcomers:
        label = f"night {night.index}"
        people = make_people(
            world.streams, newcomers, first_number=len(world.people) + 1, start=night.today,
            settings=settings, issuers=world.issuers, label=label,
        )  # fmt: skip
        built = add_people(world, people, night.today, label)
        night.added.update({feed: len(records) for feed, records in built.items()})


def add_for_known_people(night: Night, count: int, rng: np.random.Generator) -> None:
    world = night.world
    state = world.custody()[0]
    known = len(world.people)
    split = np.array([w for _, w in EXISTING_PEOPLE_ADDS])
    counts = dict(zip([f for f, _ in EXISTING_PEOPLE_ADDS], rng.multinomial(count, split / split.sum())))
    people = world.people
    candidates = {
        "prison": np.flatnonzero((state != ACTIVE_IN) & (state != ACTIVE_OUT)),
        "probation": np.flatnonzero(~world.in_feed("probation")),
        # Only people whose MAPPA category fits a police nominal of their type.
        "police": np.flatnonzero(~world.in_feed("police") & _police_consistent(people)),
    }
    built: dict[str, pd.DataFrame] = {}
    for feed, wanted in counts.items():
        pool = candidates[feed][candidates[feed] < known]
        persons = np.sort(rng.choice(pool, size=min(wanted, len(pool)), replace=False))
        if not len(persons):
            continue
        if feed == "prison":
            built[feed] = prison.build_new_bookings(world, persons, night.today, rng)
            _received_into_custody(night, persons, rng)
        elif feed == "probation":
            built[feed] = probation.build(world, persons, night.today, rng)
        else:
            built[feed] = police.build(world, persons, night.today, rng)
        append(world, feed, built[feed])
    finish(world, built, night.today, rng)
    night.added.update({feed: len(records) for feed, records in built.items()})


def _police_consistent(people: pd.DataFrame) -> np.ndarray:
    category = people["mappa_category"].to_numpy()
    kind = people["nominal_type"].to_numpy(dtype=object)
    return (
        ((kind == "RSO") & (category == 1))
        | ((kind == "VO") & (category == 2))
        | ((kind == "PDP") & np.isin(category, [0, 3]))
    )


def _received_into_custody(night: Night, persons: np.ndarray, rng: np.random.Generator) -> None:
    cases = night.rows_of("probation", persons)
    night.put("probation", "custody_status", cases, np.full(len(cases), probation.IN_CUSTODY))
    night.forget_errors("probation", cases, fields=["custody_status"])
    night.touch("probation", cases, rng)


def settle_duplicates(night: Night) -> None:
    """A record stops being a duplicate once the person's other records in that feed are gone.
    (A prison booking under a second prison number stays one: the number is still the person's
    second, whatever happened to their other bookings.)"""
    for feed in ("police", "probation"):
        records = night.records(feed)
        persons = records["person"].to_numpy()
        counts = np.bincount(persons, minlength=len(night.world.people))
        alone = records["dup"].to_numpy() & (counts[persons] == 1)
        if alone.any():
            rows = np.flatnonzero(alone)
            night.forget_errors(feed, rows, codes=["duplicate_record"])
            flags = records["dup"].to_numpy().copy()
            flags[rows] = False
            records["dup"] = flags
