"""Every rate the synthetic generator uses, with its default. docs/synthetic.md explains each one.

Rates are probabilities in [0, 1]. Unless a field says otherwise, an error rate is the share of
*eligible* records of a feed that get that error (a DOB transposition needs a day of 12 or less, an
identifier error needs an identifier present, and so on).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class GeneratorSettings:
    # --- the people
    male_share: float = 0.88
    middle_name_share: float = 0.60
    second_middle_name_share: float = 0.10  # of those with a middle name
    alias_share: float = 0.20  # people known by another name as well
    twin_share: float = 0.002  # people who have a twin in the population
    hyphenated_surname_share: float = 0.004  # double-barrelled surnames made from two list names
    flat_address_share: float = 0.08  # "Flat 3, 12 High Street, Leeds"

    # --- who is in which feed (every person is in at least one)
    police_share: float = 0.55
    probation_share: float = 0.70
    prison_share: float = 0.45
    police_duplicate: float = 0.015  # nominal registered in a second force
    probation_duplicate: float = 0.015  # a second CRN for the same person
    prison_extra_booking: float = 0.12  # chance of each further booking (geometric)
    prison_alias_booking: float = 0.25  # share of further bookings, of people with an alias, received under it

    # --- identifiers left blank (missing, not an error)
    police_pnc_blank: float = 0.08
    police_cro_blank: float = 0.25
    probation_pnc_blank: float = 0.20
    probation_cro_blank: float = 0.40
    probation_ni_blank: float = 0.50
    prison_pnc_blank: float = 0.15
    prison_cro_blank: float = 0.30
    sex_unknown: float = 0.002  # U / Not Known / NK or NS

    # --- format variations (normalise fine; not errors)
    police_pnc_short_form: float = 0.25
    police_pnc_no_slash: float = 0.05
    police_pnc_lower_case: float = 0.03
    probation_pnc_long_form: float = 0.30  # the rest are sent in the short form
    ni_spaced: float = 0.40
    postcode_variant: float = 0.10  # police: no space, lower case or a double space

    # --- errors injected (each recorded in truth/<night>/errors.csv)
    typo: float = 0.02
    ocr_slip_prison: float = 0.025
    ocr_slip_other: float = 0.002
    phonetic: float = 0.01
    nickname_probation: float = 0.06  # of records whose forename has a nickname (about half)
    nickname_other: float = 0.01
    name_swap: float = 0.005
    forenames_in_surname: float = 0.003  # police only
    alias_as_name: float = 0.005  # of records of people with an alias
    middle_first_swap: float = 0.01  # probation only, records with a middle name
    dob_transposed: float = 0.01  # records whose day is 12 or less and differs from the month
    dob_digit: float = 0.003
    id_check_letter: float = 0.01  # of present PNC IDs and CRO numbers
    id_bad_format: float = 0.002  # of present PNC, CRO, NI and NOMS values
    id_other_person: float = 0.003  # of present PNC IDs and CRO numbers
    noms_other_person: float = 0.01  # probation records with a NOMS number
    stale_address: float = 0.05
    sex_differs: float = 0.003
    mappa_differs: float = 0.02  # probation records of people also in the police feed
    overdue_notification: float = 0.03  # police RSO records
    release_passed_active_in: float = 0.01  # ACTIVE IN bookings
    custody_conflict: float = 0.01  # probation records of people with an ACTIVE IN booking
    trailing_space: float = 0.005
    embedded_newline: float = 0.0002  # police ADDRESS
    duplicate_misspelled: float = 0.6  # probation duplicates whose name is also mistyped
    duplicate_dob_error: float = 0.2  # police and probation duplicates with a mistyped DOB

    # --- nightly change, as shares of each feed's records
    nightly_add: float = 0.004
    nightly_update: float = 0.004
    nightly_remove: float = 0.002
    new_person_share_of_adds: float = 0.5  # the rest are new records of people already known

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"GeneratorSettings.{f.name} must be a rate between 0 and 1, not {value!r}")

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def without_errors(self) -> GeneratorSettings:
        """The same population with no injected error at all: no error rates, no duplicates, no
        bookings under an alias (blanks and format variations stay: they are not errors)."""
        names = [f.name for f in fields(self)]
        errors = names[names.index("typo") : names.index("duplicate_dob_error") + 1]
        no_duplicates = ("police_duplicate", "probation_duplicate", "prison_alias_booking")
        return replace(self, **dict.fromkeys((*errors, *no_duplicates), 0.0))
