"""Error injection: each kind of defect, which records it can hit, and what it does to them.

Every injected error is logged as ``(key, field, error)`` for truth/<night>/errors.csv. ``field``
is the canonical field the error is in (for name swaps: ``surname``; for a stale address: ``address``,
the postcode moving with it; for a duplicate: ``source_key``, or ``noms_number`` for a second prison
number). Errors are injected into records as they are built; they then stay on the record from
night to night until an update rewrites that field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from nominal import reference

from . import ids, strs, textops
from .dates import DAY, add_years, make_dates, parts, valid_date
from .records import ACTIVE_IN, World, home_address, home_postcode, set_at
from .settings import GeneratorSettings

ERROR_COLUMNS = ("key", "field", "error")

PHONETIC_RULES = (
    ("PH", "F"),
    ("([AEIOU])F", r"\1PH"),
    ("CK", "K"),
    ("([AEIOU])K", r"\1CK"),
    ("Y", "I"),
    ("([^AEIOU])I([^AEIOU])", r"\1Y\2"),
    ("^C([AOU])", r"K\1"),
    ("^K([AOU])", r"C\1"),
    ("EI", "IE"),
    ("IE", "EI"),
    ("SON$", "SEN"),
    ("EY$", "IE"),
    *((letter * 2, letter) for letter in "LNTSRMPDF"),
    *((f"([AEIOU]){letter}([AEIOU])", rf"\1{letter}{letter}\2") for letter in "LNTR"),
)
OCR_RULES = (
    ("RN", "M"),
    ("M", "RN"),
    ("CL", "D"),
    ("D", "CL"),
    ("O", "Q"),
    ("Q", "O"),
    ("I", "L"),
    ("L", "I"),
    ("L", "1"),
    ("O", "0"),
    ("I", "1"),
    ("S", "5"),
    ("B", "8"),
)
SEX_FLIP = {"M": "F", "F": "M", "Male": "Female", "Female": "Male"}


@dataclass
class Batch:
    """Records of one feed being built, with what the error kinds need to know about them."""

    world: World
    feed: str
    records: pd.DataFrame  # positional index 0..n-1
    today: np.datetime64
    custody_state: np.ndarray  # per person (World.custody)
    in_police: np.ndarray  # per person
    corrupted: dict[str, np.ndarray] = field(default_factory=dict)  # identifier field → rows already hit

    @property
    def persons(self) -> np.ndarray:
        return self.records["person"].to_numpy()

    def put(self, column: str, rows: np.ndarray, values) -> None:
        set_at(self.records, column, rows, values)

    def text(self, column: str, rows: np.ndarray) -> pd.Series:
        return self.records[column].iloc[rows].reset_index(drop=True)


@dataclass(frozen=True)
class Injected:
    rows: np.ndarray  # positions that got the error
    field: str | np.ndarray  # canonical field name, per row when it varies


@dataclass(frozen=True)
class ErrorKind:
    code: str
    rate: Callable[[GeneratorSettings, str], float]  # share of eligible records; 0: not in this feed
    eligible: Callable[[Batch], np.ndarray]
    inject: Callable[[Batch, np.ndarray, np.random.Generator], Injected]
    identifier: str | None = None  # identifier errors: at most one per identifier of a record


def _everyone(batch: Batch) -> np.ndarray:
    return np.ones(len(batch.records), dtype=bool)


def _only(*feeds: str, rate: Callable[[GeneratorSettings], float]) -> Callable[[GeneratorSettings, str], float]:
    return lambda settings, feed: rate(settings) if feed in feeds else 0.0


def _all_feeds(rate: Callable[[GeneratorSettings], float]) -> Callable[[GeneratorSettings, str], float]:
    return lambda settings, feed: rate(settings)


# --- names -------------------------------------------------------------------------------------

NAME_FIELD = {"surname": "surname", "forename": "forenames", "middle": "forenames"}


def _pick_name_column(rng, count: int) -> np.ndarray:
    return np.where(rng.random(count) < 0.55, "surname", "forename")


def _edit_names(batch: Batch, rows: np.ndarray, rng, edit: Callable[[pd.Series], pd.Series]) -> Injected:
    """Apply ``edit`` to the surname or first forename of each row; log the ones it changed."""
    column = _pick_name_column(rng, len(rows))
    changed_rows, fields = [], []
    for name in ("surname", "forename"):
        target = rows[column == name]
        if not len(target):
            continue
        before = batch.text(name, target)
        after = edit(before)
        changed = (after != before).to_numpy() & before.ne("").to_numpy()
        batch.put(name, target[changed], after[changed].to_numpy())
        changed_rows.append(target[changed])
        fields += [NAME_FIELD[name]] * int(changed.sum())
    return Injected(np.concatenate(changed_rows) if changed_rows else rows[:0], np.array(fields, dtype=object))


def typo(batch: Batch, rows: np.ndarray, rng) -> Injected:
    return _edit_names(batch, rows, rng, lambda s: pd.Series(textops.typos(s.to_numpy(dtype=str), rng)[0], dtype="str"))


def phonetic(batch: Batch, rows: np.ndarray, rng) -> Injected:
    return _edit_names(batch, rows, rng, lambda s: textops.apply_rules(s, PHONETIC_RULES, rng))


def ocr_slip(batch: Batch, rows: np.ndarray, rng) -> Injected:
    return _edit_names(batch, rows, rng, lambda s: textops.apply_rules(s, OCR_RULES, rng))


class Nicknames:
    """The nickname table as arrays: formal names and, per formal name, a run of nicknames."""

    def __init__(self) -> None:
        pairs = reference.nicknames().sort_values(["name", "nickname"], kind="stable")
        self.formal, self.first, self.count = np.unique(pairs["name"].to_numpy(), return_index=True, return_counts=True)
        self.nicknames = pairs["nickname"].to_numpy()
        self.index = pd.Index(self.formal)

    def lookup(self, names: pd.Series) -> np.ndarray:
        """Position of each name among the formal names, -1 if it has no nickname."""
        return self.index.get_indexer(names.astype("str"))


_NICKNAMES: Nicknames | None = None


def nicknames() -> Nicknames:
    global _NICKNAMES
    if _NICKNAMES is None:
        _NICKNAMES = Nicknames()
    return _NICKNAMES


def has_nickname(batch: Batch) -> np.ndarray:
    return nicknames().lookup(batch.records["forename"]) >= 0


def nickname(batch: Batch, rows: np.ndarray, rng) -> Injected:
    table = nicknames()
    formal = table.lookup(batch.text("forename", rows))
    pick = table.first[formal] + np.floor(rng.random(len(rows)) * table.count[formal]).astype(np.int64)
    batch.put("forename", rows, table.nicknames[pick])
    return Injected(rows, "forenames")


def has_forename(batch: Batch) -> np.ndarray:
    return batch.records["forename"].ne("").to_numpy()


def name_swap(batch: Batch, rows: np.ndarray, rng) -> Injected:
    surname, forename = batch.text("surname", rows), batch.text("forename", rows)
    batch.put("surname", rows, forename.to_numpy())
    batch.put("forename", rows, surname.to_numpy())
    return Injected(rows, "surname")


def forenames_in_surname(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """All the names in the surname column (``JOHN PAUL SMITH``), the forename columns empty."""
    names = batch.text("forename", rows) + " " + batch.text("middle", rows) + " " + batch.text("surname", rows)
    batch.put("surname", rows, names.str.replace(r"\s+", " ", regex=True).str.strip().to_numpy())
    batch.put("forename", rows, np.full(len(rows), ""))
    batch.put("middle", rows, np.full(len(rows), ""))
    return Injected(rows, "surname")


def has_middle(batch: Batch) -> np.ndarray:
    return batch.records["middle"].ne("").to_numpy() & has_forename(batch)


def middle_first_swap(batch: Batch, rows: np.ndarray, rng) -> Injected:
    first, middle = batch.text("forename", rows), batch.text("middle", rows)
    batch.put("forename", rows, middle.to_numpy())
    batch.put("middle", rows, first.to_numpy())
    return Injected(rows, "forenames")


def has_alias(batch: Batch) -> np.ndarray:
    alias = strs.arrow(batch.world.people["alias_surname"]).take(batch.persons)
    other_name = pc.and_(pc.not_equal(alias, ""), pc.not_equal(alias, strs.arrow(batch.records["surname"])))
    return other_name.to_numpy(zero_copy_only=False)


def alias_as_name(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """The record is in the alias; where the feed lists aliases, the true name is listed."""
    persons = batch.persons[rows]
    true_surname, true_forename = batch.text("surname", rows), batch.text("forename", rows)
    batch.put("surname", rows, batch.world.person_column("alias_surname", persons))
    batch.put("forename", rows, batch.world.person_column("alias_forename", persons))
    batch.put("middle", rows, np.full(len(rows), ""))
    if "alias_surname" in batch.records:
        batch.put("alias_surname", rows, true_surname.to_numpy())
        batch.put("alias_forename", rows, true_forename.to_numpy())
    return Injected(rows, "surname")


# --- dates of birth, sex ------------------------------------------------------------------------


def transposable(batch: Batch) -> np.ndarray:
    _, month, day = parts(batch.records["dob"].to_numpy())
    return (day <= 12) & (day != month)


def dob_transposed(batch: Batch, rows: np.ndarray, rng) -> Injected:
    year, month, day = parts(batch.records["dob"].to_numpy()[rows])
    batch.put("dob", rows, make_dates(year, day, month).astype("M8[s]"))
    return Injected(rows, "date_of_birth")


def dob_digit(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """One digit of the date of birth mistyped: the last digit of the year, or of the day."""
    year, month, day = parts(batch.records["dob"].to_numpy()[rows])
    new_year = year - year % 10 + (year % 10 + rng.integers(1, 10, len(rows))) % 10
    new_day = day - day % 10 + (day % 10 + rng.integers(1, 10, len(rows))) % 10
    year_ok = valid_date(new_year, month, day) & (new_year <= int(str(batch.today)[:4]) - 12)
    day_ok = valid_date(year, month, new_day)
    use_year = year_ok & ((rng.random(len(rows)) < 0.6) | ~day_ok)
    ok = year_ok | day_ok
    dates = make_dates(np.where(use_year, new_year, year), month, np.where(use_year | ~day_ok, day, new_day))
    batch.put("dob", rows[ok], dates[ok].astype("M8[s]"))
    return Injected(rows[ok], "date_of_birth")


def known_sex(batch: Batch) -> np.ndarray:
    return strs.is_in(batch.records["sex"], list(SEX_FLIP))


def sex_differs(batch: Batch, rows: np.ndarray, rng) -> Injected:
    batch.put("sex", rows, batch.text("sex", rows).map(SEX_FLIP).to_numpy())
    return Injected(rows, "sex")


# --- identifiers ---------------------------------------------------------------------------------

ID_COLUMN = {"pnc_id": "pnc", "cro_number": "cro", "ni_number": "ni", "noms_number": "noms"}


def present(field: str) -> Callable[[Batch], np.ndarray]:
    """Records sending this identifier, not yet corrupted by another identifier error."""

    def eligible(batch: Batch) -> np.ndarray:
        sent = ~strs.equals(batch.records[ID_COLUMN[field]], "")
        return sent & ~batch.corrupted.get(field, np.zeros(len(sent), dtype=bool))

    return eligible


def break_check(field: str):
    def inject(batch: Batch, rows: np.ndarray, rng) -> Injected:
        batch.put(ID_COLUMN[field], rows, ids.break_check(batch.text(ID_COLUMN[field], rows), rng).to_numpy())
        return Injected(rows, field)

    return inject


def malform(field: str):
    def inject(batch: Batch, rows: np.ndarray, rng) -> Injected:
        batch.put(ID_COLUMN[field], rows, ids.malformed(batch.text(ID_COLUMN[field], rows), field, rng).to_numpy())
        return Injected(rows, field)

    return inject


def someone_elses(field: str):
    """An identifier of another person keyed by mistake (well formed, check letter right)."""

    def inject(batch: Batch, rows: np.ndarray, rng) -> Injected:
        column = ID_COLUMN[field]
        values = batch.world.people[column]
        owners = np.flatnonzero(~strs.equals(values, ""))
        if len(owners) < 2:
            return Injected(rows[:0], field)
        chosen = ids.other_people(batch.persons[rows], owners, rng)
        batch.put(column, rows, strs.values_at(values, chosen))
        return Injected(rows, field)

    return inject


# --- addresses -----------------------------------------------------------------------------------


def stale_address(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """The person's previous address (and postcode), never updated."""
    persons = batch.persons[rows]
    batch.put("address", rows, home_address(batch.world, persons, "prev").to_numpy())
    batch.put("postcode", rows, home_postcode(batch.world, persons, "prev").to_numpy())
    return Injected(rows, "address")


def embedded_newline(batch: Batch, rows: np.ndarray, rng) -> Injected:
    addresses = batch.text("address", rows)
    batch.put("address", rows, addresses.str.replace(", ", "\n", n=1, regex=False).to_numpy())
    return Injected(rows, "address")


def trailing_space(batch: Batch, rows: np.ndarray, rng) -> Injected:
    choices = ["surname", "forename"] + (["address"] if "address" in batch.records else [])
    column = np.array(choices)[rng.integers(0, len(choices), len(rows))]
    done, fields = [], []
    for name in choices:
        target = rows[column == name]
        values = batch.text(name, target)
        ok = values.ne("").to_numpy() & ~values.str.endswith(" ").to_numpy(bool)
        batch.put(name, target[ok], (values[ok] + " ").to_numpy())
        done.append(target[ok])
        fields += [NAME_FIELD.get(name, name)] * int(ok.sum())
    return Injected(np.concatenate(done), np.array(fields, dtype=object))


# --- case details that disagree between feeds ---------------------------------------------------


def known_to_police(batch: Batch) -> np.ndarray:
    return batch.in_police[batch.persons]


def mappa_differs(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """Probation's MAPPA category or level is not police's."""
    category = batch.text("mappa_category", rows).to_numpy(dtype=str)
    level = batch.text("mappa_level", rows).to_numpy(dtype=str)
    has = category != ""
    change_level = has & (rng.random(len(rows)) < 0.5)
    step = rng.integers(1, 3, len(rows))

    def shifted(values, prefix):
        number = np.char.lstrip(values.astype(str), prefix).astype(np.int64)
        return np.char.add(prefix, ((number - 1 + step) % 3 + 1).astype(str))

    new_category = np.where(has, np.where(change_level, category, shifted(np.where(has, category, "M1"), "M")), "M3")
    new_level = np.where(has, np.where(change_level, shifted(np.where(has, level, "L1"), "L"), level), "L1")
    batch.put("mappa_category", rows, new_category)
    batch.put("mappa_level", rows, new_level)
    return Injected(rows, np.where(change_level, "mappa_level", "mappa_category").astype(object))


def registered_sex_offender(batch: Batch) -> np.ndarray:
    return (batch.records["nominal_type"].to_numpy() == "RSO") & ~np.isnat(batch.records["last_notified"].to_numpy())


def overdue_notification(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """Last notified more than a year ago: the notification due date has passed."""
    notified = batch.today - rng.integers(380, 900, len(rows)) * DAY
    registered = batch.records["registration_start"].to_numpy()[rows].astype("M8[D]")
    registered = np.minimum(registered, notified - rng.integers(30, 2000, len(rows)) * DAY)
    batch.put("registration_start", rows, registered.astype("M8[s]"))
    batch.put("last_notified", rows, notified.astype("M8[s]"))
    batch.put("notification_due", rows, add_years(notified, 1).astype("M8[s]"))
    return Injected(rows, "notification_due")


def active_in_received_earlier(batch: Batch) -> np.ndarray:
    reception = batch.records["reception_date"].to_numpy().astype("M8[D]")
    return strs.equals(batch.records["status"], "ACTIVE IN") & (reception < batch.today - 2 * DAY)


def release_passed_active_in(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """Still ACTIVE IN, yet the release date has passed."""
    reception = batch.records["reception_date"].to_numpy()[rows].astype("M8[D]")
    release = np.maximum(batch.today - rng.integers(1, 200, len(rows)) * DAY, reception + DAY)
    batch.put("release_date", rows, release.astype("M8[s]"))
    return Injected(rows, "release_date")


def in_custody_per_prison(batch: Batch) -> np.ndarray:
    return (batch.custody_state[batch.persons] == ACTIVE_IN) & strs.equals(
        batch.records["custody_status"], "In Custody"
    )


def custody_conflict(batch: Batch, rows: np.ndarray, rng) -> Injected:
    """Probation says released or on a community order while the prison booking is ACTIVE IN."""
    batch.put("custody_status", rows, np.where(rng.random(len(rows)) < 0.6, "Released on Licence", "Community Order"))
    return Injected(rows, "custody_status")


def has_address(batch: Batch) -> np.ndarray:
    return batch.records["address"].ne("").to_numpy()


# --- the catalogue, in the order errors are applied -----------------------------------------------

ERROR_KINDS: tuple[ErrorKind, ...] = (
    ErrorKind("alias_as_name", _all_feeds(lambda s: s.alias_as_name), has_alias, alias_as_name),
    ErrorKind("name_swap", _all_feeds(lambda s: s.name_swap), has_forename, name_swap),
    ErrorKind(
        "middle_first_swap", _only("probation", rate=lambda s: s.middle_first_swap), has_middle, middle_first_swap
    ),
    ErrorKind(
        "nickname",
        lambda s, feed: s.nickname_probation if feed == "probation" else s.nickname_other,
        has_nickname,
        nickname,
    ),
    ErrorKind("typo", _all_feeds(lambda s: s.typo), _everyone, typo),
    ErrorKind("phonetic", _all_feeds(lambda s: s.phonetic), _everyone, phonetic),
    ErrorKind(
        "ocr_slip", lambda s, feed: s.ocr_slip_prison if feed == "prison" else s.ocr_slip_other, _everyone, ocr_slip
    ),
    ErrorKind(
        "forenames_in_surname",
        _only("police", rate=lambda s: s.forenames_in_surname),
        has_forename,
        forenames_in_surname,
    ),
    ErrorKind("dob_transposed", _all_feeds(lambda s: s.dob_transposed), transposable, dob_transposed),
    ErrorKind("dob_digit", _all_feeds(lambda s: s.dob_digit), _everyone, dob_digit),
    ErrorKind("sex_differs", _all_feeds(lambda s: s.sex_differs), known_sex, sex_differs),
    *(
        ErrorKind("id_check_letter", _all_feeds(lambda s: s.id_check_letter), present(f), break_check(f), f)
        for f in ("pnc_id", "cro_number")
    ),
    *(
        ErrorKind("id_other_person", _all_feeds(lambda s: s.id_other_person), present(f), someone_elses(f), f)
        for f in ("pnc_id", "cro_number")
    ),
    ErrorKind(
        "id_other_person",
        _only("probation", rate=lambda s: s.noms_other_person),
        present("noms_number"),
        someone_elses("noms_number"),
        "noms_number",
    ),
    *(
        ErrorKind("id_bad_format", _all_feeds(lambda s: s.id_bad_format), present(f), malform(f), f)
        for f in ("pnc_id", "cro_number")
    ),
    *(
        ErrorKind("id_bad_format", _only("probation", rate=lambda s: s.id_bad_format), present(f), malform(f), f)
        for f in ("ni_number", "noms_number")
    ),
    ErrorKind("stale_address", _only("police", "probation", rate=lambda s: s.stale_address), _everyone, stale_address),
    ErrorKind("mappa_differs", _only("probation", rate=lambda s: s.mappa_differs), known_to_police, mappa_differs),
    ErrorKind(
        "overdue_notification",
        _only("police", rate=lambda s: s.overdue_notification),
        registered_sex_offender,
        overdue_notification,
    ),
    ErrorKind(
        "release_passed_active_in",
        _only("prison", rate=lambda s: s.release_passed_active_in),
        active_in_received_earlier,
        release_passed_active_in,
    ),
    ErrorKind(
        "custody_conflict",
        _only("probation", rate=lambda s: s.custody_conflict),
        in_custody_per_prison,
        custody_conflict,
    ),
    ErrorKind("trailing_space", _all_feeds(lambda s: s.trailing_space), _everyone, trailing_space),
    ErrorKind("embedded_newline", _only("police", rate=lambda s: s.embedded_newline), has_address, embedded_newline),
)
CODES = tuple(dict.fromkeys(kind.code for kind in ERROR_KINDS)) + ("duplicate_record",)


def forced_rates(batch: Batch) -> dict[str, np.ndarray]:
    """Duplicates are mostly made by mistyping: extra chances of a name typo (probation) and a
    mistyped date of birth (police and probation) on the extra records."""
    settings = batch.world.settings
    dup = batch.records["dup"].to_numpy()
    extra: dict[str, np.ndarray] = {}
    if batch.feed == "probation":
        extra["typo"] = dup * settings.duplicate_misspelled
    if batch.feed in ("police", "probation"):
        extra["dob_digit"] = dup * settings.duplicate_dob_error
    return extra


def inject(batch: Batch, rng: np.random.Generator) -> pd.DataFrame:
    """Inject every kind of error into the batch's records (edited in place); return the log."""
    settings = batch.world.settings
    count = len(batch.records)
    forced = forced_rates(batch)
    logs = [_duplicates_log(batch)]
    for kind in ERROR_KINDS:
        base = kind.rate(settings, batch.feed)
        chance = base + forced.get(kind.code, 0.0)
        draws = rng.random(count)  # drawn whatever the rate, so other kinds' draws stay put
        if not np.any(chance):
            continue
        chosen = np.flatnonzero((draws < chance) & kind.eligible(batch))
        if not len(chosen):
            continue
        done = kind.inject(batch, chosen, rng)
        if kind.identifier:
            hit = batch.corrupted.setdefault(kind.identifier, np.zeros(count, dtype=bool))
            hit[done.rows] = True
        keys = strs.values_at(batch.records["key"], done.rows)
        logs.append(pd.DataFrame({"key": keys, "field": done.field, "error": kind.code}))
    return pd.concat(logs, ignore_index=True).astype("str")


def _duplicates_log(batch: Batch) -> pd.DataFrame:
    dup = np.flatnonzero(batch.records["dup"].to_numpy())
    keys = strs.values_at(batch.records["key"], dup)
    if batch.feed == "prison":  # received under an alias: the alias as name and a second prison number
        return pd.DataFrame(
            {
                "key": np.concatenate([keys, keys]),
                "field": ["surname"] * len(keys) + ["noms_number"] * len(keys),
                "error": ["alias_as_name"] * len(keys) + ["duplicate_record"] * len(keys),
            }
        )
    return pd.DataFrame({"key": keys, "field": "source_key", "error": "duplicate_record"})


def vary_formats(batch: Batch, rng: np.random.Generator) -> None:
    """How each feed writes identifiers and postcodes (valid variants, not errors)."""
    settings, records = batch.world.settings, batch.records
    this_year = int(str(batch.world.last_night)[:4])  # the year that short PNC forms are read against
    if batch.feed == "police":
        records["pnc"] = ids.pnc_variants(
            records["pnc"], rng, short=settings.police_pnc_short_form, no_slash=settings.police_pnc_no_slash,
            lower=settings.police_pnc_lower_case, this_year=this_year,
        )  # fmt: skip
        records["postcode"] = ids.postcode_variants(records["postcode"], rng, share=settings.postcode_variant)
    elif batch.feed == "probation":
        records["pnc"] = ids.pnc_variants(
            records["pnc"],
            rng,
            short=1 - settings.probation_pnc_long_form,
            no_slash=0.0,
            lower=0.0,
            this_year=this_year,
        )
        records["ni"] = ids.ni_variants(records["ni"], rng, spaced=settings.ni_spaced)
