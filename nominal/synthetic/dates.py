"""Vectorised calendar arithmetic and fast text rendering of dates.

Dates are numpy ``datetime64[D]`` and timestamps ``datetime64[s]``; NaT means blank. Rendering
looks each day up in a table of pre-formatted strings (1900–2100), which is far faster than
formatting a million dates one by one.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY = np.timedelta64(1, "D")
_TABLE_START = np.datetime64("1900-01-01")
_TABLE_END = np.datetime64("2101-01-01")

DMY = "%d/%m/%Y"  # police
ISO = "%Y-%m-%d"  # probation, prison


def parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1–12) and day (1–31) of each date."""
    dates = dates.astype("M8[D]")
    months = dates.astype("M8[M]")
    year = months.astype("M8[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months.astype("M8[D]")).astype(np.int64) + 1
    return year, month, day


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    first = _month_start(year, month)
    return ((first.astype("M8[M]") + 1).astype("M8[D]") - first).astype(np.int64)


def _month_start(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    months = (np.asarray(year) - 1970) * 12 + np.asarray(month) - 1
    return months.astype("M8[M]").astype("M8[D]")


def make_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Dates from parts; the caller makes sure the day exists in that month."""
    return _month_start(year, month) + (np.asarray(day) - 1).astype("m8[D]")


def valid_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    ok = (month >= 1) & (month <= 12) & (day >= 1)
    return ok & (day <= days_in_month(year, np.clip(month, 1, 12)))


def add_years(dates: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """The same day and month ``years`` later (29 February becomes 28 February)."""
    year, month, day = parts(dates)
    year = year + years
    day = np.minimum(day, days_in_month(year, month))
    return make_dates(year, month, day)


@cache
def _day_table(fmt: str) -> pa.Array:
    days = np.arange(_TABLE_START, _TABLE_END, dtype="M8[D]")
    return pc.strftime(pa.array(days.astype("M8[s]")), format=fmt)


@cache
def _time_table() -> pa.Array:
    return pa.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)])


def format_dates(dates: np.ndarray, fmt: str) -> pa.Array:
    """Text of each date in ``fmt`` (``DMY`` or ``ISO``); blank for NaT."""
    dates = np.asarray(dates).astype("M8[D]")
    blank = np.isnat(dates)
    index = (np.where(blank, _TABLE_START, dates) - _TABLE_START).astype(np.int64)
    if len(index) and (index.min() < 0 or index.max() >= len(_day_table(fmt))):
        raise ValueError("date outside 1900–2100 cannot be rendered")
    text = _day_table(fmt).take(pa.array(index))
    return pc.if_else(pa.array(blank), "", text) if blank.any() else text


def format_timestamps(stamps: np.ndarray, date_fmt: str, separator: str) -> pa.Array:
    """``<date><separator>HH:MM:SS`` for each timestamp; blank for NaT."""
    stamps = np.asarray(stamps).astype("M8[s]")
    blank = np.isnat(stamps)
    days = np.where(blank, _TABLE_START, stamps).astype("M8[D]")
    seconds = (np.where(blank, _TABLE_START, stamps) - days).astype(np.int64)
    text = pc.binary_join_element_wise(format_dates(days, date_fmt), _time_table().take(pa.array(seconds)), separator)
    return pc.if_else(pa.array(blank), "", text) if blank.any() else text
