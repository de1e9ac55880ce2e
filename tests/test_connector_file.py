"""The file connector: CSV / PSV / TSV through the shared parser, Parquet through pyarrow."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from nominal.connectors import file
from nominal.connectors.base import FetchContext
from nominal.errors import FeedError

AS_OF = dt.date(2024, 1, 31)
CSV = "pnc_id,surname,forenames,date_of_birth\n2001/0012345A,SMITH,John,1980-02-29\n2002/0000001B,O'BRIEN,,1975-12-01\n"


def fetch(tmp_path, **options):
    return file.fetch("police", file.Options(**options), FetchContext(as_of=AS_OF, landing_dir=tmp_path))


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# --- delimited text ---------------------------------------------------------------------------


def test_csv_is_read_as_text_with_provenance_and_checksum(tmp_path):
    path = write(tmp_path, "police.csv", CSV)
    extract = fetch(tmp_path, path=str(path))

    assert extract.columns == ["pnc_id", "surname", "forenames", "date_of_birth"]
    assert list(extract.frame.columns) == ["_feed", "_source", "_row", *extract.columns]
    assert all(extract.frame[c].dtype == "str" for c in extract.columns)
    assert extract.frame["surname"].tolist() == ["SMITH", "O'BRIEN"]
    assert extract.frame["forenames"].tolist() == ["John", ""]  # an empty field stays ""
    assert extract.frame["_row"].tolist() == [1, 2]
    assert set(extract.frame["_source"]) == {"police.csv"}
    assert extract.source == "police.csv"
    assert extract.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert extract.as_of == AS_OF


def test_path_placeholders_are_filled_from_the_as_of_date(tmp_path):
    write(tmp_path, "police_20240131.csv", CSV)
    extract = fetch(tmp_path, path="police_{date:%Y%m%d}.csv")
    assert extract.source == "police_20240131.csv"
    assert extract.rows == 2


def test_as_of_placeholder_is_the_iso_date(tmp_path):
    write(tmp_path, "police_2024-01-31.csv", CSV)
    assert fetch(tmp_path, path="police_{as_of}.csv").rows == 2


def test_relative_path_without_landing_dir_is_under_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path, "police.csv", CSV)
    monkeypatch.chdir(tmp_path)
    extract = file.fetch("police", file.Options(path="police.csv"), FetchContext())
    assert extract.rows == 2


def test_placeholder_without_an_as_of_date_is_a_feed_error(tmp_path):
    with pytest.raises(FeedError, match="as-of date"):
        file.fetch("police", file.Options(path="p_{date:%Y%m%d}.csv"), FetchContext(landing_dir=tmp_path))


@pytest.mark.parametrize(
    ("name", "content", "options", "expected"),
    [
        ("prison.psv", "noms|surname\nA1234BC|SMITH\n", {}, ["A1234BC", "SMITH"]),
        ("probation.tsv", "crn\tsurname\nX123456\tJONES\n", {}, ["X123456", "JONES"]),
        ("probation.txt", "crn;surname\nX123456;JONES\n", {"format": "csv", "delimiter": ";"}, ["X123456", "JONES"]),
        ("police.PSV", "noms|surname\nA1234BC|SMITH\n", {}, ["A1234BC", "SMITH"]),
    ],
)
def test_format_and_delimiter(tmp_path, name, content, options, expected):
    path = write(tmp_path, name, content)
    extract = fetch(tmp_path, path=str(path), **options)
    assert extract.frame.loc[0, extract.columns].tolist() == expected


def test_no_quoting_keeps_double_quotes_as_data(tmp_path):
    path = write(tmp_path, "prison.psv", 'noms|alias\nA1234BC|"Smudger" SMITH\n')
    extract = fetch(tmp_path, path=str(path), quoting=False)
    assert extract.frame.loc[0, "alias"] == '"Smudger" SMITH'


def test_other_encoding_and_utf8_bom(tmp_path):
    latin = write(tmp_path, "a.csv", "surname\nBRONTË\n".encode("cp1252"))
    assert fetch(tmp_path, path=str(latin), encoding="cp1252").frame.loc[0, "surname"] == "BRONTË"
    bom = write(tmp_path, "b.csv", b"\xef\xbb\xbfsurname\nZO\xc3\x8b\n")
    extract = fetch(tmp_path, path=str(bom))
    assert extract.columns == ["surname"]
    assert extract.frame.loc[0, "surname"] == "ZOË"


def test_headerless_file_takes_column_names(tmp_path):
    path = write(tmp_path, "p.csv", "A1,SMITH\nA2,JONES\n")
    extract = fetch(tmp_path, path=str(path), header=False, column_names=["id", "surname"])
    assert extract.columns == ["id", "surname"]
    assert extract.frame["_row"].tolist() == [1, 2]


def test_missing_file_is_a_feed_error_naming_the_path(tmp_path):
    with pytest.raises(FeedError) as caught:
        fetch(tmp_path, path="police_{date:%Y%m%d}.csv")
    assert caught.value.kind == "missing"
    assert str(tmp_path / "police_20240131.csv") in str(caught.value)


def test_parse_errors_come_from_the_shared_parser(tmp_path):
    path = write(tmp_path, "p.csv", "id,surname\n1,SMITH\n2,JONES,EXTRA\n")
    with pytest.raises(FeedError) as caught:
        fetch(tmp_path, path=str(path))
    assert caught.value.kind == "ragged_row"
    assert caught.value.row == 2


# --- Parquet ------------------------------------------------------------------------------------


def test_parquet_columns_become_iso_text(tmp_path):
    table = pa.table(
        {
            "id": pa.array([1, None, 3], pa.int64()),
            "surname": pa.array(["SMITH", "", None]),
            "dob": pa.array([dt.date(1980, 2, 29), None, dt.date(2001, 1, 1)]),
            "updated": pa.array(
                [dt.datetime(2024, 1, 31, 9, 30), dt.datetime(2024, 1, 31, 9, 30, 1, 500000), None], pa.timestamp("us")
            ),
            "score": pa.array([1.0, 2.5, None]),
            "amount": pa.array([decimal.Decimal("12.50"), None, decimal.Decimal("0.01")], pa.decimal128(5, 2)),
            "flag": pa.array([True, False, None]),
            "aliases": pa.array([["JS", "Smudge"], [], None]),
            "sex": pa.array(["M", "F", "M"]).dictionary_encode(),
        }
    )
    path = tmp_path / "police.parquet"
    pq.write_table(table, path)

    extract = fetch(tmp_path, path="police.parquet")
    frame = extract.frame
    assert extract.columns == table.column_names
    assert all(frame[c].dtype == "str" for c in extract.columns)
    assert frame["id"].tolist()[::2] == ["1", "3"] and pd.isna(frame.loc[1, "id"])
    assert frame.loc[1, "surname"] == "" and pd.isna(frame.loc[2, "surname"])
    assert frame.loc[0, "dob"] == "1980-02-29"
    assert frame["updated"].tolist()[:2] == ["2024-01-31T09:30:00", "2024-01-31T09:30:01.500000"]
    assert frame["score"].tolist()[:2] == ["1", "2.5"]
    assert frame.loc[0, "amount"] == "12.50"
    assert frame["flag"].tolist()[:2] == ["true", "false"]
    assert frame["aliases"].tolist()[:2] == ['["JS", "Smudge"]', "[]"]
    assert frame["sex"].tolist() == ["M", "F", "M"]
    assert frame["_row"].tolist() == [1, 2, 3]
    assert extract.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_that_is_not_parquet_is_a_feed_error(tmp_path):
    write(tmp_path, "police.parquet", CSV)
    with pytest.raises(FeedError) as caught:
        fetch(tmp_path, path="police.parquet")
    assert caught.value.kind == "bad_format"


def test_parquet_without_rows_is_empty(tmp_path):
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), tmp_path / "p.parquet")
    with pytest.raises(FeedError) as caught:
        fetch(tmp_path, path="p.parquet")
    assert caught.value.kind == "empty"


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"path": "p.csv", "sheet": "x"}, "sheet"),
        ({"path": "p.xlsx"}, "format"),
        ({"path": "p.csv", "header": False}, "column_names"),
        ({"path": "p.csv", "delimiter": "||"}, "single character"),
        ({"path": "p.csv", "encoding": "klingon"}, "klingon"),
        ({"path": "p_{day}.csv"}, "{day}"),
        ({"path": "p.parquet", "delimiter": ";"}, "parquet"),
    ],
)
def test_configuration_mistakes_are_named(options, names):
    with pytest.raises(ValidationError) as caught:
        file.Options(**options)
    assert names in str(caught.value)


def test_format_is_inferred_from_the_extension():
    assert file.Options(path="/x/feed_{date:%Y%m%d}.psv").format == "psv"
    assert file.Options(path="feed.parquet").format == "parquet"
