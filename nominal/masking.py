"""Masking of personal data for anything that leaves the store: logs, artifacts, reports, errors.

Masks keep just enough shape for a data officer to recognise the kind of problem
(``20**/*****10W fails check letter``) without disclosing the value.
"""

from __future__ import annotations

import re

import pandas as pd

_ALNUM = re.compile(r"[A-Za-z0-9]")


def mask_identifier(value: object) -> str:
    """Mask every letter or digit but a few at each end (first two and last three for long ones)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    positions = [i for i, ch in enumerate(text) if ch.isalnum()]
    if len(positions) <= 5:
        keep = set(positions[:1])
    elif len(positions) <= 9:
        keep = set(positions[:1] + positions[-2:])
    else:
        keep = set(positions[:2] + positions[-3:])
    return "".join(ch if (i in keep or not ch.isalnum()) else "*" for i, ch in enumerate(text))


def mask_name(value: object) -> str:
    """Each word as its first letter followed by stars: ``SMITH-JONES`` → ``S****-J****``."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return re.sub(r"([A-Za-z])([A-Za-z']*)", lambda m: m.group(1) + "*" * len(m.group(2)), str(value))


def mask_date(value: object) -> str:
    """Only the shape of a date: ``**/**/****``."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return _ALNUM.sub("*", str(value)[:10] if hasattr(value, "isoformat") else str(value))


def mask_text(value: object, keep: int = 1) -> str:
    """Free text: its first character and its length, never the content."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    if len(text) <= keep:
        return "*" * len(text)
    return f"{text[:keep]}… ({len(text)} chars)"


MASKERS = {
    "identifier": mask_identifier,
    "name": mask_name,
    "date": mask_date,
    "text": mask_text,
}


def mask(value: object, kind: str) -> str:
    return MASKERS.get(kind, mask_text)(value)


def mask_series(values: pd.Series, kind: str) -> pd.Series:
    """Vectorised over unique values: masking is per distinct value, so repeats cost nothing."""
    masker = MASKERS.get(kind, mask_text)
    uniques = values.dropna().unique()
    lookup = {u: masker(u) for u in uniques}
    return values.map(lookup).astype("str")
