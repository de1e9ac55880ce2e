"""What a viewer sees of a record: masked the way reports are (``nominal.masking``), so that nothing
of a name, date of birth or identifier can be recovered from it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nominal.masking import mask_date, mask_identifier, mask_name, mask_text

NAMES = ("forenames", "surname", "aliases")
IDENTIFIERS = ("source_key", "pnc_id", "cro_number", "noms_number", "crn", "ni_number", "postcode")
DATES = ("date_of_birth",)
TEXT = ("address",)
KEPT = ("feed", "person_id", "sex", "mappa_category", "mappa_level", "risk_level", "linked_by", "linked_on")


def mask_value(name: str, value: Any) -> Any:
    if value is None or value == "":
        return value
    if name in NAMES:
        return mask_name(value)
    if name in IDENTIFIERS or name.endswith("_raw"):
        return mask_identifier(value)
    if name in DATES or isinstance(value, dt.date):
        return mask_date(value)
    if name in KEPT or isinstance(value, bool | int | float):
        return value
    return mask_text(value)


def mask_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record with every personal value masked (nested raw and extra values too)."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, dict):
            out[name] = {k: mask_value(k, v) for k, v in value.items()}
        else:
            out[name] = mask_value(name, value)
    return out
