"""Mapping rules: each field type, normaliser and option, and the shipped feed mappings."""

from __future__ import annotations

import datetime as dt
import textwrap

import pandas as pd
import pytest

from nominal import canonical
from nominal.config import SHIPPED_MAPPINGS
from nominal.connectors.base import with_provenance
from nominal.errors import ConfigError, FeedError
from nominal.mappings.apply import map_records
from nominal.mappings.spec import MappingSpec, load_mapping

AS_OF = dt.date(2026, 11, 23)


def spec(fields: dict, extra: dict | None = None) -> MappingSpec:
    return MappingSpec.model_validate(
        {"fields": {"source_key": {"from": "KEY", "type": "key"}, **fields}, "extra": extra or {}}
    )


def run(mapping: MappingSpec, **columns):
    n = len(next(iter(columns.values())))
    raw = {"KEY": [f"K{i}" for i in range(n)], **columns}
    frame = with_provenance(pd.DataFrame(raw).astype("str"), "test", "test.csv")
    return map_records(frame, mapping, feed="test", source="test.csv", as_of=AS_OF)


def values(result, field):
    return [None if pd.isna(v) else v for v in result.frame[field]]


def issues(result):
    return [(r.row, r.field, r.reason) for r in result.issues.itertuples()]


def test_output_is_the_canonical_frame():
    result = run(spec({"surname": {"from": "S", "type": "name"}}), S=["smith"])
    assert list(result.frame.columns) == list(canonical.COLUMNS)
    assert dict(result.frame.dtypes.astype(str)) == {
        k: ("str" if v == "str" else v) for k, v in canonical.DTYPES.items()
    }
    row = result.frame.iloc[0]
    assert (row.feed, row.source_key, row._source, row._row) == ("test", "K0", "test.csv", 1)
    assert row.extract_date == pd.Timestamp(AS_OF)


def test_name_is_trimmed_collapsed_upper_cased_with_apostrophes_and_hyphens_straightened():
    result = run(
        spec({"surname": {"from": "S", "type": "name"}}),
        S=["  o\u2019brien ", "smith -  jones", "mc  donald", "", "   ", "O' NEIL"],
    )
    assert values(result, "surname") == ["O'BRIEN", "SMITH-JONES", "MC DONALD", None, None, "O'NEIL"]
    assert result.issues.empty  # blank is missing, not wrong


def test_several_columns_join_with_a_space():
    result = run(
        spec({"forenames": {"from": ["F1", "F2"], "type": "name"}}), F1=["john", "", "ann"], F2=["paul", "lee", ""]
    )
    assert values(result, "forenames") == ["JOHN PAUL", "LEE", "ANN"]


def test_text_collapses_white_space_including_line_breaks():
    result = run(spec({"address": {"from": "A", "type": "text"}}), A=["1 High St,\r\n  Leeds ", "x\ty"])
    assert values(result, "address") == ["1 High St, Leeds", "x y"]


@pytest.mark.parametrize(
    "order, sent, surname, forenames",
    [
        ("surname_first", "SMITH, John Paul", "SMITH", "JOHN PAUL"),
        ("surname_first", "SMITH JOHN", "SMITH", "JOHN"),
        ("forenames_first", "John Paul Smith", "SMITH", "JOHN PAUL"),
        ("forenames_first", "Smith, John", "SMITH", "JOHN"),
        ("forenames_first", "Cher", "CHER", None),
    ],
)
def test_full_name_is_split(order, sent, surname, forenames):
    mapping = spec(
        {
            "surname": {"from": "N", "type": "full_name", "part": "surname", "order": order},
            "forenames": {"from": "N", "type": "full_name", "part": "forenames", "order": order},
        }
    )
    result = run(mapping, N=[sent])
    assert values(result, "surname") == [surname]
    assert values(result, "forenames") == [forenames]


def test_aliases_in_both_shipped_styles_become_one_canonical_list():
    police = run(
        spec({"aliases": {"from": "A", "type": "aliases", "separator": ";", "name_separator": ","}}),
        A=["RICHARDS, NEIL; brown,  gary", "", "SMITH"],
    )
    prison = run(
        spec({"aliases": {"from": "A", "type": "aliases", "separator": ";", "name_separator": "/"}}),
        A=["PALMER/ALEXANDER;WALKER/JOE", "", ""],
    )
    assert values(police, "aliases") == ["RICHARDS, NEIL; BROWN, GARY", None, "SMITH"]
    assert values(prison, "aliases") == ["PALMER, ALEXANDER; WALKER, JOE", None, None]


def test_code_table_is_case_insensitive_and_unknown_codes_are_issues():
    mapping = spec({"sex": {"from": "G", "type": "code", "codes": {"Male": "M", "Female": "F", "Not Known": "U"}}})
    result = run(mapping, G=["Male", "FEMALE", "not  known", "Bloke", ""])
    assert values(result, "sex") == ["M", "F", "U", None, None]
    assert issues(result) == [(4, "sex", "not one of the known codes")]
    assert result.issues.loc[0, "value"] == "Bloke"  # a short code is shown; it is not personal data


def test_integer_codes_give_small_integers():
    mapping = spec({"mappa_level": {"from": "L", "type": "code", "codes": {"L1": 1, "L2": 2, "L3": 3}}})
    result = run(mapping, L=["L1", "L3", ""])
    assert str(result.frame["mappa_level"].dtype) == "Int8"
    assert values(result, "mappa_level") == [1, 3, None]


def test_dates_in_the_given_formats_and_unparseable_dates_are_issues_with_masked_values():
    mapping = spec({"date_of_birth": {"from": "D", "type": "date", "format": ["%d/%m/%Y", "%Y-%m-%d"]}})
    result = run(mapping, D=["12/09/1996", "1996-09-12", "31/02/1990", "13/13/1990", ""])
    assert values(result, "date_of_birth")[:2] == [pd.Timestamp("1996-09-12")] * 2
    assert values(result, "date_of_birth")[2:] == [None, None, None]
    assert issues(result) == [
        (3, "date_of_birth", "not a valid date in the form dd/mm/yyyy or yyyy-mm-dd"),
        (4, "date_of_birth", "not a valid date in the form dd/mm/yyyy or yyyy-mm-dd"),
    ]
    assert result.issues["value"].tolist() == ["**/**/****", "**/**/****"]


def test_datetimes():
    mapping = spec({"record_updated_at": {"from": "U", "type": "datetime", "format": "%Y-%m-%dT%H:%M:%S"}})
    result = run(mapping, U=["2026-11-23T03:10:00", "2026-11-23 03:10"])
    assert values(result, "record_updated_at") == [pd.Timestamp("2026-11-23 03:10:00"), None]
    assert issues(result)[0][2] == "not a valid date and time in the form yyyy-mm-ddTHH:MM:SS"


def test_integer_type():
    result = run(spec({}, extra={"count": {"from": "C", "type": "integer"}}), C=["12", "1,200", "1.5", "x"])
    assert values(result, "count") == [12, 1200, None, None]
    assert [i[2] for i in issues(result)] == ["not a whole number"] * 2


def test_identifiers_are_canonical_with_the_raw_value_kept_and_invalid_ones_reported_masked():
    mapping = spec({"pnc_id": {"from": "P", "type": "pnc_id"}, "ni_number": {"from": "N", "type": "ni_number"}})
    result = run(mapping, P=["01/171310W", "2001/0171310X", ""], N=["hb 10 88 40 b", "", "QQ123456A"])
    assert values(result, "pnc_id") == ["2001/0171310W", None, None]
    assert values(result, "pnc_id_raw") == ["01/171310W", "2001/0171310X", None]
    assert values(result, "ni_number") == ["HB108840B", None, None]
    assert issues(result) == [
        (2, "pnc_id", "PNC ID fails check letter"),
        (3, "ni_number", "NI number prefix not allocated"),
    ]
    assert result.issues.loc[0, "value"] == "20**/*****10X"


def test_postcode_spacing_and_case():
    result = run(spec({"postcode": {"from": "P", "type": "postcode"}}), P=["ls63tj", "SW1A  1aa", "nonsense"])
    assert values(result, "postcode") == ["LS6 3TJ", "SW1A 1AA", None]
    assert issues(result) == [(3, "postcode", "postcode bad format")]


def test_pattern_rejects_values_not_in_the_expected_form():
    result = run(
        spec({}, extra={"force": {"from": "F", "type": "text", "pattern": "0[1-9]|[1-5][0-9]|6[0-3]"}}),
        F=["33", "64", "7"],
    )
    assert values(result, "force") == ["33", None, None]
    assert [i[2] for i in issues(result)] == ["not in the expected form"] * 2


def test_normalisers_run_before_the_type():
    mapping = spec({}, extra={"code": {"from": "C", "type": "text", "normalise": ["remove_spaces", "upper"]}})
    assert values(run(mapping, C=["a b c"]), "code") == ["ABC"]


def test_overlong_values_are_kept_whole_and_reported():
    mapping = spec({"surname": {"from": "S", "type": "name", "max_length": 10}})
    result = run(mapping, S=["X" * 4000])
    assert values(result, "surname") == ["X" * 4000]
    assert issues(result) == [(1, "surname", "longer than 10 characters (kept whole)")]
    assert "XXXX" not in result.issues.loc[0, "value"]


def test_formulas_sql_and_html_are_plain_data():
    mapping = spec({"surname": {"from": "S", "type": "name"}, "address": {"from": "A", "type": "text"}})
    result = run(mapping, S=['=HYPERLINK("x")', "'; DROP TABLE persons;--"], A=["<b>1</b>", "@SUM(A1)"])
    assert values(result, "surname") == ['=HYPERLINK("X")', "'; DROP TABLE PERSONS;--"]
    assert values(result, "address") == ["<b>1</b>", "@SUM(A1)"]


def test_a_row_without_a_key_is_dropped_and_reported():
    raw = with_provenance(pd.DataFrame({"KEY": ["K1", " "], "S": ["A", "B"]}).astype("str"), "test", "t.csv")
    result = map_records(
        raw, spec({"surname": {"from": "S", "type": "name"}}), feed="test", source="t.csv", as_of=AS_OF
    )
    assert values(result, "source_key") == ["K1"]
    assert issues(result) == [(2, "source_key", "record has no key: not loaded")]
    assert result.issues.loc[0, "kind"] == "missing_key"


def test_a_missing_required_column_is_refused_with_a_rename_hint():
    raw = with_provenance(pd.DataFrame({"KEY": ["K1"], "SUR_NAME": ["A"]}).astype("str"), "test", "t.csv")
    with pytest.raises(FeedError) as caught:
        map_records(
            raw, spec({"surname": {"from": "SURNAME", "type": "name"}}), feed="test", source="t.csv", as_of=AS_OF
        )
    assert "SURNAME (renamed SUR_NAME?)" in str(caught.value)
    assert caught.value.column == "SURNAME"


def test_an_optional_column_may_be_absent_and_unknown_columns_are_reported():
    raw = with_provenance(pd.DataFrame({"KEY": ["K1"], "NEW_COL": ["x"]}).astype("str"), "test", "t.csv")
    mapping = spec({"surname": {"from": "SURNAME", "type": "name", "optional": True}})
    result = map_records(raw, mapping, feed="test", source="t.csv", as_of=AS_OF)
    assert values(result, "surname") == [None]
    assert result.unexpected_columns == ["NEW_COL"]


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("fields: {surname: {from: S}}", "source_key must be mapped"),
        ("fields: {source_key: {from: K, type: key}, shoe_size: {from: X}}", "not canonical fields: shoe_size"),
        ("fields: {source_key: {from: K, type: key, frmo: X}}", "unknown key"),
        ("fields: {source_key: {from: K, type: key}, date_of_birth: {from: D, type: date}}", "needs a format"),
        ("fields: {source_key: {from: K, type: kye}}", "Input should be"),
        ("fields: {source_key: {from: K, type: key}}\nextra: {surname: {from: S}}", "may not reuse canonical"),
        ("fields: [", "not valid YAML"),
    ],
)
def test_bad_mapping_files_are_refused_with_the_key(tmp_path, yaml_text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_mapping(path)


@pytest.mark.parametrize("feed", ["police", "probation", "prison"])
def test_shipped_mappings_load_and_map_every_column_of_their_feed(feed):
    from nominal.connectors.delimited import TextFormat, parse_delimited
    from tests.deliveries import example_bytes

    fmt = TextFormat(delimiter="|" if feed == "probation" else ",", quoting=feed != "probation")
    frame, columns = parse_delimited(example_bytes(feed), fmt, feed=feed, source="example")
    result = map_records(
        frame,
        load_mapping(SHIPPED_MAPPINGS / f"{feed}.yaml"),
        feed=feed,
        source="example",
        as_of=AS_OF,
        columns=columns,
    )
    assert result.unexpected_columns == []
    assert len(result.frame) == len(frame)
    assert result.frame["source_key"].notna().all() and result.frame["date_of_birth"].notna().all()
    assert result.frame["surname"].str.fullmatch(r"[A-Z0-9' -]+").all()  # the police example has an OCR slip, E1LIOTT


def test_prison_statuses_and_probation_codes_map_to_canonical_values():
    mapping = load_mapping(SHIPPED_MAPPINGS / "probation.yaml")
    assert mapping.fields["sex"].codes == {"Male": "M", "Female": "F", "Not Known": "U"}
    assert load_mapping(SHIPPED_MAPPINGS / "prison.yaml").fields["sex"].codes == {
        "M": "M",
        "F": "F",
        "NK": "U",
        "NS": "U",
    }


def test_a_mapping_written_in_yaml_maps_a_new_kind_of_feed(tmp_path):
    (tmp_path / "courts.yaml").write_text(
        textwrap.dedent(
            """
            fields:
              source_key: {from: CASE_ID, type: key}
              surname: {from: DEFENDANT, type: full_name, part: surname, order: forenames_first}
              forenames: {from: DEFENDANT, type: full_name, part: forenames, order: forenames_first}
              date_of_birth: {from: BORN, type: date, format: "%d.%m.%Y"}
            extra:
              court: {from: COURT, type: text}
            """
        )
    )
    raw = with_provenance(
        pd.DataFrame(
            {"CASE_ID": ["c1"], "DEFENDANT": ["Mary Ann O'Neil"], "BORN": ["01.02.1980"], "COURT": ["Leeds"]}
        ).astype("str"),
        "courts",
        "c.csv",
    )
    result = map_records(raw, load_mapping(tmp_path / "courts.yaml"), feed="courts", source="c.csv", as_of=AS_OF)
    row = result.frame.iloc[0]
    assert (row.source_key, row.surname, row.forenames, row.court) == ("C1", "O'NEIL", "MARY ANN", "Leeds")
    assert row.date_of_birth == pd.Timestamp("1980-02-01")
