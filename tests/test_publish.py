"""Publish: survivorship and lineage, conflicts, the cross-agency rules, exceptions across nights,
reports, and the one-transaction write to the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from nominal import canonical
from nominal.publish.exceptions import RESOLVED_BY_SOURCE, merge_exceptions
from nominal.publish.findings import FINDING_COLUMNS
from nominal.publish.golden import accepted_fields, golden_records, source_of, with_persons
from nominal.publish.publication import prepare
from nominal.publish.reports import (
    PendingReports,
    neutralise,
    report_frame,
    stage_reports,
    staging_folder,
)
from nominal.publish.rules import load_rules
from nominal.store import writes
from nominal.store.models import ExceptionRecord, Person, PersonLink, Run
from nominal.store.queries import published_state
from nominal.tables import PublishedState
from nominal.triage import decisions
from nominal.vocab import Severity
from tests.people import PASSWORD, make_staff

AS_OF = dt.date(2026, 11, 23)
RULES = load_rules()


def records(*rows: dict) -> pd.DataFrame:
    """Canonical records from a few fields each (the rest missing), with the carried-through extras."""
    base = {"extract_date": pd.Timestamp(AS_OF), "_source": "test.csv"}
    frame = pd.DataFrame([{**base, "_row": i + 1, **row} for i, row in enumerate(rows)])
    for column in canonical.COLUMNS:
        if column not in frame:
            frame[column] = pd.NA
    extras = {
        "booking_status": "str",
        "release_date": "datetime64[ms]",
        "custody_status": "str",
        "nominal_type": "str",
        "notification_due": "datetime64[ms]",
        "registration_start": "datetime64[ms]",
        "last_notified": "datetime64[ms]",
    }
    for column, dtype in extras.items():
        frame[column] = (
            frame[column].astype(dtype) if column in frame else pd.Series(pd.NA, index=frame.index, dtype=dtype)
        )
    return canonical.conform(frame)


def clusters_for(frame: pd.DataFrame, persons: list[str], status: str = "active") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feed": frame["feed"],
            "source_key": frame["source_key"],
            "person_id": persons,
            "linked_by": "model",
            "linked_on": None,
            "match_probability": 0.99,
            "status": status,
            "status_reason": None,
        }
    )


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# --- golden record ------------------------------------------------------------------------------


def three_agencies() -> pd.DataFrame:
    return records(
        {
            "feed": "police",
            "source_key": "N1",
            "surname": "SMITH",
            "forenames": "JOHN",
            "date_of_birth": day("1980-01-02"),
            "pnc_id": "2001/0000001Z",
            "address": "1 OLD ROAD",
            "postcode": "LS1 1AA",
            "record_updated_at": day("2026-01-01"),
            "mappa_category": 1,
            "nominal_type": "RSO",
            "notification_due": day("2027-01-01"),
        },
        {
            "feed": "probation",
            "source_key": "X1",
            "surname": "SMITH",
            "forenames": "JON",
            "date_of_birth": day("1980-01-02"),
            "address": "2 NEW STREET",
            "postcode": "LS2 2BB",
            "record_updated_at": day("2026-11-01"),
            "mappa_category": 2,
            "custody_status": "RELEASED_ON_LICENCE",
        },
        {
            "feed": "prison",
            "source_key": "B1",
            "surname": "SMYTH",
            "forenames": "JOHN",
            "date_of_birth": day("1980-02-01"),
            "noms_number": "A1234BC",
            "record_updated_at": day("2026-06-01"),
            "booking_status": "ACTIVE_IN",
            "release_date": day("2026-11-01"),
        },
    )


def golden_of(frame: pd.DataFrame, persons: list[str]):
    people = with_persons(frame, clusters_for(frame, persons))
    golden, chosen = golden_records(people, clusters_for(frame, persons), RULES, run_id=7)
    return people, golden, chosen


def test_survivorship_takes_each_field_by_its_rule_and_keeps_lineage():
    _, golden, _ = golden_of(three_agencies(), ["P1", "P1", "P1"])
    person = golden.iloc[0]
    assert person["surname"] == "SMITH"  # two records of three agree
    assert person["date_of_birth"] == day("1980-01-02")
    assert person["address"] == "2 NEW STREET" and person["postcode"] == "LS2 2BB"  # the most recent, together
    assert person["custody_status"] == "IN_CUSTODY"  # prison wins for custody
    assert person["supervision_status"] == "RELEASED_ON_LICENCE"  # probation for supervision
    assert person["mappa_category"] == 2  # probation first for MAPPA
    assert person["registration_type"] == "RSO" and person["notification_due"] == day("2027-01-01")  # police
    lineage = json.loads(person["lineage"])
    assert lineage["run_id"] == 7
    assert source_of(lineage, "address") == ["probation", "X1", "2026-11-23"]
    assert source_of(lineage, "postcode") == ["probation", "X1", "2026-11-23"]
    assert source_of(lineage, "pnc_id")[:2] == ["police", "N1"]
    assert source_of(lineage, "custody_status")[:2] == ["prison", "B1"]
    assert source_of(lineage, "cro_number") is None  # no record has one: nothing published, no lineage
    assert len(lineage["records"]) == 3  # each source record listed once


def test_a_valid_identifier_beats_an_invalid_one_and_ties_do_not_depend_on_row_order():
    frame = records(
        {
            "feed": "police",
            "source_key": "N1",
            "pnc_id": pd.NA,
            "pnc_id_raw": "2001/0000001X",
            "record_updated_at": day("2026-11-01"),
        },
        {"feed": "prison", "source_key": "B1", "pnc_id": "2001/0000001Z", "record_updated_at": day("2020-01-01")},
    )
    _, golden, _ = golden_of(frame, ["P1", "P1"])
    assert golden.iloc[0]["pnc_id"] == "2001/0000001Z"
    _, reversed_golden, _ = golden_of(frame.iloc[::-1].reset_index(drop=True), ["P1", "P1"])
    pd.testing.assert_frame_equal(golden, reversed_golden)


# --- conflicts and discrepancies ----------------------------------------------------------------


def prepared(
    frame: pd.DataFrame, persons: list[str], store_now: PublishedState | None = None, run_id: int = 1, validation=None
):
    clusters = clusters_for(frame, persons)
    return prepare(
        frame,
        clusters,
        pd.DataFrame(),
        pd.DataFrame(columns=["kind"]),
        validation,
        store_now or empty_store(),
        RULES,
        run_id=run_id,
        as_of=AS_OF,
        scope_feeds=set(frame["feed"]),
    )


def empty_store() -> PublishedState:
    return PublishedState.empty()


def test_review_pairs_become_match_review_exceptions():
    """Matching's review pairs are triaged here: one match_review exception about record a, with record b."""
    from nominal.masking import mask_identifier
    from nominal.matching.schemas import REVIEW_PAIRS

    frame = three_agencies()
    pairs = pd.DataFrame(
        {
            "feed_a": ["police"],
            "source_key_a": ["N1"],
            "feed_b": ["prison"],
            "source_key_b": ["B1"],
            "person_id_a": ["P1"],
            "person_id_b": ["P2"],
            "reason": ["possible_twins"],
            "match_probability": [0.42],
            "match_weight": pd.array([-0.5], dtype="float32"),
            "explanation": ["surname: exact (+9.0); forename: different (-3.0)"],
            "evidence": ['[{"comparison": "surname", "level": "exact", "label": "exact", "weight": 9.0}]'],
        }
    )
    assert REVIEW_PAIRS.problems(pairs) == []
    night = prepare(
        frame,
        clusters_for(frame, ["P1", "P1", "P2"]),
        pairs,
        pd.DataFrame(columns=["kind"]),
        None,
        empty_store(),
        RULES,
        run_id=1,
        as_of=AS_OF,
        scope_feeds=set(frame["feed"]),
    )
    rows = night.exceptions_tonight
    found = rows[rows["kind"] == "match_review"].iloc[0]
    assert (found["rule"], found["severity"], found["priority"]) == ("possible_twins", "error", "normal")
    assert (found["feed"], found["source_key"], found["person_id"]) == ("police", "N1", "P1")
    assert (found["other_feed"], found["other_source_key"]) == ("prison", "B1")
    assert found["detail"] == (
        "possible twins (same surname and date of birth, different forenames): never linked automatically as "
        f"prison record {mask_identifier('B1')} (probability 0.4200): surname: exact (+9.0); forename: different (-3.0)"
    )
    assert found["row"] == frame["_row"].iloc[0]


def rules_found(night) -> set[tuple[str, str, str]]:
    rows = night.exceptions_tonight
    return set(zip(rows["rule"], rows["feed"].fillna(""), rows["source_key"].fillna("")))


def test_conflicts_and_cross_agency_discrepancies_are_found_on_the_right_records():
    night = prepared(three_agencies(), ["P1", "P1", "P1"])
    found = rules_found(night)
    assert ("date_of_birth_differs", "prison", "B1") in found  # a transposed date of birth is not hidden
    assert ("in_custody_but_released", "prison", "B1") in found
    assert ("release_date_passed", "prison", "B1") in found
    assert ("mappa_differs", "police", "N1") in found
    assert not any(rule == "notification_overdue" for rule, _, _ in found)  # due next year
    assert not any(rule in ("rso_without_address", "licence_without_police_nominal") for rule, _, _ in found)
    details = " ".join(night.exceptions_tonight["detail"])
    assert "1980" not in details and "X1" not in details and "SMITH" not in details  # masked for circulation


def test_rules_that_need_a_missing_record_or_a_passed_date():
    frame = records(
        {
            "feed": "police",
            "source_key": "N2",
            "surname": "JONES",
            "nominal_type": "RSO",
            "notification_due": day("2026-11-01"),
        },
        {
            "feed": "probation",
            "source_key": "X3",
            "surname": "BROWN",
            "custody_status": "RELEASED_ON_LICENCE",
            "mappa_category": 1,
        },
        {
            "feed": "probation",
            "source_key": "X4",
            "surname": "GREEN",
            "custody_status": "RELEASED_ON_LICENCE",
            "mappa_category": 3,
        },
    )
    found = rules_found(prepared(frame, ["P2", "P3", "P4"]))
    assert ("notification_overdue", "police", "N2") in found
    assert ("rso_without_address", "police", "N2") in found
    assert ("licence_without_police_nominal", "probation", "X3") in found
    assert ("licence_without_police_nominal", "probation", "X4") not in found  # category 3 needs no police nominal


def test_a_rule_switched_off_in_the_rules_file_finds_nothing(tmp_path):
    text = (RULES_PATH := tmp_path / "rules.yaml")
    import yaml

    from nominal.publish.rules import SHIPPED_RULES

    data = yaml.safe_load(SHIPPED_RULES.read_text())
    data["discrepancies"]["in_custody_but_released"]["enabled"] = False
    text.write_text(yaml.safe_dump(data))
    rules = load_rules(RULES_PATH)
    clusters = clusters_for(three_agencies(), ["P1"] * 3)
    night = prepare(
        three_agencies(),
        clusters,
        pd.DataFrame(),
        pd.DataFrame(columns=["kind"]),
        None,
        empty_store(),
        rules,
        run_id=1,
        as_of=AS_OF,
        scope_feeds={"police"},
    )
    assert "in_custody_but_released" not in set(night.exceptions_tonight["rule"])


def test_an_unknown_rule_in_the_rules_file_is_named(tmp_path):
    from nominal.errors import ConfigError

    path = tmp_path / "rules.yaml"
    path.write_text("survivorship: {}\ndiscrepancies:\n  in_custody_but_relased: {enabled: true}\n")
    with pytest.raises(ConfigError, match="in_custody_but_relased"):
        load_rules(path)


# --- exceptions across nights -------------------------------------------------------------------


def finding(source_key: str, data: str, rule: str = "valid_pnc_id", feed: str = "police") -> dict:
    return {
        "kind": "validation",
        "rule": rule,
        "severity": "error",
        "priority": "normal",
        "feed": feed,
        "source_key": source_key,
        "row": 1,
        "person_id": "P1",
        "field": "pnc_id",
        "other_feed": None,
        "other_source_key": None,
        "detail": "bad",
        "data": data,
    }


def night_of(*found: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(found), columns=list(FINDING_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame


def test_exceptions_are_one_row_across_nights_closed_when_gone_and_dismissals_stick_while_data_is_unchanged():
    t1, t2, t3 = (dt.datetime(2026, 11, d, 2, tzinfo=dt.UTC) for d in (23, 24, 25))
    merged = merge_exceptions(
        night_of(finding("A", "a1"), finding("B", "b1"), finding("C", "c1")),
        empty_store().exceptions,
        1,
        t1,
        {"police"},
    )
    first = merged.rows
    assert list(first["status"]) == ["open"] * 3 and list(first["version"]) == [1] * 3 and merged.changes.empty
    store = first.copy()
    store.loc[store["source_key"] == "B", "status"] = "dismissed"
    store.loc[store["source_key"] == "C", "status"] = "dismissed"
    # night 2: A again, B again with the same data, C with changed data, D new; nothing else
    merged = merge_exceptions(
        night_of(finding("A", "a1"), finding("B", "b1"), finding("C", "c2"), finding("D", "d1")),
        store,
        2,
        t2,
        {"police"},
    )
    second = merged.rows
    # the store's rows change status only by the night's changes, each against the version it read
    fingerprint_c = store.loc[store["source_key"] == "C", "fingerprint"].iloc[0]
    assert merged.changes[["fingerprint", "version", "action", "to_status"]].values.tolist() == [
        [fingerprint_c, 1, "reopened", "open"]
    ]
    by_key = second.set_index("source_key")
    assert len(second) == 4 and by_key.loc["A", "first_seen_run_id"] == 1 and by_key.loc["A", "last_seen_run_id"] == 2
    assert by_key.loc["B", "status"] == "dismissed"
    assert by_key.loc["C", "status"] == "open" and "reopened" in by_key.loc["C", "resolution"]
    assert by_key.loc["D", "status"] == "open" and by_key.loc["D", "first_seen_run_id"] == 2
    # night 3: only D is found; A, C are resolved by source, B stays dismissed, untouched
    merged = merge_exceptions(night_of(finding("D", "d1")), second, 3, t3, {"police"})
    third = merged.rows
    assert sorted(merged.changes["action"]) == ["resolved_by_source", "resolved_by_source"]
    assert merged.changes["resolved"].all()
    by_key = third.set_index("source_key")
    assert by_key.loc["A", "status"] == "resolved" and by_key.loc["A", "resolution"] == RESOLVED_BY_SOURCE
    assert by_key.loc["C", "status"] == "resolved"
    assert "B" not in by_key.index
    # a feed not checked tonight keeps its open exceptions
    fourth = merge_exceptions(night_of(), third[third["source_key"] == "D"], 4, t3, set())
    assert fourth.rows.empty and fourth.changes.empty


def test_an_officers_dismiss_decision_holds_for_the_data_it_was_made_on():
    t = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    first = merge_exceptions(night_of(finding("A", "a1")), empty_store().exceptions, 1, t, {"police"}).rows
    decision = pd.DataFrame({"exception_fingerprint": [first["fingerprint"][0]], "value": [first["data_hash"][0]]})
    again = merge_exceptions(night_of(finding("A", "a1")), first, 2, t, {"police"}, decision)
    assert again.rows["status"][0] == "dismissed" and again.changes["action"].tolist() == ["dismissed"]
    changed = merge_exceptions(night_of(finding("A", "a2")), first, 2, t, {"police"}, decision)
    assert changed.rows["status"][0] == "open" and changed.changes.empty


# --- reports ------------------------------------------------------------------------------------


def test_reports_mask_keys_and_neutralise_formulas(tmp_path):
    assert neutralise('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [neutralise(v) for v in ("+1", "-1", "@SUM(A1)", "plain", 5)] == ["'+1", "'-1", "'@SUM(A1)", "plain", 5]
    t = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    hostile = finding("X1234567", "x", rule="surname_letters") | {"detail": "=cmd|' /C calc'!A0"}
    rows = merge_exceptions(night_of(hostile), empty_store().exceptions, 1, t, {"police"}).rows
    killed = staging_folder(tmp_path, AS_OF - dt.timedelta(days=1), 7)  # left by a run that was killed
    (killed / "exceptions_police_validation.csv").write_text("half a night")
    staging = staging_folder(tmp_path, AS_OF, 1)
    assert not killed.exists() and staging.is_dir()
    stage_reports(staging, AS_OF, 1, "succeeded", rows, {"publish": {"exceptions": {"new": 1}}}, {}).finish()
    csv_text = (staging / "exceptions_police_validation.csv").read_text()
    assert "X1234567" not in csv_text
    assert "'=cmd" in csv_text
    sheet = load_workbook(staging / "exceptions_police_validation.xlsx").active
    cells = [c.value for row in sheet.iter_rows() for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert "X1234567" not in cells
    assert report_frame(rows, 1, AS_OF)["record"][0] != "X1234567"
    html = (staging / "summary.html").read_text()
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")


def test_large_nights_workbooks_are_written_by_worker_processes_and_their_errors_reach_the_night(tmp_path):
    part = pd.DataFrame({"reference": ["a", "b"], "detail": ["'=1+1", "plain"], "row": [1, 2]})
    in_the_way = tmp_path / "taken.xlsx"
    in_the_way.mkdir()  # a folder where the workbook should go: the worker cannot write it
    PendingReports([(tmp_path / "one.xlsx", part), (tmp_path / "two.xlsx", part.iloc[:1])], processes=True).finish()
    cells = [c.value for row in load_workbook(tmp_path / "one.xlsx").active.iter_rows() for c in row]
    assert cells == ["reference", "detail", "row", "a", "'=1+1", 1, "b", "plain", 2]
    assert (tmp_path / "two.xlsx").is_file()
    with pytest.raises(OSError):
        PendingReports([(tmp_path / "fine.xlsx", part), (in_the_way, part)], processes=True).finish()


# --- the store: one transaction, only what changed ----------------------------------------------


def publish(
    engine, frame: pd.DataFrame, persons: list[str], as_of: dt.date = AS_OF, *, full: bool = False, rules=RULES
):
    run_id = writes.start_run(engine, "sync", as_of, sorted(set(frame["feed"])))
    clusters = clusters_for(frame, persons)
    night = prepare(
        frame,
        clusters,
        pd.DataFrame(),
        pd.DataFrame(columns=["kind"]),
        None,
        published_state(engine),
        rules,
        run_id=run_id,
        as_of=as_of,
        scope_feeds=set(frame["feed"]),
        full=full,
    )
    writes.publish_night(engine, run_id, night.publication, {"publish": night.counts})  # as the flow nests them
    return run_id, night


def test_publish_writes_persons_links_and_exceptions_and_a_rerun_writes_nothing_new(store_engine):
    frame = three_agencies()
    run_id, night = publish(store_engine, frame, ["P000000001"] * 3)
    with store_engine.connect() as c:
        person = c.execute(select(Person)).one()
        assert (
            person.surname == "SMITH" and person.custody_status == "IN_CUSTODY" and person.first_seen_run_id == run_id
        )
        assert person.date_of_birth == dt.date(1980, 1, 2) and source_of(person.lineage, "address")[0] == "probation"
        assert c.scalar(select(func.count()).select_from(PersonLink)) == 3
        exceptions = c.scalar(select(func.count()).select_from(ExceptionRecord))
        assert exceptions == len(night.exceptions_tonight) > 0
        assert c.scalar(select(Run.status).where(Run.id == run_id)) == "succeeded"
    again, night2 = publish(store_engine, frame, ["P000000001"] * 3)
    assert night2.counts["persons_written"] == 0 and night2.counts["links_written"] == 0
    with store_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(ExceptionRecord)) == exceptions  # no duplicates
        assert c.scalar(select(func.min(ExceptionRecord.last_seen_run_id))) == again


def test_a_person_whose_records_are_gone_is_retired_and_a_changed_one_rewritten(store_engine):
    frame = three_agencies()
    publish(store_engine, frame, ["P000000001", "P000000002", "P000000002"])
    moved = frame.iloc[:1].copy()
    moved["address"] = "9 ELSEWHERE"
    _, night = publish(store_engine, moved, ["P000000001"], AS_OF + dt.timedelta(days=1))
    assert (
        night.counts["persons_written"] == 1
        and night.counts["persons_retired"] == 1
        and night.counts["links_removed"] == 2
    )
    with store_engine.connect() as c:
        statuses = dict(c.execute(select(Person.person_id, Person.status)).all())
        assert statuses == {"P000000001": "active", "P000000002": "retired"}
        assert c.scalar(select(Person.address).where(Person.person_id == "P000000001")) == "9 ELSEWHERE"
        assert c.scalar(select(func.count()).select_from(PersonLink)) == 1


def store_contents(engine) -> tuple:
    """Everything a reader sees of persons and exceptions, minus when and by which run it was written."""
    with engine.connect() as c:
        persons = c.execute(
            select(
                Person.person_id,
                Person.status,
                Person.surname,
                Person.date_of_birth,
                Person.address,
                Person.content_hash,
            ).order_by(Person.person_id)
        ).all()
        exceptions = c.execute(
            select(
                ExceptionRecord.fingerprint,
                ExceptionRecord.status,
                ExceptionRecord.row,
                ExceptionRecord.detail,
                ExceptionRecord.data_hash,
            ).order_by(ExceptionRecord.fingerprint)
        ).all()
    return persons, exceptions


def test_a_night_recomputes_only_the_persons_whose_records_changed_and_equals_a_full_night(store_engine):
    frame = pd.concat(
        [
            three_agencies(),
            records({"feed": "police", "source_key": "N2", "surname": "JONES", "date_of_birth": day("1990-03-03")}),
        ],
        ignore_index=True,
    )
    persons = ["P000000001"] * 3 + ["P000000002"]
    _, first = publish(store_engine, frame, persons)
    conflicts = first.exceptions_tonight[first.exceptions_tonight["kind"] == "conflict"]
    assert set(conflicts["person_id"]) == {"P000000001"}  # the prison record's date of birth disagrees
    tomorrow = frame.copy()
    tomorrow.loc[3, "address"] = "5 NEW PLACE"
    tomorrow["_row"] = tomorrow["_row"][::-1].to_numpy()  # rows move in the file: not a change of content
    run_id, night = publish(store_engine, tomorrow, persons, AS_OF + dt.timedelta(days=1))
    assert night.counts["persons_recomputed"] == 1 and night.counts["persons_written"] == 1
    assert night.counts["exceptions"]["closed"] == 0 and night.counts["exceptions"]["new"] == 0
    with store_engine.connect() as c:
        carried = c.execute(
            select(
                ExceptionRecord.status,
                ExceptionRecord.last_seen_run_id,
                ExceptionRecord.source_key,
                ExceptionRecord.row,
            ).where(ExceptionRecord.kind == "conflict")
        ).all()
        rows_seen = dict(
            c.execute(
                select(ExceptionRecord.source_key, ExceptionRecord.row).where(
                    ExceptionRecord.last_seen_run_id == run_id
                )
            ).all()
        )
    assert {(status, seen) for status, seen, _, _ in carried} == {("open", run_id)}  # carried forward, still open
    row_tonight = dict(zip(tomorrow["source_key"], tomorrow["_row"]))
    assert all(row == row_tonight[key] for _, _, key, row in carried)  # at the record's row tonight
    assert all(row == row_tonight[key] for key, row in rows_seen.items() if key in row_tonight)
    incremental = store_contents(store_engine)
    _, full = publish(store_engine, tomorrow, persons, AS_OF + dt.timedelta(days=1), full=True)
    assert full.counts["persons_recomputed"] == 2 and full.counts["persons_written"] == 0
    assert store_contents(store_engine) == incremental


def test_links_published_before_records_were_hashed_recompute_every_person_once(store_engine):
    from sqlalchemy import update

    frame = three_agencies()
    persons = ["P000000001", "P000000002", "P000000003"]
    publish(store_engine, frame, persons)
    with store_engine.begin() as c:  # as revision 0004 leaves a store published before it
        c.execute(update(PersonLink).values(record_hash=None))
    _, upgraded = publish(store_engine, frame, persons, AS_OF + dt.timedelta(days=1))
    assert upgraded.counts["persons_recomputed"] == 3 and upgraded.counts["links_written"] == 3
    _, after = publish(store_engine, frame, persons, AS_OF + dt.timedelta(days=2))
    assert after.counts["persons_recomputed"] == 0 and after.counts["links_written"] == 0


def test_changed_publish_rules_recompute_every_person(store_engine):
    frame = three_agencies()
    publish(store_engine, frame, ["P000000001", "P000000002", "P000000003"])
    stricter = RULES.model_copy(
        update={"conflicts": RULES.conflicts.model_copy(update={"severity": Severity.CRITICAL})}
    )
    _, night = publish(
        store_engine, frame, ["P000000001", "P000000002", "P000000003"], AS_OF + dt.timedelta(days=1), rules=stricter
    )
    assert night.counts["persons_recomputed"] == 3


def test_an_accepted_value_is_published_settles_its_conflicts_and_lapses_when_the_source_changes_it(store_engine):
    frame = three_agencies()
    persons = ["P000000001"] * 3
    _, first = publish(store_engine, frame, persons)
    assert first.golden["date_of_birth"][0] == day("1980-01-02")  # two records of three
    dob_conflicts = first.exceptions_tonight[first.exceptions_tonight["rule"] == "date_of_birth_differs"]
    assert len(dob_conflicts) == 1
    officer = make_staff(store_engine)["officer1"]
    decisions.accept_value(store_engine, officer, ("prison", "B1"), "date_of_birth", "1980-02-01", "certificate seen")
    _, night = publish(store_engine, frame, persons, AS_OF + dt.timedelta(days=1))
    assert night.golden["date_of_birth"][0] == day("1980-02-01")
    assert source_of(night.golden["lineage"][0], "date_of_birth")[:2] == ["prison", "B1"]
    assert (
        accepted_fields(night.golden["lineage"][0]) == ["date_of_birth"]
        and accepted_fields(first.golden["lineage"][0]) == []
    )
    rows = night.exceptions_tonight.set_index("fingerprint")
    assert rows.loc[dob_conflicts["fingerprint"].iloc[0], "status"] == "resolved"  # the officer settled it
    assert not ((rows["rule"] == "date_of_birth_differs") & (rows["status"] == "open")).any()
    changed = frame.copy()
    changed.loc[2, "date_of_birth"] = day("1980-03-01")  # the prison now says something else again
    _, later = publish(store_engine, changed, persons, AS_OF + dt.timedelta(days=2))
    assert (
        later.golden["date_of_birth"][0] == day("1980-01-02") and accepted_fields(later.golden["lineage"][0]) == []
    )  # the rules choose again
    assert (
        (later.exceptions_tonight["rule"] == "date_of_birth_differs") & (later.exceptions_tonight["status"] == "open")
    ).any()


def test_officers_decide_from_the_command_line_and_the_next_night_honours_it(store_engine):
    from typer.testing import CliRunner

    from nominal.cli import app
    from nominal.store.models import AuditLog, Decision

    url = store_engine.url.render_as_string(hide_password=False)
    make_staff(store_engine)
    frame = three_agencies()
    persons = ["P000000001"] * 3
    _, first = publish(store_engine, frame, persons)
    custody = first.exceptions_tonight[first.exceptions_tonight["rule"] == "in_custody_but_released"]
    reference = custody["fingerprint"].iloc[0][:12]  # as the reports show it
    cli = CliRunner()
    decided = cli.invoke(
        app,
        [
            "decide",
            "accept-value",
            "--record",
            "prison:B1",
            "--field",
            "date_of_birth",
            "--value",
            "1980-02-01",
            "--reason",
            "birth certificate seen",
            "--by",
            "officer1",
            "--db",
            url,
        ],
        input=f"{PASSWORD}\n",
    )
    assert decided.exit_code == 0, decided.output
    dismissed = cli.invoke(
        app,
        [
            "decide",
            "dismiss",
            "--exception",
            reference,
            "--reason",
            "release confirmed by phone",
            "--by",
            "officer1",
            "--db",
            url,
        ],
        input=f"{PASSWORD}\n",
    )
    assert dismissed.exit_code == 0, dismissed.output
    assert (
        cli.invoke(
            app,
            [
                "decide",
                "accept-value",
                "--record",
                "prison:B1",
                "--field",
                "shoe_size",
                "--reason",
                "r",
                "--by",
                "officer1",
                "--db",
                url,
            ],
            input=f"{PASSWORD}\n",
        ).exit_code
        == 2
    )
    assert (
        cli.invoke(
            app,
            [
                "decide",
                "link",
                "--record",
                "prisonB1",
                "--other",
                "police:N1",
                "--reason",
                "r",
                "--by",
                "officer1",
                "--db",
                url,
            ],
            input=f"{PASSWORD}\n",
        ).exit_code
        == 2
    )
    with store_engine.connect() as c:
        assert (
            c.scalar(select(ExceptionRecord.status).where(ExceptionRecord.fingerprint.startswith(reference)))
            == "dismissed"
        )
        assert c.scalar(select(func.count()).select_from(Decision)) == 2
        audited = [a.action for a in c.execute(select(AuditLog.action).where(AuditLog.user_id.is_not(None)))]
        assert {"decide", "change_status", "sign_in", "sign_out"} <= set(audited)
        assert c.scalar(select(ExceptionRecord.version).where(ExceptionRecord.fingerprint.startswith(reference))) == 2
    _, night = publish(store_engine, frame, persons, AS_OF + dt.timedelta(days=1))
    assert night.golden["date_of_birth"][0] == day("1980-02-01")
    assert (
        night.exceptions_tonight.set_index("fingerprint").loc[custody["fingerprint"].iloc[0], "status"] == "dismissed"
    )


def test_names_with_quotes_sql_html_and_formulas_are_stored_as_plain_data(store_engine):
    hostile = "O'BRIEN\"; DROP TABLE persons; -- <script>alert(1)</script> =1+1 \\N"
    frame = records(
        {
            "feed": "police",
            "source_key": "K'1\"\\",
            "surname": hostile,
            "forenames": "=SUM(A1)",
            "date_of_birth": day("1970-05-05"),
        }
    )
    publish(store_engine, frame, ["P000000009"])
    with store_engine.connect() as c:
        person = c.execute(select(Person)).one()
        assert person.surname == hostile and person.forenames == "=SUM(A1)"
        assert source_of(person.lineage, "surname")[1] == "K'1\"\\"


def test_a_failure_during_publish_rolls_everything_back(store_engine, monkeypatch):
    from nominal.store import bulk

    frame = three_agencies()
    publish(store_engine, frame, ["P000000001"] * 3)
    changed = frame.copy()
    changed["address"] = "CHANGED"
    real_upsert = bulk.upsert

    def drop_midway(connection, table, data, keys, keep=()):
        if table.name == "exceptions":  # persons and links are already written in this transaction
            from sqlalchemy.exc import OperationalError

            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real_upsert(connection, table, data, keys, keep)

    monkeypatch.setattr(bulk, "upsert", drop_midway)
    with pytest.raises(Exception, match="server closed"):
        publish(store_engine, changed, ["P000000001"] * 3, AS_OF + dt.timedelta(days=1))
    with store_engine.connect() as c:
        assert c.scalar(select(Person.address)) == "2 NEW STREET"
        assert c.scalar(select(func.max(ExceptionRecord.last_seen_run_id))) == 1


def test_one_run_at_a_time_and_a_dead_holder_is_taken_over(store_engine):
    import subprocess

    holder = subprocess.Popen(["sleep", "30"])
    try:
        writes.acquire_lock(store_engine, AS_OF)
        with store_engine.begin() as c:  # pretend the live process holds it
            c.execute(writes.update(writes.RunLock).values(pid=holder.pid))
        with pytest.raises(writes.RunLocked, match="one run at a time"):
            writes.acquire_lock(store_engine, AS_OF)
    finally:
        holder.kill()
        holder.wait()
    writes.acquire_lock(store_engine, AS_OF)  # the holder died: taken over
    writes.release_lock(store_engine)
    with store_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(writes.RunLock)) == 0


def test_a_person_with_one_record_has_no_conflict_whatever_the_date_unit():
    frame = records({"feed": "police", "source_key": "N1", "surname": "A", "date_of_birth": day("1980-01-01")})
    frame["date_of_birth"] = frame["date_of_birth"].astype("datetime64[s]")
    assert prepared(frame, ["P1"]).exceptions_tonight.empty


def test_a_key_repeated_within_a_delivery_publishes_its_last_row_once():
    frame = records(
        {"feed": "police", "source_key": "N1", "surname": "FIRST", "date_of_birth": day("1980-01-02")},
        {"feed": "police", "source_key": "N1", "surname": "LAST", "date_of_birth": day("1980-01-02")},
    )
    clusters = clusters_for(frame.iloc[1:], ["P1"])
    night = prepare(
        frame,
        clusters,
        pd.DataFrame(),
        pd.DataFrame(columns=["kind"]),
        None,
        empty_store(),
        RULES,
        run_id=1,
        as_of=AS_OF,
        scope_feeds={"police"},
    )
    assert list(night.golden["surname"]) == ["LAST"] and len(night.publication.links) == 1


def test_a_failed_first_night_leaves_tables_empty_with_their_indexes_and_keys(store_engine, monkeypatch):
    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError

    from nominal.store import bulk

    real_upsert = bulk.upsert

    def fail_on_exceptions(connection, table, data, keys, keep=()):
        if table.name == "exceptions":
            raise OperationalError("COPY", {}, Exception("connection lost"))
        return real_upsert(connection, table, data, keys, keep)

    monkeypatch.setattr(bulk, "upsert", fail_on_exceptions)
    with pytest.raises(OperationalError):
        publish(store_engine, three_agencies(), ["P000000001"] * 3)
    inspector = inspect(store_engine)
    assert "ix_persons_pnc_id" in {i["name"] for i in inspector.get_indexes("persons")}
    assert inspector.get_foreign_keys("person_links")
    with store_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Person)) == 0
    monkeypatch.undo()
    publish(store_engine, three_agencies(), ["P000000001"] * 3)
