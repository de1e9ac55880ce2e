"""Each validation rule: a record that passes and a record that fails with the exact exception."""

from __future__ import annotations

import pandas as pd
import pytest

from nominal import canonical
from nominal.config import SHIPPED_SUITES
from nominal.expectations.run import NightParameters, Validator, min_rows
from nominal.expectations.suites import load_feed_suite
from tests.canonical_records import AS_OF, FEED_EXTRAS, canonical_frame


@pytest.fixture(scope="module")
def validator():
    return Validator(None)


def suite(feed: str):
    return load_feed_suite(
        feed,
        SHIPPED_SUITES / "common.json",
        SHIPPED_SUITES / f"{feed}.json",
        set(canonical.COLUMNS) | set(FEED_EXTRAS[feed]),
    )


def run(validator, feed, records, min_rows_=1, issues=None):
    frame = canonical_frame(feed, records)
    empty_issues = pd.DataFrame(
        columns=["feed", "source", "row", "source_key", "field", "column", "value", "reason", "kind"]
    )
    return validator.validate(
        feed,
        frame,
        issues if issues is not None else empty_issues,
        suite(feed),
        NightParameters(AS_OF, min_rows_),
        error_rate_max=1.0,
    )


def found(result):
    return [(r.source_key, r.field, r.rule, r.severity, r.detail) for r in result.exceptions.itertuples()]


CASES = [
    # (feed, rule, a record that breaks it, the exception's field, its detail)
    ("police", "surname_present", {"surname": None}, "surname", "no surname"),
    ("police", "forename_present", {"forenames": None}, "forenames", "no forename"),
    ("police", "dob_present", {"date_of_birth": None}, "date_of_birth", "no date of birth"),
    (
        "probation",
        "dob_plausible",
        {"date_of_birth": pd.Timestamp("2027-01-01")},
        "date_of_birth",
        "date of birth in the future or age outside 10–110 on the extract date",
    ),
    (
        "probation",
        "dob_plausible",
        {"date_of_birth": pd.Timestamp("2020-01-01")},
        "date_of_birth",
        "date of birth in the future or age outside 10–110 on the extract date",
    ),
    (
        "police",
        "dob_plausible",
        {"date_of_birth": pd.Timestamp("1900-01-01")},
        "date_of_birth",
        "date of birth in the future or age outside 10–110 on the extract date",
    ),
    (
        "police",
        "dob_plausible",
        {"date_of_birth": pd.Timestamp("0096-09-12")},
        "date_of_birth",
        "date of birth in the future or age outside 10–110 on the extract date",
    ),
    ("police", "surname_letters", {"surname": "E1LIOTT"}, "surname", "surname holds digits or symbols"),
    ("police", "forename_letters", {"forenames": "J0HN"}, "forenames", "forenames hold digits or symbols"),
    ("police", "sex_code", {"sex": "X"}, "sex", "sex is not M, F or U"),
    ("police", "mappa_category_code", {"mappa_category": 4}, "mappa_category", "MAPPA category is not 1, 2 or 3"),
    ("police", "mappa_level_code", {"mappa_level": 0}, "mappa_level", "MAPPA level is not 1, 2 or 3"),
    ("police", "risk_level_code", {"risk_level": "EXTREME"}, "risk_level", "risk level is not a known level"),
    (
        "police",
        "updated_after_extract",
        {"record_updated_at": pd.Timestamp("2026-11-24 00:00:01")},
        "record_updated_at",
        "last updated after the extract was taken",
    ),
    (
        "police",
        "valid_pnc_id",
        {"pnc_id": None, "pnc_id_raw": "2001/0171310X"},
        "pnc_id",
        "PNC ID 20**/*****10X fails check letter",
    ),
    (
        "police",
        "valid_pnc_id",
        {"pnc_id": None, "pnc_id_raw": "2099/0171310W"},
        "pnc_id",
        "PNC ID 20**/*****10W year out of range",
    ),
    ("police", "valid_pnc_id", {"pnc_id": None, "pnc_id_raw": "NOT-A-PNC"}, "pnc_id", "PNC ID N**-*-*NC bad format"),
    (
        "police",
        "valid_cro_number",
        {"cro_number": None, "cro_number_raw": "85227/65G"},
        "cro_number",
        "CRO number 8****/*5G fails check letter",
    ),
    ("police", "valid_postcode", {"postcode": None, "postcode_raw": "12345"}, "postcode", "postcode 1**** bad format"),
    (
        "police",
        "rso_notification_due_present",
        {"notification_due": None},
        "notification_due",
        "registered sex offender with no notification due date",
    ),
    (
        "police",
        "notification_overdue",
        {"notification_due": pd.Timestamp("2026-11-22")},
        "notification_due",
        "notification overdue",
    ),
    (
        "police",
        "registration_after_birth",
        {"registration_start": pd.Timestamp("1990-01-01")},
        "registration_start",
        "registration starts before the date of birth",
    ),
    (
        "police",
        "rso_registration_present",
        {"registration_start": None},
        "registration_start",
        "registered sex offender with no registration start",
    ),
    (
        "police",
        "nominal_type_present",
        {"nominal_type": None, "notification_due": None, "registration_start": None},
        "nominal_type",
        "no nominal type",
    ),
    ("probation", "valid_crn", {"crn": None, "crn_raw": "X12345"}, "crn", "CRN X***45 bad format"),
    (
        "probation",
        "valid_noms_number",
        {"noms_number": None, "noms_number_raw": "A12345C"},
        "noms_number",
        "NOMS number A****5C bad format",
    ),
    (
        "probation",
        "valid_ni_number",
        {"ni_number": None, "ni_number_raw": "QQ123456A"},
        "ni_number",
        "NI number Q******6A prefix not allocated",
    ),
    (
        "probation",
        "licence_after_sentence",
        {"licence_end": pd.Timestamp("2020-01-01")},
        "licence_end",
        "licence ends before the sentence date",
    ),
    ("probation", "custody_status_present", {"custody_status": None}, "custody_status", "no custody status"),
    (
        "prison",
        "release_after_reception",
        {"release_date": pd.Timestamp("2025-11-01"), "booking_status": "INACTIVE_OUT"},
        "release_date",
        "release date before the reception date",
    ),
    (
        "prison",
        "release_passed_active_in",
        {"release_date": pd.Timestamp("2026-11-20")},
        "release_date",
        "release date has passed on an ACTIVE IN booking",
    ),
    ("prison", "booking_status_present", {"booking_status": None}, "booking_status", "no booking status"),
    (
        "prison",
        "valid_noms_number",
        {"noms_number": None, "noms_number_raw": "1234ABC"},
        "noms_number",
        "NOMS number 1****BC bad format",
    ),
]


@pytest.mark.parametrize(
    "feed, rule, breaking, field, detail", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_passes_a_good_record_and_catches_a_bad_one(validator, feed, rule, breaking, field, detail):
    result = run(validator, feed, [{}, breaking])
    severity = suite(feed).rules[rule].severity
    assert found(result) == [("K2", field, rule, severity, detail)]


def test_a_clean_record_raises_nothing_in_any_feed(validator):
    for feed in FEED_EXTRAS:
        result = run(validator, feed, [{}])
        assert found(result) == [] and result.gate.passed


def test_prison_release_date_may_pass_once_released(validator):
    result = run(validator, "prison", [{"release_date": pd.Timestamp("2026-11-20"), "booking_status": "INACTIVE_OUT"}])
    assert found(result) == []


def test_overdue_notification_is_high_priority(validator):
    result = run(validator, "police", [{"notification_due": pd.Timestamp("2026-01-01")}])
    assert result.exceptions["priority"].tolist() == ["high"]


def test_duplicate_key_and_probable_duplicate_pnc(validator):
    same = {"pnc_id": "2011/0275516Q", "pnc_id_raw": "2011/0275516Q"}
    result = run(validator, "police", [same, {}, {"source_key": "K1", **same}])
    rules = sorted({(r.rule, r.source_key) for r in result.exceptions.itertuples()})
    assert rules == [("key_unique", "K1"), ("probable_duplicate_pnc", "K1")]
    assert len(result.exceptions) == 4  # both records of each pair are reported


def test_prison_bookings_of_one_person_share_a_pnc_id_without_a_duplicate_exception(validator):
    same = {"pnc_id": "2011/0275516Q", "pnc_id_raw": "2011/0275516Q"}
    assert found(run(validator, "prison", [same, same])) == []


def test_row_count_far_below_recent_nights_fails_the_gate(validator):
    floor = min_rows([100, 104, 98, 101], row_drop_max=0.2)
    assert floor == 80
    result = run(validator, "police", [{}] * 50, min_rows_=floor)
    assert not result.gate.passed
    assert result.gate.reasons == [
        "critical rule row_count failed: far fewer rows than the feed's recent nights (observed 50)"
    ]
    assert result.exceptions.loc[0, "severity"] == "critical" and pd.isna(result.exceptions.loc[0, "source_key"])
    assert run(validator, "police", [{}] * 90, min_rows_=floor).gate.passed


def test_no_history_means_only_an_empty_delivery_fails():
    assert min_rows([], 0.2) == 1


def test_error_rate_over_the_limit_fails_the_gate(validator):
    frame = canonical_frame("police", [{}, {"surname": None}, {"sex": "X"}, {}])
    empty = pd.DataFrame(columns=["feed", "source", "row", "source_key", "field", "column", "value", "reason", "kind"])
    strict = validator.validate("police", frame, empty, suite("police"), NightParameters(AS_OF), error_rate_max=0.25)
    assert not strict.gate.passed and strict.gate.error_rate == 0.5
    assert "50.0% of records have errors, more than the 25% allowed" in strict.gate.reasons
    lenient = validator.validate("police", frame, empty, suite("police"), NightParameters(AS_OF), error_rate_max=0.5)
    assert lenient.gate.passed


def test_mapping_issues_become_exceptions_and_identifier_issues_are_not_doubled(validator):
    issues = pd.DataFrame(
        [
            {
                "feed": "police",
                "source": "t.csv",
                "row": 2,
                "source_key": "K2",
                "field": "date_of_birth",
                "column": "DOB",
                "value": "**/**/****",
                "reason": "not a valid date in the form dd/mm/yyyy",
                "kind": "unparseable",
            },
            {
                "feed": "police",
                "source": "t.csv",
                "row": 2,
                "source_key": "K2",
                "field": "pnc_id",
                "column": "PNC_ID",
                "value": "20**/*****10X",
                "reason": "PNC ID fails check letter",
                "kind": "unparseable",
            },
            {
                "feed": "police",
                "source": "t.csv",
                "row": 1,
                "source_key": "K1",
                "field": "address",
                "column": "ADDRESS",
                "value": "9… (900 chars)",
                "reason": "longer than 500 characters (kept whole)",
                "kind": "too_long",
            },
        ]
    )
    result = run(
        validator, "police", [{}, {"date_of_birth": None, "pnc_id": None, "pnc_id_raw": "2001/0171310X"}], issues=issues
    )
    assert sorted(found(result)) == [
        (
            "K1",
            "address",
            "too_long:address",
            "warning",
            "ADDRESS 9… (900 chars): longer than 500 characters (kept whole)",
        ),
        ("K2", "date_of_birth", "dob_present", "error", "no date of birth"),
        (
            "K2",
            "date_of_birth",
            "unparseable:date_of_birth",
            "error",
            "DOB **/**/****: not a valid date in the form dd/mm/yyyy",
        ),
        ("K2", "pnc_id", "valid_pnc_id", "error", "PNC ID 20**/*****10X fails check letter"),
    ]


def test_metrics_record_completeness_and_validity_per_field_and_the_feed(validator):
    result = run(
        validator,
        "police",
        [{}, {"pnc_id": None, "pnc_id_raw": "2001/0171310X"}, {"pnc_id": None, "pnc_id_raw": None}, {}],
    )
    metrics = result.metrics.set_index("field", drop=False)
    pnc = metrics.loc["pnc_id"]
    assert (pnc.rows_checked, pnc.completeness_rate, pnc.validity_rate) == (4, 0.5, pytest.approx(2 / 3))
    assert metrics.loc["surname", "completeness_rate"] == 1.0
    feed_row = result.metrics[result.metrics["field"].isna()].iloc[0]
    assert (feed_row.rows, feed_row.error_rate, bool(feed_row.gate_passed)) == (4, 0.25, True)
    assert {"nominal_type", "notification_due", "address"} <= set(result.metrics["field"].dropna())


def test_schema_drift_is_reported(validator):
    from nominal.expectations.run import schema_drift

    drift = schema_drift(["A", "B", "NEW"], ["A", "B", "OLD"], ["NEW"])
    assert drift == {"added": ["NEW"], "removed": ["OLD"], "unmapped": ["NEW"]}
    frame = canonical_frame("police", [{}])
    empty = pd.DataFrame(columns=["feed", "source", "row", "source_key", "field", "column", "value", "reason", "kind"])
    result = validator.validate(
        "police", frame, empty, suite("police"), NightParameters(AS_OF), error_rate_max=1, drift=drift
    )
    details = result.exceptions["detail"].tolist()
    assert "schema drift: columns added since the last delivery: NEW" in details
    assert "schema drift: columns removed since the last delivery: OLD" in details
    assert result.gate.passed  # drift is a warning by default


def test_a_field_that_mostly_fails_to_parse_is_reported_as_retyped(validator):
    frame = canonical_frame("police", [{"date_of_birth": None}] * 20)
    issues = pd.DataFrame(
        [
            {
                "feed": "police",
                "source": "t",
                "row": i + 1,
                "source_key": f"K{i + 1}",
                "field": "date_of_birth",
                "column": "DOB",
                "value": "****-**-**",
                "reason": "not a valid date",
                "kind": "unparseable",
            }
            for i in range(20)
        ]
    )
    result = validator.validate("police", frame, issues, suite("police"), NightParameters(AS_OF), error_rate_max=1)
    assert (
        "schema drift: fields that mostly failed to parse (type or format changed?): date_of_birth"
        in result.exceptions["detail"].tolist()
    )


def test_a_rule_whose_column_is_missing_is_skipped_with_a_warning(validator):
    frame = canonical_frame("police", [{}]).drop(columns=["notification_due"])
    empty = pd.DataFrame(columns=["feed", "source", "row", "source_key", "field", "column", "value", "reason", "kind"])
    result = validator.validate("police", frame, empty, suite("police"), NightParameters(AS_OF), error_rate_max=1)
    skipped = result.exceptions[result.exceptions["kind"] == "rule_skipped"]["detail"].tolist()
    assert skipped == [
        "rule rso_notification_due_present skipped: column notification_due is not in this feed",
        "rule notification_overdue skipped: column notification_due is not in this feed",
    ]


def test_identifier_expectations_accept_documented_examples_and_catch_every_mutation(validator):
    from tests.test_identifiers import VALID_CRO, VALID_PNC, mutations

    pnc = VALID_PNC + ["01/171310W", "20010171310w"] + [v[:2] + m for v in VALID_PNC for m in mutations(v[2:])]
    cro = VALID_CRO + [
        m if not v.startswith("SF") else "SF" + m
        for v in VALID_CRO
        for m in mutations(v[2:] if v.startswith("SF") else v)
    ]
    n = max(len(pnc), len(cro))
    records = [
        {"pnc_id_raw": pnc[i] if i < len(pnc) else None, "cro_number_raw": cro[i] if i < len(cro) else None}
        for i in range(n)
    ]
    result = run(validator, "probation", records)
    flagged = result.exceptions.groupby("rule")["source_key"].apply(lambda keys: {int(k[1:]) - 1 for k in keys})
    assert flagged["valid_pnc_id"] == set(range(len(VALID_PNC) + 2, len(pnc)))
    assert flagged["valid_cro_number"] == set(range(len(VALID_CRO), len(cro)))
