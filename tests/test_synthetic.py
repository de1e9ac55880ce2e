"""The synthetic feed generator: layout, byte formats, manifests, truth, errors, nights, determinism."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

from nominal import reference
from nominal.identifiers import (
    normalise_cro_number,
    normalise_ni_number,
    normalise_noms_number,
    normalise_pnc_id,
)
from nominal.synthetic import GeneratorSettings, generate
from nominal.synthetic.errors import CODES

START = dt.date(2026, 11, 23)
NIGHTS = 3
DAYS = [(START + dt.timedelta(days=k)).isoformat() for k in range(NIGHTS)]
FEEDS = {
    # feed: (file pattern, delimiter, BOM, line end, key column)
    "police": ("nominals_{}.csv", ",", True, b"\r\n", "NOMINAL_REF"),
    "probation": ("offenders_{}.psv", "|", False, b"\n", "CRN"),
    "prison": ("prisoners_{}.csv", ",", False, b"\n", "BOOKING_NO"),
}
COLUMNS = {
    "police": "NOMINAL_REF,FORCE_CODE,PNC_ID,CRO_NO,SURNAME,FORENAME_1,FORENAME_2,ALIASES,DOB,SEX,ADDRESS,POSTCODE,"
    "NOMINAL_TYPE,MAPPA_CATEGORY,MAPPA_LEVEL,RISK_LEVEL,REGISTRATION_START,LAST_NOTIFIED,NOTIFICATION_DUE,LAST_UPDATED",
    "probation": "CRN|PNC|CRO|NOMS|FIRST_NAME|SECOND_NAME|SURNAME|DATE_OF_BIRTH|GENDER|NI_NUMBER|ADDRESS|POSTCODE|"
    "MAPPA_CATEGORY|MAPPA_LEVEL|ROSH|OASYS_DATE|PROBATION_AREA|OFFENDER_MANAGER|CUSTODY_STATUS|SENTENCE_DATE|"
    "LICENCE_END|LAST_UPDATED",
    "prison": "BOOKING_NO,PRISON_NUMBER,LAST_NAME,FIRST_NAME,MIDDLE_NAMES,BIRTH_DATE,SEX_CODE,PNC,CRO,"
    "ESTABLISHMENT_CODE,RECEPTION_DATE,RELEASE_DATE,STATUS,ALIASES,LAST_UPDATED",
}
DMY, ISO = "%d/%m/%Y", "%Y-%m-%d"
DATE_COLUMNS = {
    "police": {"DOB": DMY, "REGISTRATION_START": DMY, "LAST_NOTIFIED": DMY, "NOTIFICATION_DUE": DMY,
               "LAST_UPDATED": "%d/%m/%Y %H:%M:%S"},
    "probation": {"DATE_OF_BIRTH": ISO, "OASYS_DATE": ISO, "SENTENCE_DATE": ISO, "LICENCE_END": ISO,
                  "LAST_UPDATED": "%Y-%m-%dT%H:%M:%S"},
    "prison": {"BIRTH_DATE": ISO, "RECEPTION_DATE": ISO, "RELEASE_DATE": ISO, "LAST_UPDATED": "%Y-%m-%d %H:%M:%S"},
}  # fmt: skip
CODE_VALUES = {
    "police": {"SEX": {"M", "F", "U"}, "NOMINAL_TYPE": {"RSO", "VO", "PDP"}, "MAPPA_CATEGORY": {"", "1", "2", "3"},
               "MAPPA_LEVEL": {"", "1", "2", "3"}, "RISK_LEVEL": {"LOW", "MEDIUM", "HIGH", "VERY HIGH"}},
    "probation": {"GENDER": {"Male", "Female", "Not Known"}, "MAPPA_CATEGORY": {"", "M1", "M2", "M3"},
                  "MAPPA_LEVEL": {"", "L1", "L2", "L3"}, "ROSH": {"Low", "Medium", "High", "Very High"},
                  "CUSTODY_STATUS": {"In Custody", "Released on Licence", "Community Order",
                                     "Post Sentence Supervision"}},
    "prison": {"SEX_CODE": {"M", "F", "NK", "NS"}, "STATUS": {"ACTIVE IN", "ACTIVE OUT", "INACTIVE OUT"}},
}  # fmt: skip
ID_COLUMNS = {
    "police": {"pnc_id": "PNC_ID", "cro_number": "CRO_NO"},
    "probation": {"pnc_id": "PNC", "cro_number": "CRO", "ni_number": "NI_NUMBER", "noms_number": "NOMS"},
    "prison": {"pnc_id": "PNC", "cro_number": "CRO"},
}
KEY_FORMATS = {"police": r"NOM\d{8}", "probation": r"[A-Z]\d{6}", "prison": r"[A-Z]\d{5}"}


def _file(out: Path, feed: str, day: str) -> Path:
    return out / "landing" / feed / day / FEEDS[feed][0].format(day.replace("-", ""))


def _rows(out: Path, feed: str, day: str) -> list[list[str]]:
    """Every record of a delivery, parsed with Python's csv module (strict)."""
    _, delimiter, bom, _, _ = FEEDS[feed]
    text = _file(out, feed, day).read_bytes().decode("utf-8-sig" if bom else "utf-8")
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True))


def _frame(out: Path, feed: str, day: str) -> pd.DataFrame:
    rows = _rows(out, feed, day)
    return pd.DataFrame(rows[1:], columns=rows[0], dtype="str")


def _truth(out: Path, day: str, name: str) -> pd.DataFrame:
    return pd.read_csv(out / "truth" / day / name, dtype="str", keep_default_na=False)


def _errors_by_record(out: Path, day: str) -> dict[tuple[str, str], set[tuple[str, str]]]:
    found = defaultdict(set)
    for feed, key, field, error in _truth(out, day, "errors.csv").itertuples(index=False):
        found[(feed, key)].add((field, error))
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    report = generate(people=1500, seed=7, out=out, nights=NIGHTS, start_date=START)
    return out, report


@pytest.fixture(scope="module")
def people(run) -> pd.DataFrame:
    return pd.read_csv(run[0] / "truth" / "people.csv", dtype="str", keep_default_na=False).set_index("person_id")


# --- layout and bytes ----------------------------------------------------------------------------


def test_layout_and_file_names(run):
    out, report = run
    for day in DAYS:
        for feed in FEEDS:
            folder = out / "landing" / feed / day
            assert sorted(p.name for p in folder.iterdir()) == sorted([_file(out, feed, day).name, "manifest.json"])
        assert (out / "truth" / day / "records.csv").is_file()
        assert (out / "truth" / day / "errors.csv").is_file()
    assert [n.date.isoformat() for n in report.nights] == DAYS
    summary = json.loads(json.dumps(report.as_dict()))
    assert list(summary["nights"]) == DAYS
    assert summary["nights"][DAYS[0]]["police"]["rows"] == report.nights[0].deliveries["police"].rows > 0
    assert summary["nights"][DAYS[0]]["prison"]["path"] == str(_file(out, "prison", DAYS[0]))
    assert list(summary["truth"]) == DAYS and list(summary["changes"]) == DAYS[1:]


def test_bom_and_line_ends(run):
    out, _ = run
    for day in DAYS:
        for feed, (_, _, bom, newline, _) in FEEDS.items():
            data = _file(out, feed, day).read_bytes()
            records = len(_rows(out, feed, day))  # header included
            assert data.startswith(b"\xef\xbb\xbf") is bom
            assert data.endswith(newline)
            if newline == b"\r\n":  # an embedded line break inside a quoted address is a bare LF
                assert data.count(b"\r\n") == records
            else:
                assert b"\r" not in data and data.count(b"\n") == records
            header = data.decode("utf-8-sig").split(newline.decode(), 1)[0]
            assert header == COLUMNS[feed]


def test_manifests_match_the_files(run):
    out, _ = run
    for day in DAYS:
        for feed in FEEDS:
            manifest_text = (out / "landing" / feed / day / "manifest.json").read_text()
            manifest = json.loads(manifest_text)
            data = _file(out, feed, day).read_bytes()
            assert manifest_text == json.dumps(manifest, indent=1)
            assert set(manifest) == {"feed", "extract_date", "extracted_at", "file", "rows", "sha256", "schema_version"}
            assert manifest["feed"] == feed and manifest["extract_date"] == day
            assert manifest["file"] == _file(out, feed, day).name and manifest["schema_version"] == 1
            assert re.fullmatch(rf"{day}T23:4\d:\d\dZ", manifest["extracted_at"])
            assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
            assert manifest["rows"] == len(_rows(out, feed, day)) - 1


def test_every_row_parses_with_valid_dates_codes_and_keys(run):
    out, _ = run
    for day in DAYS:
        for feed in FEEDS:
            rows = _rows(out, feed, day)
            header = rows[0]
            assert all(len(row) == len(header) for row in rows[1:])
            frame = pd.DataFrame(rows[1:], columns=header)
            for column, fmt in DATE_COLUMNS[feed].items():
                for value in frame[column][frame[column] != ""].unique():
                    dt.datetime.strptime(value, fmt)  # a valid calendar date in the documented format
            for column, allowed in CODE_VALUES[feed].items():
                assert set(frame[column]) <= allowed, (feed, column)
            key = FEEDS[feed][4]
            assert frame[key].str.fullmatch(KEY_FORMATS[feed]).all() and frame[key].is_unique


def test_feed_specific_consistency(run):
    out, _ = run
    for day in DAYS:
        police = _frame(out, "police", day)
        rules = {"RSO": {"1"}, "VO": {"2"}, "PDP": {"3", ""}}
        assert all(cat in rules[kind] for kind, cat in zip(police.NOMINAL_TYPE, police.MAPPA_CATEGORY))
        assert ((police.NOMINAL_TYPE == "RSO") == (police.REGISTRATION_START != "")).all()
        prison = _frame(out, "prison", day)
        assert ((prison.STATUS == "INACTIVE OUT") == (prison.ESTABLISHMENT_CODE == "OUT")).all()
        assert prison.ESTABLISHMENT_CODE.str.fullmatch(r"[A-Z]{3}").all()
        released = prison[prison.STATUS == "INACTIVE OUT"]
        assert (released.RELEASE_DATE != "").all() and (day >= released.RELEASE_DATE).all()
        assert (day >= prison.RECEPTION_DATE).all()
        probation = _frame(out, "probation", day)
        community = probation[probation.CUSTODY_STATUS == "Community Order"]
        assert (community.NOMS == "").mean() > 0.5  # community-only cases have no prison number


# --- truth ----------------------------------------------------------------------------------------


def test_truth_covers_every_delivered_record_exactly_once(run):
    out, _ = run
    for day in DAYS:
        records = _truth(out, day, "records.csv")
        assert list(records.columns) == ["feed", "source_key", "person_id"]
        assert not records.duplicated(["feed", "source_key"]).any()
        assert records.person_id.str.fullmatch(r"T\d{7}").all()
        for feed in FEEDS:
            delivered = _frame(out, feed, day)[FEEDS[feed][4]]
            assert sorted(records.source_key[records.feed == feed]) == sorted(delivered)
        errors = _truth(out, day, "errors.csv")
        assert list(errors.columns) == ["feed", "source_key", "field", "error"]
        delivered = set(zip(records.feed, records.source_key))
        assert set(zip(errors.feed, errors.source_key)) <= delivered
        assert set(errors.error) <= set(CODES)


def test_records_without_logged_errors_carry_the_truth(run, people):
    """Every difference between a record and its person's true attributes is a logged error."""
    out, _ = run
    day = DAYS[0]
    logged = _errors_by_record(out, day)
    truth = _truth(out, day, "records.csv").set_index(["feed", "source_key"]).person_id
    views = {
        "police": ("NOMINAL_REF", "SURNAME", ["FORENAME_1", "FORENAME_2"], "DOB", DMY, "PNC_ID", "CRO_NO"),
        "probation": ("CRN", "SURNAME", ["FIRST_NAME", "SECOND_NAME"], "DATE_OF_BIRTH", ISO, "PNC", "CRO"),
        "prison": ("BOOKING_NO", "LAST_NAME", ["FIRST_NAME", "MIDDLE_NAMES"], "BIRTH_DATE", ISO, "PNC", "CRO"),
    }
    for feed, (key, surname, forenames, dob, fmt, pnc, cro) in views.items():
        frame = _frame(out, feed, day)
        person = people.loc[[truth[(feed, k)] for k in frame[key]]].reset_index()
        fields = [{f for f, _ in logged.get((feed, k), ())} for k in frame[key]]
        names = (frame[forenames[0]] + " " + frame[forenames[1]]).str.strip().str.upper()
        true_names = person.forenames.str.split(" ").str[:2].str.join(" ") if feed == "probation" else person.forenames
        for i, row in frame.iterrows():
            if not fields[i] & {"surname", "forenames"}:
                assert row[surname].upper() == person.surname[i] and names[i] == true_names[i], (feed, row[key])
            if "date_of_birth" not in fields[i]:
                assert dt.datetime.strptime(row[dob], fmt).date().isoformat() == person.date_of_birth[i]
        for column, field, normalise, true in (
            (pnc, "pnc_id", lambda s: normalise_pnc_id(s, current_year=2026), person.pnc_id),
            (cro, "cro_number", normalise_cro_number, person.cro_number),
        ):
            result = normalise(frame[column])
            for i in range(len(frame)):
                if frame[column][i] and field not in fields[i]:
                    assert result.canonical[i] == true[i], (feed, frame[column][i], true[i])


def test_injected_identifier_errors_fail_validation(run, people):
    out, _ = run
    seen = Counter()
    for day in DAYS:
        errors = _truth(out, day, "errors.csv")
        records = _truth(out, day, "records.csv").set_index(["feed", "source_key"]).person_id
        for feed, (_, _, _, _, key) in FEEDS.items():
            frame = _frame(out, feed, day).set_index(key)
            columns = ID_COLUMNS[feed]
            normalisers = {
                "pnc_id": lambda s: normalise_pnc_id(s, current_year=2026),
                "cro_number": normalise_cro_number,
                "ni_number": normalise_ni_number,
                "noms_number": normalise_noms_number,
            }
            for field, column in columns.items():
                for code, reason in (("id_check_letter", "fails check letter"), ("id_bad_format", "bad format")):
                    keys = errors.source_key[(errors.feed == feed) & (errors.field == field) & (errors.error == code)]
                    if len(keys):
                        result = normalisers[field](frame.loc[keys, column].reset_index(drop=True))
                        assert (result.reason == reason).all(), (feed, field, code)
                        assert result.canonical.isna().all()
                        seen[code] += len(keys)
                keys = errors.source_key[
                    (errors.feed == feed) & (errors.field == field) & (errors.error == "id_other_person")
                ]
                if len(keys):
                    result = normalisers[field](frame.loc[keys, column].reset_index(drop=True))
                    own = people.loc[[records[(feed, k)] for k in keys], field].to_numpy()
                    assert result.canonical.notna().all() and (result.canonical.to_numpy() != own).all()
                    seen["id_other_person"] += len(keys)
    assert seen["id_check_letter"] > 0 and seen["id_bad_format"] > 0 and seen["id_other_person"] > 0


def test_valid_identifiers_have_correct_check_letters(run, people):
    for column, normalise in (
        ("pnc_id", lambda s: normalise_pnc_id(s, current_year=2026)),
        ("cro_number", normalise_cro_number),
    ):
        values = people[column][people[column] != ""]
        assert (normalise(values.reset_index(drop=True)).canonical.to_numpy() == values.to_numpy()).all()
    ni = people.ni_number[people.ni_number != ""].reset_index(drop=True)
    assert (normalise_ni_number(ni).canonical == ni).all()
    assert people.pnc_id.str.slice(5, 6).eq("9").all()  # synthetic serial range 9000000–9999999


def test_format_variations_normalise(run):
    out, _ = run
    police = _frame(out, "police", DAYS[0])
    pnc = police.PNC_ID[police.PNC_ID != ""]
    assert pnc.str.fullmatch(r"\d{2}/\d+[A-Za-z]").any()  # short form
    assert pnc.str.fullmatch(r"\d{4}/\d{7}[A-Z]").any()  # long form
    assert pnc.str.fullmatch(r"\d{11}[A-Za-z]").any()  # slash missing
    assert police.POSTCODE.str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}").any()  # no space
    probation = _frame(out, "probation", DAYS[0])
    ni = probation.NI_NUMBER[probation.NI_NUMBER != ""]
    assert ni.str.contains(" ").any() and (~ni.str.contains(" ")).any()


def test_blank_identifier_rates(run):
    out, _ = run
    expected = {("police", "PNC_ID"): 0.08, ("police", "CRO_NO"): 0.25, ("probation", "PNC"): 0.20,
                ("probation", "CRO"): 0.40, ("probation", "NI_NUMBER"): 0.50, ("prison", "PNC"): 0.15,
                ("prison", "CRO"): 0.30}  # fmt: skip
    for (feed, column), rate in expected.items():
        blank = (_frame(out, feed, DAYS[0])[column] == "").mean()
        assert abs(blank - rate) < 0.05, (feed, column, blank)


# --- realism --------------------------------------------------------------------------------------


def test_feed_overlap_and_duplicates(run):
    out, _ = run
    records = _truth(out, DAYS[0], "records.csv")
    feeds_per_person = records.groupby("person_id").feed.nunique()
    assert (feeds_per_person == 1).mean() > 0.25 and (feeds_per_person >= 2).mean() > 0.35
    assert (feeds_per_person == 3).any()
    assert 1.6 < len(records) / records.person_id.nunique() < 1.95
    errors = _truth(out, DAYS[0], "errors.csv")
    for feed in ("police", "probation"):
        per_person = records[records.feed == feed].groupby("person_id").size()
        assert (per_person > 1).any(), feed
        duplicates = errors[(errors.feed == feed) & (errors.error == "duplicate_record")]
        assert len(duplicates) == (per_person - 1).sum()
    police = _frame(out, "police", DAYS[0]).merge(
        records[records.feed == "police"], left_on="NOMINAL_REF", right_on="source_key"
    )
    twice = police[police.person_id.duplicated(keep=False)]
    assert (twice.groupby("person_id").FORCE_CODE.nunique() == 2).all()  # registered in two forces
    prison = records[records.feed == "prison"].groupby("person_id").size()
    assert (prison > 1).any()  # people with several bookings


def test_nicknames_appear_in_probation(run, people):
    out, _ = run
    day = DAYS[0]
    errors = _truth(out, day, "errors.csv")
    nicknamed = errors.source_key[(errors.feed == "probation") & (errors.error == "nickname")]
    assert len(nicknamed)
    pairs = set(zip(reference.nicknames().name, reference.nicknames().nickname))
    probation = _frame(out, "probation", day).set_index("CRN")
    owners = _truth(out, day, "records.csv").set_index(["feed", "source_key"]).person_id
    found = [
        (people.forenames[owners[("probation", k)]].split(" ")[0], probation.FIRST_NAME[k].upper()) in pairs
        for k in nicknamed
    ]
    assert any(found)


def test_population_looks_like_offenders(people):
    assert 0.8 < (people.sex == "M").mean() < 0.95
    age = (pd.Timestamp(START) - pd.to_datetime(people.date_of_birth)).dt.days / 365.25
    assert age.min() >= 18 and ((age >= 25) & (age <= 55)).mean() > 0.5
    surnames = people.surname.value_counts()
    assert surnames.index[0] in {"SMITH", "JONES", "WILLIAMS"}
    assert (surnames == 1).sum() > 100  # a long tail of rare surnames


def test_reference_lists():
    nicknames = reference.nicknames()
    assert nicknames.name.nunique() >= 150
    assert (nicknames.name.str.upper() == nicknames.name).all() and not nicknames.duplicated().any()
    assert {"BILL", "WILL", "LIAM"} <= set(reference.nickname_map()["WILLIAM"])
    surnames = reference.surnames()
    assert len(surnames) >= 1000
    for pattern in (r"MC.+", r"MAC.+", r"O'.+", r".+-.+"):
        assert surnames.name.str.fullmatch(pattern).any(), pattern
    assert {"PATEL", "KHAN", "SINGH", "AHMED"} <= set(surnames.name)
    forenames = reference.forenames()
    assert (forenames.groupby("sex").size() >= 200).all()
    districts = reference.postcode_districts()
    assert {"LS6", "M1", "SW1A", "B15"} <= set(districts.outward)


# --- nights ---------------------------------------------------------------------------------------


def test_nights_evolve_with_stable_keys(run):
    out, report = run
    for feed, (_, _, _, _, key) in FEEDS.items():
        for before, after in zip(DAYS, DAYS[1:]):
            a = _frame(out, feed, before).set_index(key)
            b = _frame(out, feed, after).set_index(key)
            kept = a.index.intersection(b.index)
            assert len(kept) > 0.95 * len(a)
            changed = (a.loc[kept] != b.loc[kept]).any(axis=1)
            assert changed.mean() < 0.05
            bumped = a.loc[kept, "LAST_UPDATED"] != b.loc[kept, "LAST_UPDATED"]
            assert (bumped | ~changed).all()  # a changed record has a new LAST_UPDATED
    added = sum(sum(n.added.values()) for n in report.nights[1:])
    removed = sum(sum(n.removed.values()) for n in report.nights[1:])
    updated = sum(sum(n.updated.values()) for n in report.nights[1:])
    assert added > 0 and removed > 0 and updated > 0
    keys = [set(_truth(out, day, "records.csv").source_key) for day in DAYS]
    assert keys[1] - keys[0] and keys[0] - keys[1]
    for feed in FEEDS:  # an identical extract would be taken for a re-delivery
        assert len({night.deliveries[feed].sha256 for night in report.nights}) == NIGHTS


def test_tiny_populations_still_change_every_night(tmp_path):
    report = generate(people=5, seed=2, out=tmp_path, nights=3, start_date=START)
    for feed in FEEDS:
        assert len({night.deliveries[feed].sha256 for night in report.nights}) == 3


def test_errors_persist_from_night_to_night(run):
    out, _ = run
    first, second = (_truth(out, day, "errors.csv") for day in DAYS[:2])
    delivered = set(_truth(out, DAYS[1], "records.csv").source_key)
    carried = first[first.source_key.isin(delivered)]
    merged = carried.merge(second, how="left", indicator=True)
    assert (merged._merge == "both").mean() > 0.97  # only updated fields lose their errors


# --- determinism and settings ---------------------------------------------------------------------


def _digests(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    kwargs = {"people": 300, "nights": 2, "start_date": START}
    generate(seed=3, out=tmp_path / "a", **kwargs)
    generate(seed=3, out=tmp_path / "b", **kwargs)
    generate(seed=4, out=tmp_path / "c", **kwargs)
    a, b, c = (_digests(tmp_path / name) for name in "abc")
    assert a == b
    assert all(a[name] != c[name] for name in a if "landing" in name and name.endswith((".csv", ".psv")))


def test_without_errors_injects_none(tmp_path):
    settings = GeneratorSettings().without_errors()
    assert settings.typo == settings.embedded_newline == settings.police_duplicate == 0.0
    generate(people=300, seed=5, out=tmp_path, nights=2, start_date=START, settings=settings)
    assert _truth(tmp_path, DAYS[0], "errors.csv").empty
    # Later, only people moving leave their old address on their other records.
    assert set(_truth(tmp_path, DAYS[1], "errors.csv").error) <= {"stale_address"}


def test_settings_are_validated_and_documented():
    with pytest.raises(ValueError):
        GeneratorSettings(typo=1.5)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "synthetic.md").read_text()
    for f in dataclasses.fields(GeneratorSettings):
        assert f"`{f.name}`" in docs, f.name
    for code in CODES:
        assert f"`{code}`" in docs, code


def test_progress_reports_fractions(tmp_path):
    seen = []
    generate(people=50, seed=1, out=tmp_path, nights=2, start_date=START, progress=lambda m, f: seen.append((m, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(isinstance(m, str) for m, _ in seen)
