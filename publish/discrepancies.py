"""Cross-agency discrepancy rules: what the police, probation and prison records of one person say
that cannot all be true, or that needs action. Each rule is switched on and given a severity in
the publish rules file; the README describes each in a data officer's words.

Every rule takes tonight's records with their person (publish.golden.with_persons) and the
as-of date, and returns findings (publish.findings). Rules read feed-specific fields the shipped
mappings carry through; a rule whose fields no feed has finds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd

from .findings import concat, empty, findings, record_ref
from .keys import isin
from .rules import Discrepancy, DiscrepancyRule

Rule = Callable[[pd.DataFrame, dt.date, DiscrepancyRule], pd.DataFrame]
RELEASED = ("RELEASED_ON_LICENCE", "COMMUNITY_ORDER", "POST_SENTENCE_SUPERVISION")
_PROBATION_WORDS = {
    "RELEASED_ON_LICENCE": "released on licence",
    "COMMUNITY_ORDER": "on a community order",
    "POST_SENTENCE_SUPERVISION": "on post-sentence supervision",
}


def _feed(records: pd.DataFrame, feed: str, *columns: str) -> pd.DataFrame:
    """The feed's records; none (with the columns, empty) when no feed carries the columns."""
    missing = [c for c in columns if c not in records]
    if missing:
        return records.iloc[:0].assign(**{c: pd.Series(dtype="object") for c in missing})
    return records[records["feed"] == feed]


def _pairs(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Every pair of a left and a right record of the same person (suffixes _l, _r)."""
    left = left.rename(columns={c: f"{c}_l" for c in left.columns if c != "person_id"})
    right = right.rename(columns={c: f"{c}_r" for c in right.columns if c != "person_id"})
    return left.merge(right, on="person_id")


def _side(pairs: pd.DataFrame, suffix: str) -> pd.DataFrame:
    cols = {c: c[: -len(suffix)] for c in pairs.columns if c.endswith(suffix)}
    return pairs[["person_id", *cols]].rename(columns=cols).reset_index(drop=True)


def _date_passed(
    rows: pd.DataFrame, field: str, as_of: dt.date, rule: DiscrepancyRule, name: str, words: str
) -> pd.DataFrame:
    """Findings for records whose date ``field`` has passed: ``words`` takes the days since."""
    if rows.empty:
        return empty()
    days = (pd.Timestamp(as_of) - rows[field]).dt.days.astype(str)
    before, after = words.split("{}")
    detail = before + days + after
    return findings(
        "discrepancy",
        name,
        rule.severity,
        rows.reset_index(drop=True),
        field,
        detail,
        rows[field].astype(str).to_numpy(),
    )


def in_custody_but_released(records: pd.DataFrame, as_of: dt.date, rule: DiscrepancyRule) -> pd.DataFrame:
    """A prison booking ACTIVE IN while probation says released on licence or on a community order."""
    prison = _feed(records, "prison", "booking_status")
    prison = prison[prison["booking_status"] == "ACTIVE_IN"]
    probation = _feed(records, "probation", "custody_status")
    probation = probation[probation["custody_status"].isin(RELEASED)]
    pairs = _pairs(
        prison[["person_id", "feed", "source_key", "_row"]],
        probation[["person_id", "feed", "source_key", "custody_status"]],
    )
    if pairs.empty:
        return empty()
    about, other = _side(pairs, "_l"), _side(pairs, "_r")
    detail = (
        "in prison custody (booking ACTIVE IN) but "
        + record_ref(other["feed"], other["source_key"])
        + " says "
        + other["custody_status"].map(_PROBATION_WORDS).to_numpy()
    )
    return findings(
        "discrepancy",
        "in_custody_but_released",
        rule.severity,
        about,
        "booking_status",
        detail,
        other["custody_status"].to_numpy(),
        other,
    )


def release_date_passed(records: pd.DataFrame, as_of: dt.date, rule: DiscrepancyRule) -> pd.DataFrame:
    """A booking still ACTIVE IN although its release date has passed."""
    prison = _feed(records, "prison", "booking_status", "release_date")
    late = prison[(prison["booking_status"] == "ACTIVE_IN") & (prison["release_date"] < pd.Timestamp(as_of))]
    return _date_passed(
        late,
        "release_date",
        as_of,
        rule,
        "release_date_passed",
        "booking still ACTIVE IN {} days after its release date",
    )


def mappa_differs(records: pd.DataFrame, as_of: dt.date, rule: DiscrepancyRule) -> pd.DataFrame:
    """MAPPA category or level differ between the police and probation records of one person."""
    parts = []
    for field, words in (("mappa_category", "MAPPA category"), ("mappa_level", "MAPPA level")):
        police = _feed(records, "police", field)
        probation = _feed(records, "probation", field)
        police, probation = police[police[field].notna()], probation[probation[field].notna()]
        pairs = _pairs(
            police[["person_id", "feed", "source_key", "_row", field]],
            probation[["person_id", "feed", "source_key", field]],
        )
        pairs = pairs[pairs[f"{field}_l"] != pairs[f"{field}_r"]]
        if pairs.empty:
            continue
        about, other = _side(pairs, "_l"), _side(pairs, "_r")
        detail = (
            words
            + " "
            + about[field].astype(str)
            + " here but "
            + other[field].astype(str).to_numpy()
            + " on "
            + record_ref(other["feed"], other["source_key"])
        )
        data = about[field].astype(str) + "|" + other[field].astype(str).to_numpy()
        parts.append(
            findings("discrepancy", "mappa_differs", rule.severity, about, field, detail, data.to_numpy(), other)
        )
    return concat(parts)


def notification_overdue(records: pd.DataFrame, as_of: dt.date, rule: DiscrepancyRule) -> pd.DataFrame:
    """A registered person's notification was due before tonight and has not been made."""
    police = _feed(records, "police", "notification_due")
    due = police[police["notification_due"] < pd.Timestamp(as_of)]
    if "last_notified" in due:
        due = due[~(due["last_notified"] >= due["notification_due"])]
    return _date_passed(due, "notification_due", as_of, rule, "notification_overdue", "notification overdue by {} days")


def rso_without_address(records: pd.DataFrame, as_of: dt.date, rule: DiscrepancyRule) -> pd.DataFrame:
    """A registered sex offender none of whose police records holds a current address."""
    police = _feed(records, "police", "nominal_type")
    known = police[police["address"].notna() | police["postcode"].notna()]["person_id"]
    rso = police[(police["nominal_type"] == "RSO") & ~isin(police["person_id"], known)]
    if rso.empty:
        return empty()
    return findings(
        "discrepancy",
        "rso_without_address",
        rule.severity,
        rso.reset_index(drop=True),
        "address",
        pd.Series("registered sex offender with no current address on any police record", index=range(len(rso))),
        pd.Series("", index=range(len(rso))),
    )


def licence_without_police_nominal(records: pd.DataFrame, as_of: dt.date, rule: DiscrepancyRule) -> pd.DataFrame:
    """On probation licence with a MAPPA category that needs a police nominal, and no police record."""
    probation = _feed(records, "probation", "custody_status")
    with_police = records[records["feed"] == "police"]["person_id"]
    missing = probation[
        (probation["custody_status"] == "RELEASED_ON_LICENCE")
        & probation["mappa_category"].isin(rule.mappa_categories)
        & ~isin(probation["person_id"], with_police)
    ]
    if missing.empty:
        return empty()
    detail = (
        "on licence as MAPPA category "
        + missing["mappa_category"].astype(str)
        + " but no police nominal is linked to this person"
    )
    return findings(
        "discrepancy",
        "licence_without_police_nominal",
        rule.severity,
        missing.reset_index(drop=True),
        "mappa_category",
        detail,
        missing["mappa_category"].astype(str).to_numpy(),
    )


RULES: dict[Discrepancy, Rule] = {
    Discrepancy.IN_CUSTODY_BUT_RELEASED: in_custody_but_released,
    Discrepancy.RELEASE_DATE_PASSED: release_date_passed,
    Discrepancy.MAPPA_DIFFERS: mappa_differs,
    Discrepancy.NOTIFICATION_OVERDUE: notification_overdue,
    Discrepancy.RSO_WITHOUT_ADDRESS: rso_without_address,
    Discrepancy.LICENCE_WITHOUT_POLICE_NOMINAL: licence_without_police_nominal,
}


# Each rule in a data officer's words (the README's table says the same).
DESCRIPTIONS: dict[Discrepancy, str] = {
    Discrepancy.IN_CUSTODY_BUT_RELEASED: (
        "Prison shows the person in custody (booking ACTIVE IN) while probation says they have been released on "
        "licence, are on a community order or on post-sentence supervision. One of the two systems is out of date."
    ),
    Discrepancy.RELEASE_DATE_PASSED: (
        "The prison booking is still ACTIVE IN although its release date has passed: the release was not "
        "recorded, or the date is wrong."
    ),
    Discrepancy.MAPPA_DIFFERS: "Police and probation hold a different MAPPA category or level for the same person.",
    Discrepancy.NOTIFICATION_OVERDUE: (
        "A registered person's notification date has passed and no later notification is recorded."
    ),
    Discrepancy.RSO_WITHOUT_ADDRESS: "A registered sex offender whose police records hold no current address.",
    Discrepancy.LICENCE_WITHOUT_POLICE_NOMINAL: (
        "A person on probation licence, in a MAPPA category that needs a police nominal (1 or 2 by default), has "
        "no police record linked."
    ),
}


def discrepancies(records: pd.DataFrame, as_of: dt.date, rules: dict[Discrepancy, DiscrepancyRule]) -> pd.DataFrame:
    return concat([RULES[name](records, as_of, rule) for name, rule in rules.items() if rule.enabled])
