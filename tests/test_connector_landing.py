"""The landing connector: verified deliveries, archive, and every kind of bad delivery."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest

from nominal.connectors import FetchContext
from nominal.connectors.landing import Options, fetch
from nominal.errors import AlreadyLoaded, DeliveryIncomplete, FeedError
from tests.deliveries import EXAMPLE_NIGHT, example_bytes, write_delivery

POLICE = Options(file="nominals_{date:%Y%m%d}.csv", delimiter=",", quoting=True)
PROBATION = Options(file="offenders_{date:%Y%m%d}.psv", delimiter="|", quoting=False)
PRISON = Options(file="prisoners_{date:%Y%m%d}.csv", delimiter=",", quoting=True)
NIGHT = EXAMPLE_NIGHT


@pytest.fixture
def context(tmp_path):
    return FetchContext(as_of=NIGHT, landing_dir=tmp_path / "landing", archive_dir=tmp_path / "archive")


def police_rows(*rows: str, header: str | None = None) -> bytes:
    header = header or example_bytes("police").decode("utf-8-sig").split("\r\n")[0]
    return ("\ufeff" + "\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


GOOD_POLICE_ROW = (
    'NOM00000001,33,2014/0386693F,406084/24B,FOSTER,NEIL,GARY,"RICHARDS, NEIL",12/09/1996,M,'
    '"90 Queens Road, Bradford",LS6 3TJ,VO,1,1,HIGH,,,,23/11/2026 02:00:00'
)


def test_example_delivery_loads_with_provenance(context):
    write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"))
    extract = fetch("police", POLICE, context)
    assert extract.rows == 19 and extract.status == "new"
    assert extract.columns[0] == "NOMINAL_REF"  # the byte-order mark is not part of the first name
    first = extract.frame.iloc[0]
    assert (first["_feed"], first["_source"], first["_row"]) == ("police", "nominals_20261123.csv", 1)
    assert extract.frame["_row"].tolist() == list(range(1, 20))
    assert first["ADDRESS"] == "90 Queens Road, Bradford"


def test_commit_archives_read_only_copies_with_the_manifest(context):
    write_delivery(context.landing_dir, "prison", NIGHT, example_bytes("prison"))
    extract = fetch("prison", PRISON, context)
    archived = extract.commit()
    assert archived == context.archive_dir / "prison" / NIGHT.isoformat() / extract.sha256
    files = sorted(p.name for p in archived.iterdir())
    assert files == ["manifest.json", "prisoners_20261123.csv"]
    for path in archived.iterdir():
        assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert (archived / "prisoners_20261123.csv").read_bytes() == example_bytes("prison")


def test_same_delivery_again_is_reported_already_loaded_and_not_archived_twice(context):
    write_delivery(context.landing_dir, "prison", NIGHT, example_bytes("prison"))
    first = fetch("prison", PRISON, context)
    first.commit()
    again = fetch("prison", PRISON, context)
    assert again.status == "already_loaded"
    assert again.commit() == first.commit()
    assert len(list((context.archive_dir / "prison" / NIGHT.isoformat()).iterdir())) == 1


def test_same_extract_delivered_as_another_night_is_refused(context):
    write_delivery(context.landing_dir, "prison", NIGHT, example_bytes("prison"))
    fetch("prison", PRISON, context).commit()
    next_night = NIGHT + dt.timedelta(days=1)
    write_delivery(context.landing_dir, "prison", next_night, example_bytes("prison"))
    with pytest.raises(AlreadyLoaded, match="already loaded as the delivery of 2026-11-23"):
        fetch("prison", PRISON, FetchContext(next_night, context.landing_dir, context.archive_dir))


def test_a_corrected_redelivery_of_the_same_night_is_loaded_as_redelivered(context):
    write_delivery(context.landing_dir, "prison", NIGHT, example_bytes("prison"))
    fetch("prison", PRISON, context).commit()
    corrected = example_bytes("prison").replace(b"MOORE", b"MOORS")
    write_delivery(context.landing_dir, "prison", NIGHT, corrected)
    extract = fetch("prison", PRISON, context)
    assert extract.status == "redelivered"
    extract.commit()
    assert len(list((context.archive_dir / "prison" / NIGHT.isoformat()).iterdir())) == 2


def assert_refused(context, feed, options, error_type, *fragments, row=None, column=None):
    with pytest.raises(error_type) as caught:
        fetch(feed, options, context)
    message = str(caught.value)
    assert message.startswith(feed), message
    for fragment in fragments:
        assert fragment in message, message
    if row is not None:
        assert caught.value.row == row, message
    if column is not None:
        assert caught.value.column == column, message
    assert not (context.archive_dir / feed).exists(), "nothing may be archived from a refused delivery"
    return caught.value


def test_missing_delivery(context):
    error = assert_refused(context, "police", POLICE, DeliveryIncomplete, "no delivery for 2026-11-23")
    assert error.kind == "missing"


def test_no_manifest(context):
    write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"), manifest=False)
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "no manifest.json", "incomplete")


def test_manifest_names_a_file_that_is_not_there(context):
    folder = write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"))
    (folder / "nominals_20261123.csv").unlink()
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "manifest names nominals_20261123.csv")


def test_checksum_mismatch(context):
    write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"), sha256="0" * 64)
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "sha256", "still being written")


def test_row_count_mismatch(context):
    write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"), rows=20)
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "manifest says 20 rows, the file has 19")


def test_truncated_file(context):
    data = example_bytes("police")
    full_rows = 19
    cut = data[: data.rfind(b"\r\n", 0, len(data) // 2) + 2]
    write_delivery(context.landing_dir, "police", NIGHT, cut, rows=full_rows, sha256="1" * 64)
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "sha256")


@pytest.mark.parametrize("body", [b"", b"   \r\n", b"\xef\xbb\xbf"])
def test_empty_file(context, body):
    write_delivery(context.landing_dir, "police", NIGHT, body, rows=0)
    assert_refused(context, "police", POLICE, FeedError, "file is empty")


def test_header_only(context):
    header = example_bytes("police").split(b"\r\n")[0] + b"\r\n"
    write_delivery(context.landing_dir, "police", NIGHT, header, rows=0)
    assert_refused(context, "police", POLICE, FeedError, "header but no data rows")


def test_wrong_delimiter(context):
    semicolons = example_bytes("probation").replace(b"|", b";")
    write_delivery(context.landing_dir, "probation", NIGHT, semicolons, rows=16)
    assert_refused(context, "probation", PROBATION, FeedError, "not '|'-delimited", "looks ';'-delimited")


def test_wrong_encoding_names_the_row_and_column(context):
    latin1 = police_rows(
        GOOD_POLICE_ROW, GOOD_POLICE_ROW.replace("NOM00000001", "NOM00000002").replace("FOSTER", "FOSTÉR")
    ).decode("utf-8")
    data = latin1.encode("latin-1", errors="replace")  # drops the BOM to '?'… so rebuild it
    data = data.replace(b"?NOMINAL_REF", b"\xef\xbb\xbfNOMINAL_REF", 1)
    write_delivery(context.landing_dir, "police", NIGHT, data, rows=2)
    assert_refused(context, "police", POLICE, FeedError, "not valid utf-8", "Windows-1252", row=2, column="SURNAME")


def test_ragged_row_names_row_and_first_missing_column(context):
    short = GOOD_POLICE_ROW.rsplit(",", 3)[0]  # three fields short
    data = police_rows(GOOD_POLICE_ROW, short.replace("NOM00000001", "NOM00000002"))
    write_delivery(context.landing_dir, "police", NIGHT, data, rows=2)
    assert_refused(context, "police", POLICE, FeedError, "has 17 field(s), expected 20", row=2, column="LAST_NOTIFIED")


def test_row_with_too_many_fields(context):
    data = police_rows(GOOD_POLICE_ROW + ",EXTRA")
    write_delivery(context.landing_dir, "police", NIGHT, data, rows=1)
    assert_refused(context, "police", POLICE, FeedError, "21 field(s), expected 20", "stray ','", row=1)


def test_nul_bytes(context):
    data = police_rows(GOOD_POLICE_ROW, GOOD_POLICE_ROW.replace("FOSTER", "FOS\x00TER"))
    write_delivery(context.landing_dir, "police", NIGHT, data, rows=2)
    assert_refused(context, "police", POLICE, FeedError, "NUL byte at line 3", row=2, column="SURNAME")


def test_unbalanced_quote(context):
    data = police_rows(GOOD_POLICE_ROW.replace('"90 Queens Road, Bradford"', '"90 Queens Road, Bradford'))
    write_delivery(context.landing_dir, "police", NIGHT, data, rows=1, sha256=None)
    assert_refused(context, "police", POLICE, FeedError, "quote")


def test_quoted_embedded_newline_is_data_in_an_rfc4180_feed(context):
    data = police_rows(GOOD_POLICE_ROW.replace("90 Queens Road, Bradford", "90 Queens Road\r\nBradford"))
    write_delivery(context.landing_dir, "police", NIGHT, data, rows=1)
    extract = fetch("police", POLICE, context)
    assert extract.rows == 1
    assert extract.frame.loc[0, "ADDRESS"] == "90 Queens Road\r\nBradford"


def test_embedded_newline_in_an_unquoted_feed_is_a_ragged_row(context):
    lines = example_bytes("probation").split(b"\n")
    lines[3] = lines[3].replace(b"Albert Road, Glasgow", b"Albert Road,\nGlasgow")
    data = b"\n".join(lines)
    write_delivery(context.landing_dir, "probation", NIGHT, data, rows=16)
    assert_refused(
        context,
        "probation",
        PROBATION,
        FeedError,
        "line 4 has 11 field(s), expected 22",
        "line break",
        row=3,
        column="POSTCODE",
    )


def test_values_that_look_like_code_are_kept_exactly(context):
    hostile = {
        "SURNAME": '"=HYPERLINK(""http://x"",""y"")"',
        "FORENAME_1": "'; DROP TABLE persons; --",
        "FORENAME_2": "<script>alert(1)</script>",
        "ADDRESS": "A" * 5000,
    }
    row = GOOD_POLICE_ROW.replace("FOSTER", hostile["SURNAME"]).replace(
        "NEIL,GARY", f"{hostile['FORENAME_1']},{hostile['FORENAME_2']}", 1
    )
    row = row.replace('"90 Queens Road, Bradford"', hostile["ADDRESS"])
    write_delivery(context.landing_dir, "police", NIGHT, police_rows(row), rows=1)
    frame = fetch("police", POLICE, context).frame
    assert frame.loc[0, "SURNAME"] == '=HYPERLINK("http://x","y")'
    assert frame.loc[0, "FORENAME_1"] == hostile["FORENAME_1"]
    assert frame.loc[0, "FORENAME_2"] == hostile["FORENAME_2"]
    assert len(frame.loc[0, "ADDRESS"]) == 5000


def test_messages_never_quote_the_offending_line(context):
    short = GOOD_POLICE_ROW.rsplit(",", 3)[0]
    write_delivery(context.landing_dir, "police", NIGHT, police_rows(short), rows=1)
    with pytest.raises(FeedError) as caught:
        fetch("police", POLICE, context)
    for personal in ("FOSTER", "NEIL", "12/09/1996", "2014/0386693F"):
        assert personal not in str(caught.value)


def test_manifest_that_is_not_json(context):
    folder = write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"))
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "not valid JSON")


def test_manifest_with_a_path_for_a_file_name(context):
    folder = write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"))
    text = (folder / "manifest.json").read_text().replace('"nominals_20261123.csv"', '"../../etc/passwd"')
    (folder / "manifest.json").write_text(text)
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "plain file name")


def test_manifest_for_another_feed(context):
    folder = write_delivery(context.landing_dir, "police", NIGHT, example_bytes("police"))
    text = (folder / "manifest.json").read_text().replace('"feed": "police"', '"feed": "prison"')
    (folder / "manifest.json").write_text(text)
    assert_refused(context, "police", POLICE, DeliveryIncomplete, "for feed 'prison'")
