"""The synthetic population: one row per person with their true attributes.

Everything is drawn in bulk with numpy; the only loops are over name lists (origin group × sex ×
birth decade), never over people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nominal import reference

from . import ids, strs
from .dates import parts
from .rand import Streams, chance, rounded, weighted_choice
from .settings import GeneratorSettings

# Age on the first night: share of people per band (offender populations peak at 25–55).
AGE_BANDS = (
    (18, 24, 0.10),
    (25, 34, 0.27),
    (35, 44, 0.25),
    (45, 54, 0.18),
    (55, 64, 0.11),
    (65, 74, 0.06),
    (75, 90, 0.03),
)
NOMINAL_TYPES = np.array(["RSO", "VO", "PDP"])
NOMINAL_TYPE_WEIGHTS = (0.50, 0.38, 0.12)
RISK_LEVELS = np.array(["LOW", "MEDIUM", "HIGH", "VERY HIGH"])
RISK_WEIGHTS = (0.30, 0.45, 0.20, 0.05)
MAPPA_LEVEL_WEIGHTS = (0.82, 0.15, 0.03)  # levels 1, 2, 3
# Probation-only people: MAPPA category 0 (none), 1, 2, 3.
OTHER_MAPPA_WEIGHTS = (0.45, 0.20, 0.30, 0.05)
CRO_SHARE = 0.85  # people with a CRO number at all
SF_SHARE = 0.15  # of CRO numbers, the fingerprint-less SF form
NI_SHARE = 0.92  # people with a known NI number
GROUP_FORENAME_SHARE = 0.75  # people of a non-English-origin surname group given a forename of that group
ERA_SPREAD = 15.0  # years: how fast a forename fades either side of its peak birth year
ERA_FLOOR = 0.08  # every name keeps some use in every era
_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))  # letters used in inward codes


class Names:
    """The reference name lists as arrays ready for sampling."""

    def __init__(self) -> None:
        sur = reference.surnames()
        self.surnames = sur["name"].to_numpy()
        self.surname_weight = sur["weight"].to_numpy()
        self.surname_group = sur["group"].to_numpy()
        self.surname_sex = sur["sex"].to_numpy()
        fore = reference.forenames()
        self.forenames = fore["name"].to_numpy()
        self.forename_sex = fore["sex"].to_numpy()
        self.forename_group = fore["group"].to_numpy()
        self.forename_weight = fore["weight"].to_numpy()
        self.forename_peak = pd.to_numeric(fore["peak_birth_year"], errors="coerce").to_numpy()
        self.groups = np.unique(self.surname_group)
        self.english = int(np.searchsorted(self.groups, "en"))
        self._weights: dict[tuple, np.ndarray] = {}

    def forename_weights(self, group: str, sex: str, birth_year: float) -> np.ndarray:
        key = (group, sex, birth_year)
        if key not in self._weights:
            self._weights[key] = self._forename_weights(group, sex, birth_year)
        return self._weights[key]

    def _forename_weights(self, group: str, sex: str, birth_year: float) -> np.ndarray:
        era = np.exp(-0.5 * ((birth_year - self.forename_peak) / ERA_SPREAD) ** 2)
        era = np.where(np.isnan(self.forename_peak), 1.0, ERA_FLOOR + era)
        fits = (self.forename_group == group) & (self.forename_sex == sex)
        return np.where(fits, self.forename_weight * era, 0.0)


class Places:
    def __init__(self) -> None:
        districts = reference.postcode_districts()
        self.outward = districts["outward"].to_numpy()
        self.town = districts["town"].to_numpy()
        self.region = districts["region"].to_numpy()
        self.force = districts["force_code"].to_numpy()
        # Districts of the same town are contiguous in the file: first row and count per district.
        town_codes, self.town_of = np.unique(self.town, return_inverse=True)
        order = np.argsort(self.town_of, kind="stable")
        self.town_first = np.searchsorted(self.town_of[order], np.arange(len(town_codes)))
        self.town_size = np.bincount(self.town_of)
        self.town_order = order
        streets = reference.streets()
        self.streets = streets["street"].to_numpy()
        self.street_weight = streets["weight"].to_numpy()


def draw_surnames(rng: np.random.Generator, names: Names, female: np.ndarray) -> np.ndarray:
    """Index of a surname per person (KAUR and BEGUM only for women)."""
    surname = np.zeros(len(female), dtype=np.int64)
    for s, rows in (("M", np.flatnonzero(~female)), ("F", np.flatnonzero(female))):
        weights = np.where(np.isin(names.surname_sex, ["", s]), names.surname_weight, 0.0)
        surname[rows] = weighted_choice(rng, weights, len(rows))
    return surname


def draw_forenames(
    rng: np.random.Generator, names: Names, female: np.ndarray, birth_year: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Index of a forename per person, fitting their sex, era and (mostly) their surname's origin
    (``group``: index into ``names.groups``)."""
    english = names.english
    own_group = (group != english) & chance(rng, GROUP_FORENAME_SHARE, len(female))
    list_group = np.where(own_group, group, english)
    decade = np.asarray(birth_year) // 10
    # One weighted draw per (name group, sex, birth decade): rows sorted by that combination.
    combination = (list_group * 2 + female) * 1000 + decade
    order = np.argsort(combination, kind="stable")
    values, starts = np.unique(combination[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    result = np.zeros(len(female), dtype=np.int64)
    for value, first, last in zip(values, starts, ends):
        g, rest = divmod(int(value), 2000)
        s, d = divmod(rest, 1000)
        weights = names.forename_weights(names.groups[g], "MF"[s], d * 10 + 5)
        result[order[first:last]] = weighted_choice(rng, weights, last - first)
    return result


def draw_address(rng: np.random.Generator, places: Places, count: int, flat_share: float) -> dict[str, np.ndarray]:
    """Address parts (coded) anywhere in the postcode districts."""
    return _address_parts(rng, places, rng.integers(0, len(places.outward), count), flat_share)


def _address_parts(rng, places: Places, district: np.ndarray, flat_share: float) -> dict[str, np.ndarray]:
    count = len(district)
    # House numbers: mostly small, a few long roads.
    house = np.exp(rng.random(count) * np.log(300)).astype(np.int64)
    flat = np.where(chance(rng, flat_share, count), rng.integers(1, 31, count), 0)
    street = weighted_choice(rng, places.street_weight, count)
    inward = rng.integers(1 * 400, 10 * 400, count)  # digit 1–9 then two letters (20 each), coded
    return {"house": house, "flat": flat, "street": street, "district": district, "inward": inward}


def nearby_address(
    rng: np.random.Generator, places: Places, district: np.ndarray, flat_share: float
) -> dict[str, np.ndarray]:
    """A new address: half the time in the same town (people mostly move locally)."""
    count = len(district)
    town = places.town_of[district]
    local = places.town_order[
        places.town_first[town] + np.floor(rng.random(count) * places.town_size[town]).astype(np.int64)
    ]
    anywhere = rng.integers(0, len(places.outward), count)
    return _address_parts(rng, places, np.where(chance(rng, 0.5, count), local, anywhere), flat_share)


def address_text(places: Places, house, flat, street, district) -> pd.Series:
    """``12 High Street, Leeds`` or ``Flat 3, 12 High Street, Leeds``."""
    line = strs.join(strs.number(house), " ", strs.take(places.streets, street), ", ", strs.take(places.town, district))
    return strs.series(strs.choose(np.asarray(flat) > 0, strs.join("Flat ", strs.number(flat), ", ", line), line))


def postcode_text(places: Places, district, inward) -> pd.Series:
    """``LS6 3TJ``: the district's outward code and the coded inward part."""
    inward = np.asarray(inward, dtype=np.int64)
    return strs.series(
        strs.join(
            strs.take(places.outward, district),
            " ",
            strs.number(inward // 400),
            strs.take(_INWARD_LETTERS, (inward // 20) % 20),
            strs.take(_INWARD_LETTERS, inward % 20),
        )
    )


def draw_dates_of_birth(rng: np.random.Generator, start: np.datetime64, count: int) -> np.ndarray:
    band = weighted_choice(rng, [w for _, _, w in AGE_BANDS], count)
    low = np.array([lo for lo, _, _ in AGE_BANDS])[band]
    high = np.array([hi for _, hi, _ in AGE_BANDS])[band]
    age = low + np.floor(rng.random(count) * (high - low + 1)).astype(np.int64)
    # Born between (age+1) years and age years before the first night, exclusive of the far end.
    latest = start.astype("M8[D]") - (age * 36525 // 100).astype("m8[D]")
    return latest - np.floor(rng.random(count) * 365).astype(np.int64).astype("m8[D]")


def make_people(
    streams: Streams,
    count: int,
    *,
    first_number: int,
    start: np.datetime64,
    settings: GeneratorSettings,
    issuers: Issuers,
    label: str = "initial",
) -> pd.DataFrame:
    """``count`` new people numbered from ``first_number`` (person ids ``T0000001`` …), their
    identifiers issued by ``issuers`` (which remember what they issued before)."""
    rng = streams.rng("people", label)
    names, places = Names(), Places()
    male = chance(rng, settings.male_share, count)
    female = ~male
    dob = draw_dates_of_birth(rng, start, count)

    # Twins: the second of each pair takes the first's birth date, surname and (usually) address.
    pairs = rounded(rng, count * settings.twin_share / 2)
    chosen = rng.choice(count, size=2 * pairs, replace=False) if pairs else np.empty(0, dtype=np.int64)
    twin_a, twin_b = chosen[:pairs], chosen[pairs:]
    is_twin_b = np.zeros(count, dtype=bool)
    is_twin_b[twin_b] = True
    dob[twin_b] = dob[twin_a]
    birth_year = parts(dob)[0]

    surname = draw_surnames(rng, names, female)
    surname[twin_b] = surname[twin_a]
    group = np.searchsorted(names.groups, names.surname_group)[surname]
    second_surname = draw_surnames(rng, names, female)
    hyphenated = (
        chance(rng, settings.hyphenated_surname_share, count)
        & (group == names.english)
        & (second_surname != surname)
        & ~is_twin_b
    )
    surname_text = strs.take(names.surnames, surname)
    surname_text = strs.choose(
        hyphenated, strs.join(surname_text, "-", strs.take(names.surnames, second_surname)), surname_text
    )
    surname_text = strs.take(surname_text, np.where(is_twin_b, _twin_partner(count, twin_a, twin_b), np.arange(count)))

    def forenames_differing_from(other: np.ndarray, where: np.ndarray) -> np.ndarray:
        drawn = draw_forenames(rng, names, female, birth_year, group)
        for _ in range(8):  # a middle name equal to the first, a twin with the twin's name: draw again
            same = where & (drawn == other)
            if not same.any():
                break
            drawn[same] = draw_forenames(rng, names, female[same], birth_year[same], group[same])
        return drawn

    twin_name = np.full(count, -1)
    forename = forenames_differing_from(twin_name, np.zeros(count, dtype=bool))
    twin_name[twin_b] = forename[twin_a]
    forename = np.where(is_twin_b, forenames_differing_from(twin_name, is_twin_b), forename)

    has_middle = chance(rng, settings.middle_name_share, count)
    middle = forenames_differing_from(forename, has_middle)
    second_middle = forenames_differing_from(middle, has_middle)
    two_middles = has_middle & chance(rng, settings.second_middle_name_share, count) & (second_middle != forename)
    middle_text = strs.take(names.forenames, middle)
    middle_text = strs.choose(
        two_middles, strs.join(middle_text, " ", strs.take(names.forenames, second_middle)), middle_text
    )
    middle_text = strs.choose(has_middle, middle_text, "")

    has_alias = chance(rng, settings.alias_share, count)
    alias_surname = draw_surnames(rng, names, female)
    alias_forename = np.where(chance(rng, 0.6, count), forename, draw_forenames(rng, names, female, birth_year, group))

    home = draw_address(rng, places, count, settings.flat_address_share)
    same_home = chance(rng, 0.9, pairs)
    for part in home:
        home[part][twin_b] = np.where(same_home, home[part][twin_a], home[part][twin_b])
    previous = nearby_address(rng, places, home["district"], settings.flat_address_share)

    # First arrest (the PNC ID year) mostly in the late teens and twenties, never before age 10.
    start_year = int(str(start)[:4])
    age_now = start_year - birth_year
    first_arrest = 10 + np.round(rng.gamma(2.0, 6.0, count)).astype(np.int64)
    too_late = first_arrest > age_now
    first_arrest[too_late] = 10 + np.floor(rng.random(int(too_late.sum())) * (age_now[too_late] - 9)).astype(np.int64)
    pnc_year = np.minimum(birth_year + first_arrest, start_year)
    cro_year = np.minimum(pnc_year + rng.integers(0, 3, count), start_year)
    has_cro = chance(rng, CRO_SHARE, count)
    has_ni = chance(rng, NI_SHARE, count)
    pnc = ids.pnc_ids(issuers.pnc, pnc_year)
    cro = ids.cro_numbers(
        issuers.cro, issuers.sf_short, cro_year[has_cro], chance(rng, SF_SHARE, int(has_cro.sum())), rng
    )
    ni = ids.ni_numbers(issuers.ni, int(has_ni.sum()))

    person_ids = strs.join("T", strs.padded(np.arange(first_number, first_number + count), 7))
    partner = _twin_partner(count, twin_a, twin_b)
    is_twin = partner >= 0
    twin_of = strs.choose(is_twin, strs.take(person_ids, np.maximum(partner, 0)), "")

    people = pd.DataFrame(
        {
            "person_id": strs.series(person_ids),
            "sex": strs.series(strs.take(["F", "M"], male.astype(np.int64))),
            "dob": dob.astype("M8[s]"),
            "forename": strs.series(strs.take(names.forenames, forename)),
            "middle": strs.series(middle_text),
            "surname": strs.series(surname_text),
            "alias_surname": strs.series(strs.choose(has_alias, strs.take(names.surnames, alias_surname), "")),
            "alias_forename": strs.series(strs.choose(has_alias, strs.take(names.forenames, alias_forename), "")),
            "group": strs.series(strs.take(names.groups, group)),
            **{f"home_{k}": v for k, v in home.items()},
            **{f"prev_{k}": v for k, v in previous.items()},
            "pnc": pnc,
            "cro": strs.series(_spread(cro, has_cro)),
            "ni": strs.series(_spread(ni, has_ni)),
            "noms": strs.series(strs.repeat("", count)),
            "nominal_type": strs.series(strs.take(NOMINAL_TYPES, weighted_choice(rng, NOMINAL_TYPE_WEIGHTS, count))),
            "mappa_category": np.zeros(count, dtype=np.int8),
            "mappa_level": np.zeros(count, dtype=np.int8),
            "risk": strs.series(strs.take(RISK_LEVELS, weighted_choice(rng, RISK_WEIGHTS, count))),
            "twin_of": strs.series(twin_of),
        }
    )
    return people


def _spread(values: pd.Series, present: np.ndarray):
    """Values for the rows where ``present`` holds, blank elsewhere."""
    slot = np.cumsum(present) - 1
    return strs.choose(present, strs.take(strs.arrow(values), np.maximum(slot, 0)) if len(values) else "", "")


class Issuers:
    """The identifier issuers, kept for the whole run so later nights never reissue a number."""

    def __init__(self, streams: Streams):
        self.pnc = ids.Issuer(streams, "pnc", ids.PNC_SERIALS[1] - ids.PNC_SERIALS[0] + 1)
        self.cro = ids.Issuer(streams, "cro", ids.CRO_SERIALS[1] - ids.CRO_SERIALS[0] + 1)
        self.sf_short = ids.Issuer(streams, "sf_short", ids.SF_SHORT_SERIALS[1] - ids.SF_SHORT_SERIALS[0] + 1)
        self.ni = ids.Issuer(streams, "ni", ids.NI_SPACE)
        self.noms = ids.Issuer(streams, "noms", ids.NOMS_SPACE)
        self.crn = ids.Issuer(streams, "crn", ids.CRN_SPACE)
        self.booking = ids.Issuer(streams, "booking", ids.BOOKING_SPACE)
        self.nominal_ref = 0  # NOMINAL_REFs are issued in sequence

    def noms_numbers(self, count: int) -> pd.Series:
        return ids.noms_numbers(self.noms.issue(np.zeros(count, dtype=np.int64)))

    def crns(self, count: int) -> pd.Series:
        return ids.crns(self.crn.issue(np.zeros(count, dtype=np.int64)))

    def booking_numbers(self, count: int) -> pd.Series:
        return ids.booking_numbers(self.booking.issue(np.zeros(count, dtype=np.int64)))

    def nominal_refs(self, count: int, rng: np.random.Generator) -> pd.Series:
        """The next ``count`` references, handed out in random order (an extract is not in
        registration order, and a duplicate registration must not sit next to the first)."""
        refs = ids.nominal_refs(self.nominal_ref + rng.permutation(count))
        self.nominal_ref += count
        return refs


def _twin_partner(count: int, twin_a: np.ndarray, twin_b: np.ndarray) -> np.ndarray:
    """Position of each person's twin, -1 for people without one."""
    partner = np.full(count, -1, dtype=np.int64)
    partner[twin_a], partner[twin_b] = twin_b, twin_a
    return partner


def assign_mappa(
    rng: np.random.Generator, nominal_type: np.ndarray, in_police: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """MAPPA category and level (0 = none): police nominals follow their type (RSO→1, VO→2,
    PDP→3 or none); people known only to probation and prisons are drawn from the overall mix."""
    count = len(nominal_type)
    police_category = np.select(
        [nominal_type == "RSO", nominal_type == "VO", chance(rng, 0.4, count)], [1, 2, 3], default=0
    )
    other_category = weighted_choice(rng, OTHER_MAPPA_WEIGHTS, count)
    category = np.where(in_police, police_category, other_category).astype(np.int8)
    level = (1 + weighted_choice(rng, MAPPA_LEVEL_WEIGHTS, count)).astype(np.int8)
    return category, np.where(category > 0, level, 0).astype(np.int8)
