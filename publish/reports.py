"""A night's reports for wide circulation: exceptions as CSV and XLSX per feed and kind, and an
HTML summary of the night. Personal data is masked (details are masked where they are made;
record keys are masked here) and no cell can run as a spreadsheet formula.

Written to a staging folder before the night is published and moved into place after it commits,
so a folder of reports always belongs to a published (or gate-stopped) night.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import pickle
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from openpyxl import Workbook

from nominal.masking import mask_series
from nominal.vocab import OPEN_STATUSES

from .exceptions import RESOLVED_BY_SOURCE as RESOLVED_BY_SOURCE_TEXT

REPORT_COLUMNS = (
    "reference",
    "kind",
    "severity",
    "priority",
    "rule",
    "feed",
    "record",
    "row",
    "person_id",
    "field",
    "other_feed",
    "other_record",
    "detail",
    "status",
    "first_seen",
    "age_days",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, made plain text (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def report_frame(rows: pd.DataFrame, run_id: int, as_of: dt.date) -> pd.DataFrame:
    """Tonight's open exceptions (found tonight, not dismissed), masked, in REPORT_COLUMNS."""
    live = rows[(rows["last_seen_run_id"] == run_id) & rows["status"].isin(OPEN_STATUSES)].copy()
    first_seen = pd.to_datetime(live["first_seen_at"], utc=True)
    out = pd.DataFrame(
        {
            "reference": live["fingerprint"].str[:12],
            "kind": live["kind"],
            "severity": live["severity"],
            "priority": live["priority"],
            "rule": live["rule"],
            "feed": live["feed"],
            "record": mask_series(live["source_key"].astype("str"), "identifier").where(live["source_key"].notna(), ""),
            "row": live["row"],
            "person_id": live["person_id"],
            "field": live["field"],
            "other_feed": live["other_feed"],
            "other_record": mask_series(live["other_source_key"].astype("str"), "identifier").where(
                live["other_source_key"].notna(), ""
            ),
            "detail": live["detail"],
            "status": live["status"],
            "first_seen": first_seen.dt.strftime("%Y-%m-%d"),
            "age_days": (pd.Timestamp(as_of, tz="UTC").normalize() - first_seen.dt.normalize()).dt.days.clip(lower=0),
        }
    )
    order = {"critical": 0, "error": 1, "warning": 2}
    out = out.sort_values(
        ["feed", "kind", "severity", "rule", "record"],
        key=lambda s: s.map(order) if s.name == "severity" else s,
        na_position="first",
    )
    return out.reset_index(drop=True)


def _plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``neutralise`` over whole columns: only text cells that start like a formula are changed."""
    out = frame.astype(object).where(frame.notna(), "")
    for column in out.columns:
        values = out[column]
        text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if text.any():
            risky = np.zeros(len(values), dtype=bool)
            risky[text] = values[text].astype(str).str.startswith(_FORMULA_START).to_numpy(dtype=bool)
            out.loc[risky, column] = "'" + values[risky].astype(str)
    return out


def write_exception_files(report: pd.DataFrame, folder: Path) -> tuple[list[Path], list[tuple[Path, pd.DataFrame]]]:
    """``exceptions_<feed>_<kind>.csv`` for every feed and kind with open exceptions, written now;
    returns the files and the ``.xlsx`` workbooks still to write (``write_workbook``)."""
    written, workbooks = [], []
    safe = _plain_text(report)
    for (feed, kind), part in safe.groupby([safe["feed"].replace("", "all_feeds"), "kind"], sort=True):
        stem = f"exceptions_{feed}_{kind}"
        part.to_csv(folder / f"{stem}.csv", index=False, encoding="utf-8")
        workbooks.append((folder / f"{stem}.xlsx", part))
        written += [folder / f"{stem}.csv", folder / f"{stem}.xlsx"]
    return written, workbooks


def write_workbook(path: Path, part: pd.DataFrame) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=path.stem.removeprefix("exceptions_").replace("_", " ")[:31])
    sheet.append(list(part.columns))
    for values in part.itertuples(index=False):
        sheet.append(list(values))
    book.save(path)


# Below this many rows a thread writes the workbooks: starting processes would cost more than it saves.
PROCESS_ROWS = 20_000


class PendingReports:
    """Workbooks being written while the night is published. openpyxl takes tens of seconds for
    200,000 rows and holds the GIL meanwhile, so a large night's workbooks are written by two
    child processes (``python -m publish.reports``) on the other cores; a small night's by a
    thread. ``finish`` is called before the night commits: a workbook that cannot be written
    stops the night. ``close`` stops what is left."""

    def __init__(self, workbooks: list[tuple[Path, pd.DataFrame]], processes: bool | None = None):
        self._pool, self._futures, self._children = None, [], []
        rows = sum(len(part) for _, part in workbooks)
        if workbooks and (rows >= PROCESS_ROWS if processes is None else processes):
            self._children = [_WorkbookChild(group) for group in _balanced(workbooks, 2) if group]
        else:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nominal-reports")
            self._futures = [self._pool.submit(write_workbook, path, part) for path, part in workbooks]

    def finish(self) -> None:
        try:
            for future in self._futures:
                future.result()
            for child in self._children:
                child.wait()
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for child in self._children:
            child.stop()


def _balanced(workbooks: list[tuple[Path, pd.DataFrame]], groups: int) -> list[list[tuple[Path, pd.DataFrame]]]:
    """Workbooks dealt into groups of about equal rows, largest first."""
    out: list[list] = [[] for _ in range(groups)]
    rows = [0] * groups
    for item in sorted(workbooks, key=lambda item: -len(item[1])):
        smallest = rows.index(min(rows))
        out[smallest].append(item)
        rows[smallest] += len(item[1])
    return out


class _WorkbookChild:
    """A child process writing a list of workbooks, handed over as a pickle beside them (in the
    night's staging folder, removed when it is done). A child starts from ``-m``, not by
    multiprocessing, so it never re-runs the caller's script."""

    def __init__(self, workbooks: list[tuple[Path, pd.DataFrame]]):
        first = workbooks[0][0]
        self._handover = first.with_name(f".{first.stem}.pending.pickle")
        with self._handover.open("wb") as out:
            pickle.dump([(str(path), part) for path, part in workbooks], out, protocol=pickle.HIGHEST_PROTOCOL)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "nominal.publish.reports", str(self._handover)], stderr=subprocess.PIPE, text=True
        )

    def wait(self) -> None:
        _, error = self._process.communicate()
        self._handover.unlink(missing_ok=True)
        if self._process.returncode == 0:
            return
        line = (error or "").strip().splitlines()[-1:] or [f"exit status {self._process.returncode}"]
        number, _, text = line[0].partition(" ")
        if number.isdigit():  # an OSError: raised again as one, so a full disk reads as such
            raise OSError(int(number), text)
        raise OSError(errno.EIO, f"writing the night's workbooks failed: {line[0]}")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._handover.unlink(missing_ok=True)


def _write_handed_over(handover: Path) -> int:
    """The child's side of ``_WorkbookChild``: 0, or 1 with ``errno text`` (an OSError) or the
    error's kind on the last line of stderr (never a value from the data)."""
    try:
        with handover.open("rb") as source:
            for path, part in pickle.load(source):
                write_workbook(Path(path), part)
    except OSError as exc:
        print(f"{exc.errno or 5} {exc.strerror or exc.__class__.__name__}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(exc.__class__.__name__, file=sys.stderr)
        return 1
    return 0


_TEMPLATES = Path(__file__).with_name("templates")
REPORT_CSS = _TEMPLATES / "report.css"  # the reports' look (the weekly report shares it)
_PAGES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
)
KIND_WORDS = {
    "validation": "failed validation rules",
    "parse": "values that could not be read",
    "rule_skipped": "validation rules that could not run",
    "schema_drift": "changes to a delivery's columns",
    "feed": "problems with a delivery",
    "match_review": "possible matches to review",
    "conflict": "records of one person that disagree",
    "discrepancy": "cross-agency discrepancies",
}
MATCH_WORDS = (
    ("records", "Records read tonight"),
    ("persons", "Persons they make"),
    ("links", "Links between records"),
    ("reviews", "Pairs sent to a data officer for review"),
    ("links_cut", "Links cut to keep two identifiers apart"),
)


def _number(value: object) -> str:
    return f"{int(value):,}" if isinstance(value, int | np.integer) else str(value)


def _changes(rows: pd.DataFrame, run_id: int, reopened: frozenset[str]) -> list[dict[str, object]]:
    """Per kind of exception: new, closed and reopened tonight, and open now."""
    if rows.empty:
        return []
    tonight = rows["last_seen_run_id"] == run_id
    frame = pd.DataFrame(
        {
            "kind": rows["kind"].astype(str),
            "new": tonight & (rows["first_seen_run_id"] == run_id),
            "closed": rows["resolution"] == RESOLVED_BY_SOURCE_TEXT,
            "reopened": rows["fingerprint"].isin(reopened),
            "open": tonight & rows["status"].isin(OPEN_STATUSES),
        }
    )
    by = frame.groupby("kind").sum(numeric_only=True)
    by = by[(by[["new", "closed", "reopened", "open"]] > 0).any(axis=1)]
    return [
        {"kind": KIND_WORDS.get(str(kind), str(kind)).capitalize(), **{c: f"{int(row[c]):,}" for c in by.columns}}
        for kind, row in by.iterrows()
    ]


def _headline(status: str, as_of: dt.date, gates: dict, counts: dict) -> tuple[str, str, str, bool]:
    """(page heading, banner heading, the night in one sentence, whether it published)."""
    publish = counts.get("publish", {})
    exceptions = publish.get("exceptions", {})
    failed = [feed for feed, g in gates.items() if not g.get("passed")]
    if status == "succeeded":
        sentence = (
            f"{publish.get('records', 0):,} records from {len(gates)} feeds make "
            f"{publish.get('persons', 0):,} persons. "
            f"{exceptions.get('new', 0):,} exceptions are new tonight, {exceptions.get('closed', 0):,} were closed "
            f"by their source, and {exceptions.get('open', 0):,} found tonight are open."
        )
        return "The night was published", "Published", sentence, True
    if status == "gate_failed":
        which = ", ".join(failed) or "a feed"
        sentence = (
            f"The gate of {which} failed, so nothing was published tonight: the last good night's records stand. "
            f"{exceptions.get('new', 0):,} exceptions were recorded for data officers."
        )
        return "The night stopped before publishing", "Not published: a gate failed", sentence, False
    return (
        "The night failed",
        "Not published",
        "The night stopped before publishing; the last good night stands.",
        False,
    )


def write_summary(
    folder: Path,
    as_of: dt.date,
    run_id: int,
    status: str,
    counts: dict,
    gates: dict,
    report: pd.DataFrame,
    files: list[Path],
    rows: pd.DataFrame | None = None,
    reopened: frozenset[str] = frozenset(),
) -> Path:
    """``summary.html`` for a manager (the night in one sentence, what changed, gates, links; no
    scripts, no remote assets; its stylesheet beside it) and ``summary.json`` (every figure)."""
    heading, status_words, sentence, published = _headline(status, as_of, gates, counts)
    changes = _changes(rows, run_id, reopened) if rows is not None else []
    totals = counts.get("publish", {}).get("exceptions", {})
    change_sentence = (
        f"{totals.get('new', 0):,} new, {totals.get('closed', 0):,} closed and {totals.get('reopened', 0):,} "
        "reopened exceptions since last night."
    )
    by = (
        report.groupby(["feed", "kind", "severity"], dropna=False).size().reset_index(name="open")
        if len(report)
        else pd.DataFrame(columns=["feed", "kind", "severity", "open"])
    )
    tags = {"critical": "tag--red", "error": "tag--yellow", "warning": "tag--grey"}
    open_by = [
        {
            "feed": r.feed if isinstance(r.feed, str) and r.feed else "across feeds",
            "kind": KIND_WORDS.get(str(r.kind), str(r.kind)).capitalize(),
            "severity": str(r.severity).capitalize(),
            "tag": tags.get(str(r.severity), "tag--grey"),
            "open": f"{r.open:,}",
        }
        for r in by.itertuples()
    ]
    match = counts.get("match", {})
    page = _PAGES.get_template("summary.html").render(
        night={
            "date_words": f"{as_of:%A} {as_of.day} {as_of:%B %Y}",
            "run_id": run_id,
            "headline": heading,
            "status_words": status_words,
            "sentence": sentence,
            "published": published,
        },
        change_sentence=change_sentence,
        changes=changes,
        gates=[
            {
                "feed": feed,
                "passed": bool(g.get("passed")),
                "rows": f"{g.get('rows', 0):,}",
                "error_rate": f"{g.get('error_rate', 0):.1%}",
                "reasons": "; ".join(g.get("reasons", [])),
            }
            for feed, g in gates.items()
        ],
        matching=[(label, _number(match[key])) for key, label in MATCH_WORDS if key in match],
        open_by=open_by,
        files=[{"href": p.name, "name": p.name, "label": _file_label(p.name)} for p in files if p.suffix == ".xlsx"],
        data_docs=[
            {"href": f"data_docs/{p.parent.name}/index.html", "feed": p.parent.name}
            for p in sorted((folder / "data_docs").glob("*/index.html"))
        ],
    )
    (folder / "summary.html").write_text(page, encoding="utf-8")
    shutil.copyfile(REPORT_CSS, folder / "report.css")
    summary = {"as_of": as_of.isoformat(), "run_id": run_id, "status": status, "counts": counts, "gates": gates}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return folder / "summary.html"


def _file_label(name: str) -> str:
    """``exceptions_police_validation.xlsx`` → ``Police: failed validation rules``."""
    stem = name.removeprefix("exceptions_").rsplit(".", 1)[0]
    feed, _, kind = stem.partition("_")
    who = "Across feeds" if feed == "all" else feed.capitalize()
    if kind.startswith("feeds_"):  # all_feeds_<kind>
        kind = kind.removeprefix("feeds_")
    return f"{who}: {KIND_WORDS.get(kind, kind.replace('_', ' '))}"


def staging_path(reports_dir: Path, as_of: dt.date, run_id: int) -> Path:
    return reports_dir / f".{as_of.isoformat()}.run{run_id}"


def staging_folder(reports_dir: Path, as_of: dt.date, run_id: int) -> Path:
    """A fresh folder beside the night's final one, where the run writes its reports and Data Docs.
    Called with the run lock held, so any other staging folder was left by a run that was killed:
    it is removed (it may hold masked data that was never published)."""
    staging = staging_path(reports_dir, as_of, run_id)
    for stale in reports_dir.glob(".*.run*") if reports_dir.is_dir() else []:
        shutil.rmtree(stale, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def stage_reports(
    staging: Path,
    as_of: dt.date,
    run_id: int,
    status: str,
    rows: pd.DataFrame,
    counts: dict,
    gates: dict,
    reopened: frozenset[str] = frozenset(),
) -> PendingReports:
    """Write the night's reports into its staging folder: the CSV files and the summary now, the
    workbooks meanwhile (call ``finish`` on the result before the night commits)."""
    report = report_frame(rows, run_id, as_of)
    files, workbooks = write_exception_files(report, staging)
    write_summary(staging, as_of, run_id, status, counts, gates, report, files, rows, reopened)
    return PendingReports(workbooks)


def commit_reports(staging: Path, final: Path) -> Path:
    """Put staged reports in place (after the night committed), replacing an earlier run's of the night."""
    if final.exists():
        old = final.with_name(final.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old)
    else:
        staging.rename(final)
    return final


if __name__ == "__main__":  # a child of PendingReports
    sys.exit(_write_handed_over(Path(sys.argv[1])))
