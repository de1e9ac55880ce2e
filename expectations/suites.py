"""Suite files: GX 1.x expectation suites as JSON, loaded strictly, with nominal's rule metadata.

Each expectation carries in its ``meta``:

- ``rule`` — a short id, unique in the feed's rules (``valid_pnc_id``); exceptions carry it.
- ``severity`` — ``critical`` (the feed must not be published tonight), ``error`` (the record is
  published with an exception raised), ``warning`` (counted in the metrics only).
- ``message`` — what a data officer reads in the exception (``notification overdue``).
- optional: ``field`` (defaults to the expectation's column), ``priority: high``, and
  ``max_failure_rate`` (the feed's gate fails if more than this share of records break the rule).

A feed's rules are the common suite's plus its own; a feed suite's ``meta.disable`` lists common
rules it switches off. GX itself drops an entry it cannot load with only a log line; this loader
refuses it, naming the file, the entry and the problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nominal.errors import ConfigError

SEVERITIES = ("critical", "error", "warning")
PRIORITIES = ("high", "normal")
# GX's own severity field drives the icons of Data Docs; nominal's three map onto its three.
GX_SEVERITY = {"critical": "critical", "error": "warning", "warning": "info"}
PAIR_COLUMNS = ("column_A", "column_B")


@dataclass(frozen=True)
class Rule:
    rule: str
    severity: str
    message: str
    field: str | None
    priority: str
    max_failure_rate: float | None
    expectation_type: str
    columns: tuple[str, ...]  # every column the expectation reads
    row_level: bool  # False for table-level expectations (row count, columns)


@dataclass(frozen=True)
class FeedSuite:
    name: str
    rules: dict[str, Rule]
    expectations: list[dict[str, Any]]  # the JSON entries, severity and meta set, ready for GX
    mapping_issue_severity: dict[str, str]


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"suite file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("expectations"), list):
        raise ConfigError(f"{path}: a suite is an object with an 'expectations' list")
    return raw


def _columns_of(kwargs: dict[str, Any]) -> tuple[str, ...]:
    columns = [kwargs[k] for k in ("column", *PAIR_COLUMNS) if isinstance(kwargs.get(k), str)]
    columns += [c for c in kwargs.get("column_list", []) if isinstance(c, str)]
    return tuple(columns)


def _condition_columns(kwargs: dict[str, Any], known: set[str]) -> tuple[str, ...]:
    """Columns a pandas row_condition names (it is a query string such as ``nominal_type == "RSO"``)."""
    condition = kwargs.get("row_condition")
    if not isinstance(condition, str):
        return ()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", condition))
    return tuple(sorted(words & known))


def _rule(path: Path, index: int, entry: dict[str, Any], known_columns: set[str]) -> Rule:
    where = f"{path}: expectations[{index}]"
    if not isinstance(entry, dict) or "type" not in entry:
        raise ConfigError(f"{where}: each expectation needs a 'type'")
    meta = entry.get("meta") or {}
    kwargs = entry.get("kwargs") or {}
    for key in ("rule", "severity", "message"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise ConfigError(f"{where} ({entry['type']}): meta.{key} is required")
    if meta["severity"] not in SEVERITIES:
        raise ConfigError(f"{where}: meta.severity must be one of {', '.join(SEVERITIES)}, not {meta['severity']!r}")
    priority = meta.get("priority", "normal")
    if priority not in PRIORITIES:
        raise ConfigError(f"{where}: meta.priority must be one of {', '.join(PRIORITIES)}")
    max_rate = meta.get("max_failure_rate")
    if max_rate is not None and not (isinstance(max_rate, (int, float)) and 0 <= max_rate <= 1):
        raise ConfigError(f"{where}: meta.max_failure_rate must be a share from 0 to 1")
    columns = _columns_of(kwargs)
    return Rule(
        rule=meta["rule"],
        severity=meta["severity"],
        message=meta["message"],
        field=meta.get("field") or (columns[0] if columns else None),
        priority=priority,
        max_failure_rate=max_rate,
        expectation_type=entry["type"],
        columns=columns + _condition_columns(kwargs, known_columns),
        row_level=bool(columns),
    )


def _check_loadable(path: Path, index: int, entry: dict[str, Any]) -> None:
    """Build the GX expectation now, so a typo is an error at load time, not a silent skip."""
    # GX is imported when a suite is checked, not with this module: it takes about 5 s, and commands
    # that never validate (status, decide, config check) start without it.
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    import nominal.expectations.custom  # noqa: F401  (registers nominal's expectation types)

    try:
        ExpectationConfiguration(**entry).to_domain_obj()
    except Exception as exc:  # GX raises several unrelated types here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: expectations[{index}] ({entry.get('type')}): {first}") from None


def load_feed_suite(name: str, common: Path | None, own: Path | None, known_columns: set[str]) -> FeedSuite:
    """The rules for one feed: the common suite's (minus any its own suite disables) plus its own."""
    sources = [(p, _read(p)) for p in (common, own) if p is not None]
    disabled = set()
    mapping_issues = {"unparseable": "error", "too_long": "warning", "missing_key": "error"}
    for path, raw in sources:
        meta = raw.get("meta") or {}
        disabled |= set(meta.get("disable") or []) if path == own else set()
        mapping_issues.update(meta.get("mapping_issues") or {})
    bad = {k: v for k, v in mapping_issues.items() if v not in SEVERITIES}
    if bad:
        raise ConfigError(f"meta.mapping_issues: severities must be one of {', '.join(SEVERITIES)}: {bad}")

    rules: dict[str, Rule] = {}
    entries: list[dict[str, Any]] = []
    for path, raw in sources:
        for index, entry in enumerate(raw["expectations"]):
            rule = _rule(path, index, entry, known_columns)
            if rule.rule in disabled and path != own:
                continue
            if rule.rule in rules:
                raise ConfigError(f"{path}: expectations[{index}]: rule {rule.rule!r} is defined twice for feed {name}")
            _check_loadable(path, index, entry)
            rules[rule.rule] = rule
            entries.append({**entry, "severity": GX_SEVERITY[rule.severity]})
    return FeedSuite(name=name, rules=rules, expectations=entries, mapping_issue_severity=mapping_issues)
