"""nominal's own GX expectations: identifier validity by the rules of docs/feeds/identifiers.md.

Importing this module registers them with GX (its metaclasses do, when the classes are defined),
so a suite file can name them: ``"type": "expect_column_values_to_be_valid_pnc_id"``. They run on the
``<identifier>_raw`` columns, the values as sent: the canonical column is already null where the
value was invalid. The check itself is nominal.identifiers', vectorised, shared with mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from nominal import identifiers

# expectation type → (label used in exception details, the normaliser that judges a value)
IDENTIFIER_RULES: dict[str, tuple[str, Callable[[pd.Series], identifiers.IdentifierResult]]] = {}


def _valid(normalise: Callable[[pd.Series], identifiers.IdentifierResult]) -> Callable[[pd.Series], pd.Series]:
    def check(column: pd.Series) -> pd.Series:
        # GX passes the non-null values only; a value is valid when it normalises without a reason.
        return normalise(column.astype("str")).reason.isna()

    return check


def _identifier_expectation(kind: str, label: str, description: str) -> type[ColumnMapExpectation]:
    """A metric provider plus an expectation class for one identifier kind."""
    normalise = identifiers.NORMALISERS[kind]
    metric_name = f"column_values.nominal_valid_{kind}"
    check = _valid(normalise)

    def _pandas(cls, column, **kwargs):
        return check(column)

    provider_name = "ColumnValuesNominalValid" + "".join(p.title() for p in kind.split("_"))
    type(
        provider_name,
        (ColumnMapMetricProvider,),
        {
            "condition_metric_name": metric_name,
            "_pandas": column_condition_partial(engine=PandasExecutionEngine)(_pandas),
            "__module__": __name__,
        },
    )
    class_name = "ExpectColumnValuesToBeValid" + "".join(p.title() for p in kind.split("_"))
    expectation: type[ColumnMapExpectation] = type(
        class_name,
        (ColumnMapExpectation,),
        {
            "__doc__": description,
            "__module__": __name__,
            "__annotations__": {"map_metric": ClassVar[str], "success_keys": ClassVar[tuple[str, ...]]},
            "map_metric": metric_name,
            "success_keys": ("mostly",),
            "library_metadata": {"tags": ["nominal", "identifiers"], "contributors": ["nominal"]},
        },
    )
    IDENTIFIER_RULES[expectation.expectation_type] = (label, normalise)
    return expectation


ExpectColumnValuesToBeValidPncId = _identifier_expectation(
    "pnc_id", "PNC ID", "Expect PNC IDs (long, short or slash-less form) whose check letter holds."
)
ExpectColumnValuesToBeValidCroNumber = _identifier_expectation(
    "cro_number", "CRO number", "Expect CRO numbers (standard or SF form) whose check letter holds."
)
ExpectColumnValuesToBeValidNomsNumber = _identifier_expectation(
    "noms_number", "NOMS number", "Expect NOMS numbers of the form A1234BC."
)
ExpectColumnValuesToBeValidCrn = _identifier_expectation("crn", "CRN", "Expect probation case references X123456.")
ExpectColumnValuesToBeValidNiNumber = _identifier_expectation(
    "ni_number", "NI number", "Expect National Insurance numbers AB123456C with an allocated prefix."
)
ExpectColumnValuesToBeValidPostcode = _identifier_expectation("postcode", "postcode", "Expect UK postcodes.")
ExpectColumnValuesToBeValidBookingNo = _identifier_expectation(
    "booking_no", "booking number", "Expect prison booking numbers A12345."
)


def explain_identifier_failures(expectation_type: str, values: pd.Series) -> pd.Series:
    """Why each failing value is invalid: ``fails check letter``, ``bad format`` …"""
    _, normalise = IDENTIFIER_RULES[expectation_type]
    return normalise(values.astype("str")).reason.fillna("invalid")
