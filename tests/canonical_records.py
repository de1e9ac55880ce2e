"""Canonical records made by hand for tests: a valid person's fields, overridden per record."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from nominal import canonical
from nominal.identifiers import cro_check_letter, pnc_check_letter

AS_OF = dt.date(2026, 11, 23)

BASE = {
    "source_key": "K1",
    "forenames": "NEIL GARY",
    "surname": "FOSTER",
    "date_of_birth": pd.Timestamp("1996-09-12"),
    "sex": "M",
    "postcode": "LS6 3TJ",
    "postcode_raw": "LS6 3TJ",
    "address": "90 Queens Road, Bradford",
    "mappa_category": 1,
    "mappa_level": 2,
    "risk_level": "HIGH",
    "record_updated_at": pd.Timestamp("2026-11-23 02:00:00"),
}
FEED_EXTRAS = {
    "police": {
        "nominal_type": "RSO",
        "registration_start": pd.Timestamp("2018-06-24"),
        "last_notified": pd.Timestamp("2026-08-14"),
        "notification_due": pd.Timestamp("2027-08-14"),
        "force_code": "33",
    },
    "probation": {
        "crn": "X123456",
        "crn_raw": "X123456",
        "noms_number": "A1234BC",
        "noms_number_raw": "A1234BC",
        "ni_number": "HB108840B",
        "ni_number_raw": "HB 10 88 40 B",
        "custody_status": "COMMUNITY_ORDER",
        "sentence_date": pd.Timestamp("2022-04-02"),
        "licence_end": pd.Timestamp("2028-10-25"),
    },
    "prison": {
        "noms_number": "A1234BC",
        "noms_number_raw": "A1234BC",
        "booking_status": "ACTIVE_IN",
        "reception_date": pd.Timestamp("2025-11-03"),
        "release_date": pd.Timestamp("2027-03-24"),
        "establishment_code": "BLI",
    },
}


def pnc(serial: int, year: int = 2001) -> str:
    return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"


def cro(serial: int, year: int = 2021) -> str:
    return f"{serial:06d}/{year % 100:02d}{cro_check_letter(year, serial)}"


def distinct_identifiers(i: int) -> dict:
    return {
        "pnc_id": pnc(171310 + i),
        "pnc_id_raw": pnc(171310 + i),
        "cro_number": cro(265416 + i),
        "cro_number_raw": cro(265416 + i),
    }


def canonical_frame(feed: str, records: list[dict], *, identifiers: bool = True, extras: bool = True) -> pd.DataFrame:
    """One canonical frame: each record is BASE (+ the feed's extras, + distinct identifiers) with its overrides."""
    rows = []
    for i, overrides in enumerate(records):
        row = {**BASE, **(FEED_EXTRAS[feed] if extras else {}), "source_key": f"K{i + 1}"}
        if identifiers:
            row.update(distinct_identifiers(i))
        row.update(overrides)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for name, dtype in canonical.DTYPES.items():
        if name not in frame:
            frame[name] = pd.Series(None, index=frame.index, dtype=dtype)
    frame["feed"] = feed
    frame["extract_date"] = pd.Timestamp(AS_OF)
    frame["_source"] = "test.csv"
    frame["_row"] = range(1, len(frame) + 1)
    for column in frame.columns:
        if column not in canonical.DTYPES and frame[column].dtype == object:
            frame[column] = frame[column].astype("str")
    return canonical.conform(frame)
