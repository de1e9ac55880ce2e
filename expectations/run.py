"""Validate one night's canonical records with the feeds' GX suites.

Outputs, per feed (schemas in ``EXCEPTION_COLUMNS`` and ``METRIC_COLUMNS``):

- **exceptions**: one row per record, field and rule broken — what publish writes to the store's
  ``exceptions`` table and a data officer works through. Details are masked.
- **metrics**: completeness and validity per field, and per feed rows, error rate and gate result.
- **gate**: passed, or failed with the reasons, so the nightly flow can stop before publishing.

Great Expectations is imported here only: it takes seconds to import.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nominal import canonical
from nominal.masking import mask_series
from nominal.schema import STR, Field, schema
from nominal.tables import QUALITY_METRICS
from nominal.vocab import ExceptionKind, Priority, Severity

from .data_docs import localise
from .suites import FeedSuite, Rule

log = logging.getLogger("nominal.validate")

# What validation emits per feed: one row per record, field and rule broken (publish turns them into
# the store's exceptions), and the feed's quality metrics (``nominal.tables.QUALITY_METRICS``).
VALIDATION_EXCEPTIONS = schema(
    "validation exceptions",
    (
        Field("feed", STR, "the feed", nullable=False),
        Field("source_key", STR, "the record's key (None: about the delivery as a whole)"),
        Field("row", "Int64", "the record's data row"),
        Field("field", STR, "the canonical field at fault"),
        Field("rule", STR, "the rule broken (a suite's meta.rule)", nullable=False),
        Field("severity", STR, "how serious", Severity, False),
        Field("priority", STR, "how urgent", Priority),
        Field("kind", STR, "validation, parse, rule_skipped, schema_drift or feed", ExceptionKind, False),
        Field("detail", STR, "what is wrong in a data officer's words, values masked", nullable=False),
    ),
)
EXCEPTION_COLUMNS = VALIDATION_EXCEPTIONS.columns
METRIC_COLUMNS = QUALITY_METRICS.columns
BLOCKING = (Severity.CRITICAL, Severity.ERROR)  # severities that make a record count towards the feed's error rate
_IDENTIFIER_FIELDS = (
    set(canonical.RAW_KEPT) | {f"{name}_raw" for name in canonical.RAW_KEPT} | {"source_key", "booking_no"}
)
_NAME_FIELDS = {"surname", "forenames", "aliases"}
# GX runs a per-row Python loop for these dtypes; cast them before validating (GX 1.24, pandas 3).
_GX_DATETIME = "datetime64[ns]"
_NS_SAFE = (pd.Timestamp("1678-01-02"), pd.Timestamp("2261-12-30"))
# GX parses suite parameters with a module-level pyparsing grammar that is not thread-safe: feeds
# validated in concurrent threads (the nightly flow) take turns inside GX, and only there.
_GX_LOCK = threading.RLock()


@dataclass(frozen=True)
class NightParameters:
    """The values a suite refers to as ``{"$PARAMETER": name}``."""

    as_of: dt.date
    min_rows: int = 1

    def for_gx(self) -> dict[str, Any]:
        as_of = pd.Timestamp(self.as_of)
        return {
            "as_of": as_of,
            "extract_end": as_of + pd.Timedelta(days=1) - pd.Timedelta(seconds=1),
            "dob_earliest": as_of - pd.DateOffset(years=110),
            "dob_latest": as_of - pd.DateOffset(years=10),
            "min_rows": int(self.min_rows),
        }


@dataclass
class Gate:
    feed: str
    passed: bool
    reasons: list[str] = field(default_factory=list)
    rows: int = 0
    error_rate: float = 0.0
    exceptions: dict[str, int] = field(default_factory=dict)  # by severity
    drift: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FeedValidation:
    feed: str
    exceptions: pd.DataFrame
    metrics: pd.DataFrame
    gate: Gate


def min_rows(history: list[int], row_drop_max: float) -> int:
    """The fewest rows tonight may have: the recent median less the largest allowed fall."""
    if not history:
        return 1
    return max(1, int(np.floor(float(np.median(history)) * (1 - row_drop_max))))


def schema_drift(columns: list[str], previous: list[str] | None, unexpected: list[str]) -> dict[str, list[str]]:
    """Columns added or removed since the feed's last delivery, and columns the mapping does not know."""
    drift: dict[str, list[str]] = {}
    if previous is not None:
        added = [c for c in columns if c not in previous]
        removed = [c for c in previous if c not in columns]
        if added:
            drift["added"] = added
        if removed:
            drift["removed"] = removed
    if unexpected:
        drift["unmapped"] = list(unexpected)
    return drift


def retyped_fields(issues: pd.DataFrame, frame_rows: int, share: float = 0.5, at_least: int = 10) -> list[str]:
    """Fields whose values mostly failed to parse tonight: the source probably changed their type or format."""
    if issues.empty or frame_rows == 0:
        return []
    unparseable = issues[issues["kind"] == "unparseable"].groupby("field").size()
    return sorted(f for f, n in unparseable.items() if n >= at_least and n / frame_rows > share)


class Validator:
    """One night's validation: an ephemeral GX context shared by the feeds, and its Data Docs."""

    def __init__(self, docs_dir: Path | None = None):
        # GX is imported when a night is validated, not with this module: it takes about 5 s, and
        # commands that never validate (status, decide, config check) start without it.
        import great_expectations as gx
        import great_expectations.execution_engine.pandas_execution_engine as pandas_engine
        from great_expectations.data_context.types.base import ProgressBarsConfig

        import nominal.expectations.custom  # noqa: F401  (registers nominal's expectation types)

        pandas_engine.HASH_THRESHOLD = 0  # GX would otherwise md5 the whole frame for every batch
        self._gx = gx
        with _GX_LOCK:
            self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.docs_dir = docs_dir
        for site in list(self.context.get_site_names()):  # the default site would write to a temp folder
            self.context.delete_data_docs_site(site)
        if docs_dir is not None:
            self.context.add_data_docs_site(
                "nominal",
                {
                    "class_name": "SiteBuilder",
                    # GX's DataDocsSiteConfigTypedDict lists only some of SiteBuilder's keys ("may be incomplete")
                    "show_how_to_buttons": False,  # type: ignore[typeddict-unknown-key]
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir.resolve()),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self._source = self.context.data_sources.add_pandas("nominal")
        self._validated = 0
        self._names: set[str] = set()

    def validate(
        self,
        feed: str,
        frame: pd.DataFrame,
        issues: pd.DataFrame,
        suite: FeedSuite,
        parameters: NightParameters,
        *,
        error_rate_max: float,
        drift: dict[str, list[str]] | None = None,
        drift_severity: str = "warning",
    ) -> FeedValidation:
        frame = frame.reset_index(drop=True)
        runnable, skipped = _runnable(suite, set(frame.columns))
        with _GX_LOCK:
            results = self._run_gx(feed, frame, suite, runnable, parameters) if runnable else []
        parts = [_rule_exceptions(feed, frame, suite.rules[r], result) for r, result in results]
        parts.append(_mapping_exceptions(feed, issues, suite))
        drift = dict(drift or {})
        retyped = retyped_fields(issues, len(frame))
        if retyped:
            drift["retyped"] = retyped
        parts.append(_drift_exceptions(feed, drift, drift_severity))
        skipped_details = [f"rule {r} skipped: column {c} is not in this feed" for r, c in skipped]
        parts.append(_feed_exceptions(feed, skipped_details, "warning", "rule_skipped", kind="rule_skipped"))
        exceptions = _concat(parts)
        gate = _gate(feed, frame, exceptions, suite, error_rate_max, drift)
        metrics = _metrics(feed, frame, exceptions, gate)
        log.info(
            "%s: %d rows, %d exceptions, gate %s",
            feed,
            len(frame),
            len(exceptions),
            "passed" if gate.passed else "FAILED",
        )
        return FeedValidation(feed=feed, exceptions=exceptions, metrics=metrics, gate=gate)

    def _run_gx(self, feed: str, frame: pd.DataFrame, suite: FeedSuite, rules: list[str], parameters: NightParameters):
        gx = self._gx
        from great_expectations.core.run_identifier import RunIdentifier  # GX: see __init__
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        wanted = set(rules)
        entries = [e for e in suite.expectations if e["meta"]["rule"] in wanted]
        columns = ["source_key", *sorted({c for r in rules for c in suite.rules[r].columns} - {"source_key"})]
        self._validated += 1
        name = feed if feed not in self._names else f"{feed}-{self._validated}"
        self._names.add(name)
        batch_definition = self._source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("night")
        gx_suite = self.context.suites.add(
            gx.ExpectationSuite(
                name=name, expectations=[ExpectationConfiguration(**e).to_domain_obj() for e in entries]
            )
        )
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=gx_suite.name, data=batch_definition, suite=gx_suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": _prepare_for_gx(frame[columns])},
            expectation_parameters=parameters.for_gx(),
            result_format={
                "result_format": "COMPLETE",
                "return_unexpected_index_query": False,
                "exclude_unexpected_values": True,
            },
            run_id=RunIdentifier(run_name=f"{feed}-{parameters.as_of.isoformat()}"),
        )
        ruled = []
        for r in result.results:
            config = r.expectation_config
            assert config is not None, "GX names the expectation of every result of a suite's run"
            ruled.append((config.meta["rule"], r))
        return ruled

    def build_docs(self) -> Path | None:
        if self.docs_dir is None:
            return None
        with _GX_LOCK:
            self.context.build_data_docs(site_names=["nominal"])
        leftovers = localise(self.docs_dir)
        if leftovers:
            log.warning("data docs still refer to %d external assets", len(leftovers))
        return self.docs_dir / "index.html"


def _runnable(suite: FeedSuite, columns: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
    runnable, skipped = [], []
    for name, rule in suite.rules.items():
        missing = [c for c in rule.columns if c not in columns]
        if missing:
            skipped.append((name, missing[0]))
        else:
            runnable.append(name)
    return runnable, skipped


def _prepare_for_gx(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integers as floats and dates as nanosecond datetimes: GX vectorises only those.

    A date outside what nanoseconds can hold (years before 1678 or after 2261) is pinned to the
    edge of that range, so a plausibility rule still sees it as implausible.
    """
    casts = {}
    for column, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype):
            casts[column] = "float64"
        elif pd.api.types.is_datetime64_dtype(dtype) and str(dtype) != _GX_DATETIME:
            casts[column] = _GX_DATETIME
    out = frame.copy()
    for column, dtype in casts.items():
        if dtype == _GX_DATETIME:
            out[column] = out[column].clip(*_NS_SAFE)
    return out.astype(casts)


def _raised(result) -> str | None:
    info = result.exception_info or {}
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    messages = [
        str(v.get("exception_message")) for v in info.values() if isinstance(v, dict) and v.get("raised_exception")
    ]
    return "; ".join(messages) or None


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in EXCEPTION_COLUMNS})


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty()
    out = pd.concat(parts, ignore_index=True)
    out["row"] = out["row"].astype("Int64")
    return out[list(EXCEPTION_COLUMNS)]


def _mask_kind(field_name: str | None) -> str | None:
    if field_name in _IDENTIFIER_FIELDS:
        return "identifier"
    if field_name in _NAME_FIELDS:
        return "name"
    return None


def _feed_exceptions(feed: str, details: list[str], severity: str, rule: str, kind: str = "feed") -> pd.DataFrame:
    if not details:
        return _empty()
    return pd.DataFrame(
        {
            "feed": feed,
            "source_key": pd.NA,
            "row": pd.NA,
            "field": pd.NA,
            "rule": rule,
            "severity": severity,
            "priority": "normal",
            "kind": kind,
            "detail": details,
        }
    )


def _rule_exceptions(feed: str, frame: pd.DataFrame, rule: Rule, result) -> pd.DataFrame:
    problem = _raised(result)
    if problem:
        # The check itself could not run: never pass silently.
        return _feed_exceptions(
            feed,
            [f"rule {rule.rule} could not run: {problem.splitlines()[0][:300]}"],
            "critical",
            rule.rule,
            "rule_error",
        )
    if result.success:
        return _empty()
    if not rule.row_level:
        observed = result.result.get("observed_value")
        return _feed_exceptions(feed, [f"{rule.message} (observed {observed})"], rule.severity, rule.rule)
    positions = np.asarray(result.result.get("unexpected_index_list") or [], dtype=np.int64)
    failing = frame.iloc[positions]
    column = rule.columns[0]
    detail = pd.Series(rule.message, index=failing.index, dtype="str")
    if rule.expectation_type.startswith("expect_column_values_to_be_valid_"):
        from .custom import explain_identifier_failures  # it imports GX: see Validator.__init__

        values = failing[column]
        detail = (
            rule.message
            + " "
            + mask_series(values, "identifier")
            + " "
            + explain_identifier_failures(rule.expectation_type, values)
        )
    elif _mask_kind(column) == "identifier":
        detail = rule.message + ": " + mask_series(failing[column], "identifier")
    return pd.DataFrame(
        {
            "feed": feed,
            "source_key": failing["source_key"].to_numpy(),
            "row": failing["_row"].to_numpy() if "_row" in failing else pd.NA,
            "field": rule.field,
            "rule": rule.rule,
            "severity": rule.severity,
            "priority": rule.priority,
            "kind": "validation",
            "detail": detail.to_numpy(),
        }
    )


def _mapping_exceptions(feed: str, issues: pd.DataFrame, suite: FeedSuite) -> pd.DataFrame:
    """Values mapping could not use. Identifier fields are left to their validity rules (one exception, not two)."""
    if issues is None or issues.empty:
        return _empty()
    checked_by_rule = {
        r.field for r in suite.rules.values() if r.expectation_type.startswith("expect_column_values_to_be_valid_")
    }
    issues = issues[~issues["field"].isin(checked_by_rule)]
    if issues.empty:
        return _empty()
    severity = issues["kind"].map(suite.mapping_issue_severity).fillna("error")
    detail = (
        issues["column"].astype("str")
        + " "
        + issues["value"].fillna("").astype("str")
        + ": "
        + issues["reason"].astype("str")
    )
    return pd.DataFrame(
        {
            "feed": feed,
            "source_key": issues["source_key"].to_numpy(),
            "row": issues["row"].to_numpy(),
            "field": issues["field"].to_numpy(),
            "rule": (issues["kind"] + ":" + issues["field"]).to_numpy(),
            "severity": severity.to_numpy(),
            "priority": "normal",
            "kind": "parse",
            "detail": detail.str.replace("  ", " ", regex=False).to_numpy(),
        }
    )


def _drift_exceptions(feed: str, drift: dict[str, list[str]], severity: str) -> pd.DataFrame:
    words = {
        "added": "columns added since the last delivery",
        "removed": "columns removed since the last delivery",
        "unmapped": "columns the mapping does not use",
        "retyped": "fields that mostly failed to parse (type or format changed?)",
    }
    details = [f"schema drift: {words[k]}: {', '.join(v)}" for k, v in drift.items() if v]
    return _feed_exceptions(feed, details, severity, "schema_drift", kind="schema_drift")


def _gate(
    feed: str, frame: pd.DataFrame, exceptions: pd.DataFrame, suite: FeedSuite, error_rate_max: float, drift
) -> Gate:
    rows = len(frame)
    row_level = exceptions[exceptions["source_key"].notna()]
    in_error = row_level.loc[row_level["severity"].isin(BLOCKING), "source_key"].nunique()
    error_rate = in_error / rows if rows else 0.0
    reasons = []
    critical = exceptions[exceptions["severity"] == "critical"]
    for rule, group in critical.groupby("rule", sort=True):
        example = group["detail"].iloc[0] if group["source_key"].isna().all() else f"{len(group)} record(s)"
        reasons.append(f"critical rule {rule} failed: {example}")
    if error_rate > error_rate_max:
        reasons.append(f"{error_rate:.1%} of records have errors, more than the {error_rate_max:.0%} allowed")
    for name, rule in suite.rules.items():
        if rule.max_failure_rate is None or not rows:
            continue
        share = row_level.loc[row_level["rule"] == name, "source_key"].nunique() / rows
        if share > rule.max_failure_rate:
            reasons.append(
                f"rule {name} fails for {share:.1%} of records, more than the {rule.max_failure_rate:.0%} allowed"
            )
    counts = {str(k): int(v) for k, v in exceptions.groupby("severity").size().items()}
    return Gate(
        feed=feed,
        passed=not reasons,
        reasons=reasons,
        rows=rows,
        error_rate=round(error_rate, 6),
        exceptions=counts,
        drift=drift,
    )


def _metrics(feed: str, frame: pd.DataFrame, exceptions: pd.DataFrame, gate: Gate) -> pd.DataFrame:
    """Completeness of every field, and validity: the share of present values no rule found wrong."""
    rows = len(frame)
    fields = [
        c
        for c in frame.columns
        if not c.startswith("_") and c not in ("feed", "extract_date") and not c.endswith("_raw")
    ]
    record_level = exceptions[exceptions["source_key"].notna() & exceptions["field"].notna()]
    failing = record_level.groupby("field")["source_key"].nunique()
    present = frame[fields].notna().sum()
    records = []
    for name in fields:
        raw = f"{name}_raw"
        sent = int(frame[raw].notna().sum()) if raw in frame else int(present[name])
        bad = int(failing.get(name, 0))
        records.append(
            {
                "feed": feed,
                "field": name,
                "rows_checked": rows,
                "completeness_rate": (int(present[name]) / rows) if rows else None,
                "validity_rate": (1 - min(bad, sent) / sent) if sent else None,
            }
        )
    records.append(
        {
            "feed": feed,
            "field": None,
            "rows_checked": rows,
            "rows": rows,
            "error_rate": gate.error_rate,
            "gate_passed": gate.passed,
        }
    )
    out = pd.DataFrame.from_records(records).reindex(columns=list(METRIC_COLUMNS))
    return out.astype(
        {
            "feed": "str",
            "field": "str",
            "rows_checked": "Int64",
            "rows": "Int64",
            "completeness_rate": "float64",
            "validity_rate": "float64",
            "error_rate": "float64",
            "gate_passed": "boolean",
        }
    )


def failed_feed(feed: str, error: dict[str, Any]) -> FeedValidation:
    """A feed whose delivery was refused: no records, one critical feed exception, a failed gate."""
    reason = f"delivery refused: {error.get('text') or error.get('message')}"
    exceptions = _feed_exceptions(feed, [reason], "critical", "delivery", kind="feed")
    gate = Gate(feed=feed, passed=False, reasons=[reason], exceptions={"critical": 1})
    metrics = pd.DataFrame(
        [{"feed": feed, "field": None, "rows_checked": 0, "rows": 0, "error_rate": None, "gate_passed": False}]
    ).reindex(columns=list(METRIC_COLUMNS))
    return FeedValidation(feed=feed, exceptions=_concat([exceptions]), metrics=metrics, gate=gate)
