"""Probation feed (nDelius style, docs/feeds/probation.md): one record per case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import strs
from .dates import DAY, ISO, add_years, format_dates, format_timestamps
from .prison import issue_noms
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
    stamps,
    with_blanks,
)

FEED = "probation"
FILE = "offenders_{date}.psv"
COLUMNS = (
    "CRN", "PNC", "CRO", "NOMS", "FIRST_NAME", "SECOND_NAME", "SURNAME", "DATE_OF_BIRTH", "GENDER", "NI_NUMBER",
    "ADDRESS", "POSTCODE", "MAPPA_CATEGORY", "MAPPA_LEVEL", "ROSH", "OASYS_DATE", "PROBATION_AREA",
    "OFFENDER_MANAGER", "CUSTODY_STATUS", "SENTENCE_DATE", "LICENCE_END", "LAST_UPDATED",
)  # fmt: skip
# Columns that could hold a '|' or line break if a bug let one in: checked before writing.
FREE_TEXT = frozenset(
    {"FIRST_NAME", "SECOND_NAME", "SURNAME", "ADDRESS", "POSTCODE", "OFFENDER_MANAGER", "PROBATION_AREA"}
)
IN_CUSTODY, LICENCE, COMMUNITY, PSS = (
    "In Custody",
    "Released on Licence",
    "Community Order",
    "Post Sentence Supervision",
)
ROSH = {"LOW": "Low", "MEDIUM": "Medium", "HIGH": "High", "VERY HIGH": "Very High"}
ROSH_LEVELS = np.array(list(ROSH.values()))
ROSH_DIFFERS = 0.2  # probation's risk rating is its own: one level away from the police view this often
LICENCE_END_BLANK = 0.05
STAFF_PER_CASES = 40  # one offender manager for this many cases


def custody_status(custody, persons: np.ndarray, rng: np.random.Generator, today: np.datetime64) -> np.ndarray:
    """Probation's view of custody, consistent with the person's latest prison booking
    (``custody``: ``World.custody()``)."""
    state, _, release = custody
    state, release = state[persons], release[persons]
    u = rng.random(len(persons))
    recent = (today - release) <= 730 * DAY
    released = np.where(
        recent, np.where(u < 0.7, LICENCE, PSS), np.where(u < 0.4, COMMUNITY, np.where(u < 0.7, LICENCE, PSS))
    )
    never = np.where(u < 0.8, COMMUNITY, np.where(u < 0.9, LICENCE, PSS))
    return np.select(
        [(state == ACTIVE_IN) | (state == ACTIVE_OUT), state == RELEASED], [IN_CUSTODY, released], default=never
    ).astype(object)


def sentence_and_licence(world: World, custody, persons, status, rng, today) -> tuple[np.ndarray, np.ndarray]:
    """Sentence date and end of licence or order (NaT: none), consistent with the custody status."""
    n = len(persons)
    _, reception, release = custody
    reception, release = reception[persons], release[persons]
    adult = adult_from(world.person_column("dob", persons))
    in_prison_record = ~np.isnat(reception)
    sentenced = np.where(
        in_prison_record,
        reception - rng.integers(0, 31, n) * DAY,
        today - exponential_days(rng, 400, n, high=5 * 365) * DAY,
    )
    sentenced = np.minimum(np.maximum(sentenced, adult), today)
    term = exponential_days(rng, 700, n, low=180, high=8 * 365) * DAY
    after_release = np.where(np.isnat(release), np.datetime64("NaT"), release + term)
    current = today + exponential_days(rng, 400, n, low=30, high=5 * 365) * DAY
    licence_end = np.select(
        [status == IN_CUSTODY, status == PSS],
        [after_release, add_years(np.where(np.isnat(release), today, release), 1)],
        default=np.where(in_prison_record & (status == LICENCE), after_release, sentenced + term),
    )
    # A live case's licence or order has not ended yet (except In Custody with no release date).
    licence_end = np.where(~np.isnat(licence_end) & (licence_end <= max(today, world.last_night)), current, licence_end)
    licence_end = np.where(chance(rng, LICENCE_END_BLANK, n), np.datetime64("NaT"), licence_end)
    return sentenced, licence_end


def offender_managers(world: World, rng: np.random.Generator, count: int) -> pd.Series:
    """Picks from a pool of staff (synthetic names, ``Surname, Forename``) made on first use."""
    if world.staff is None:
        size = max(50, len(world.people) * 70 // 100 // STAFF_PER_CASES)
        names = world.names
        male = chance(rng, 0.4, size)  # most probation officers are women
        surname = strs.take(
            names.surnames, weighted_choice(rng, names.surname_weight * (names.surname_sex == ""), size)
        )
        pool = np.flatnonzero((names.forename_group == "en") & np.isin(names.forename_sex, ["F", "M"]))
        forename_sex = names.forename_sex[pool]
        weights = names.forename_weight[pool]
        forename = np.where(
            male,
            pool[weighted_choice(rng, weights * (forename_sex == "M"), size)],
            pool[weighted_choice(rng, weights * (forename_sex == "F"), size)],
        )
        staff = strs.join(pc.utf8_title(surname), ", ", pc.utf8_title(strs.take(names.forenames, forename)))
        world.staff = strs.series(staff)
    return strs.series(strs.arrow(world.staff).take(rng.integers(0, len(world.staff), count)))


def mappa_text(category: np.ndarray, level: np.ndarray) -> tuple[pd.Series, pd.Series]:
    return (
        strs.series(strs.take(["", "M1", "M2", "M3"], category)),
        strs.series(strs.take(["", "L1", "L2", "L3"], level)),
    )


def build(
    world: World,
    persons: np.ndarray,
    today: np.datetime64,
    rng: np.random.Generator,
    duplicate: np.ndarray | None = None,
) -> pd.DataFrame:
    """Cases for these people (a person listed twice gets two CRNs: ``duplicate`` marks the
    extra ones)."""
    settings = world.settings
    persons = np.asarray(persons, dtype=np.int64)
    n = len(persons)
    record = identity(world, persons)
    record["middle"] = record["middle"].str.split(" ").str[0].fillna("")  # nDelius keeps one middle name
    custody = world.custody()
    status = custody_status(custody, persons, rng, today)
    custodial_history = status != COMMUNITY
    issue_noms(world, persons[custodial_history])
    noms = world.person_text("noms", persons)
    sentenced, licence_end = sentence_and_licence(world, custody, persons, status, rng, today)
    category, level = mappa_text(
        world.person_column("mappa_category", persons), world.person_column("mappa_level", persons)
    )
    risk = pd.Series(world.person_column("risk", persons)).map({r: i for i, r in enumerate(ROSH)}).to_numpy(np.int64)
    shift = np.where(chance(rng, ROSH_DIFFERS, n), np.where(chance(rng, 0.5, n), -1, 1), 0)
    rosh = ROSH_LEVELS[np.clip(risk + shift, 0, 3)]
    oasys = np.maximum(sentenced, today - exponential_days(rng, 300, n, low=0, high=730) * DAY)
    unknown = chance(rng, settings.sex_unknown, n)
    gender = np.where(unknown, "Not Known", np.where(world.person_column("sex", persons) == "F", "Female", "Male"))
    region = world.places.region[world.person_column("home_district", persons)]
    return pd.DataFrame(
        {
            "key": world.issuers.crns(n),
            **record,
            "dup": np.zeros(n, dtype=bool) if duplicate is None else duplicate,
            "sex": strs.series(gender),
            "pnc": with_blanks(world.person_text("pnc", persons), rng, settings.probation_pnc_blank),
            "cro": with_blanks(world.person_text("cro", persons), rng, settings.probation_cro_blank),
            "noms": noms,
            "ni": with_blanks(world.person_text("ni", persons), rng, settings.probation_ni_blank),
            "mappa_category": category,
            "mappa_level": level,
            "rosh": strs.series(rosh),
            "oasys_date": oasys.astype("M8[s]"),
            "area": strs.series(region),
            "manager": offender_managers(world, rng, n),
            "custody_status": strs.series(status.astype(str)),
            "sentence_date": sentenced.astype("M8[s]"),
            "licence_end": licence_end.astype("M8[s]"),
            "last_updated": stamps(rng, days_between(rng, oasys, today)),
        }
    )


def render(records: pd.DataFrame) -> dict[str, pa.Array]:
    return {
        "CRN": strs.arrow(records["key"]),
        "PNC": strs.arrow(records["pnc"]),
        "CRO": strs.arrow(records["cro"]),
        "NOMS": strs.arrow(records["noms"]),
        "FIRST_NAME": pc.utf8_title(strs.arrow(records["forename"])),
        "SECOND_NAME": pc.utf8_title(strs.arrow(records["middle"])),
        "SURNAME": pc.utf8_title(strs.arrow(records["surname"])),
        "DATE_OF_BIRTH": format_dates(records["dob"].to_numpy(), ISO),
        "GENDER": strs.arrow(records["sex"]),
        "NI_NUMBER": strs.arrow(records["ni"]),
        "ADDRESS": strs.arrow(records["address"]),
        "POSTCODE": strs.arrow(records["postcode"]),
        "MAPPA_CATEGORY": strs.arrow(records["mappa_category"]),
        "MAPPA_LEVEL": strs.arrow(records["mappa_level"]),
        "ROSH": strs.arrow(records["rosh"]),
        "OASYS_DATE": format_dates(records["oasys_date"].to_numpy(), ISO),
        "PROBATION_AREA": strs.arrow(records["area"]),
        "OFFENDER_MANAGER": strs.arrow(records["manager"]),
        "CUSTODY_STATUS": strs.arrow(records["custody_status"]),
        "SENTENCE_DATE": format_dates(records["sentence_date"].to_numpy(), ISO),
        "LICENCE_END": format_dates(records["licence_end"].to_numpy(), ISO),
        "LAST_UPDATED": format_timestamps(records["last_updated"].to_numpy(), ISO, "T"),
    }
