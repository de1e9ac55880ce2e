"""A night's reports for wide circulation: exceptions as CSV and XLSX per feed and kind, and an
HTML summary of the night. Personal data is masked (details are masked where they are made;
record keys are masked here) and no cell can run as a spreadsheet formula.

Written to a staging folder before the night is published and moved into place after it commits,
so a folder of reports always belongs to a published (or gate-stopped) night.
"""

from __future__ import annotations

import datetime as dt
import errno
import html
import json
import pickle
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from nominal.masking import mask_series
from nominal.vocab import OPEN_STATUSES

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


def write_summary(
    folder: Path,
    as_of: dt.date,
    run_id: int,
    status: str,
    counts: dict,
    gates: dict,
    report: pd.DataFrame,
    files: list[Path],
) -> Path:
    """``summary.html``: a self-contained page (no scripts, no remote assets) and ``summary.json``."""
    e = html.escape
    exceptions = counts.get("publish", {}).get("exceptions", {})

    def row(*cells: object, cls: dict[int, str] | None = None) -> str:
        tds = (f"<td class='{(cls or {})[i]}'>" if i in (cls or {}) else "<td>" for i in range(len(cells)))
        return "<tr>" + "".join(f"{td}{cell}</td>" for td, cell in zip(tds, cells)) + "</tr>"

    rows_gates = "".join(
        row(
            e(feed),
            "passed" if g["passed"] else "FAILED",
            f"{g.get('rows', 0):,}",
            f"{g.get('error_rate', 0):.1%}",
            e("; ".join(g.get("reasons", []))),
            cls={1: "ok" if g["passed"] else "bad"},
        )
        for feed, g in gates.items()
    )
    stages = "".join(row(e(str(k)), e(json.dumps(v, default=str))) for k, v in counts.items())
    by = (
        report.groupby(["feed", "kind", "severity"], dropna=False).size().reset_index(name="open")
        if len(report)
        else pd.DataFrame()
    )
    rows_open = "".join(
        row(e(str(r.feed or "all feeds")), e(r.kind), e(r.severity), f"{r.open:,}") for r in by.itertuples()
    )
    exception_counts = row(*(f"{exceptions.get(k, 0):,}" for k in ("new", "open", "closed", "dismissed", "reopened")))
    links = "".join(f"<li><a href='{e(p.name)}'>{e(p.name)}</a></li>" for p in files)
    match = counts.get("match", {})
    outcome = "ok" if status == "succeeded" else "bad"
    style = (
        "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.ok{color:#060}.bad{color:#b00;font-weight:bold}"
    )
    matching = (
        f"{match.get('records', 0):,} records into {match.get('persons', 0):,} persons; {match.get('links', 0):,} "
        f"links,\n{match.get('reviews', 0):,} pairs for review, match rate {match.get('match_rate', 0):.1%} of "
        "records linked to another."
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nominal night {as_of}</title>
<style>{style}</style></head>
<body><h1>nominal — night {as_of}</h1>
<p>Run {run_id}: <strong class="{outcome}">{e(status)}</strong>. Personal data in this page and its files is masked.</p>
<h2>Exceptions</h2>
<table><tr><th>new</th><th>open</th><th>closed tonight</th><th>dismissed</th><th>reopened</th></tr>
{exception_counts}</table>
<table><tr><th>feed</th><th>kind</th><th>severity</th><th>open</th></tr>{rows_open}</table>
<h2>Gates</h2>
<table><tr><th>feed</th><th>gate</th><th>rows</th><th>error rate</th><th>reasons</th></tr>{rows_gates}</table>
<h2>Matching</h2>
<p>{matching}</p>
<h2>Counts per stage</h2><table>{stages}</table>
<h2>Files</h2><ul>{links}</ul>
</body></html>
"""
    (folder / "summary.html").write_text(page, encoding="utf-8")
    (folder / "summary.json").write_text(
        json.dumps(
            {"as_of": as_of.isoformat(), "run_id": run_id, "status": status, "counts": counts, "gates": gates},
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    return folder / "summary.html"


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
    staging: Path, as_of: dt.date, run_id: int, status: str, rows: pd.DataFrame, counts: dict, gates: dict
) -> PendingReports:
    """Write the night's reports into its staging folder: the CSV files and the summary now, the
    workbooks meanwhile (call ``finish`` on the result before the night commits)."""
    report = report_frame(rows, run_id, as_of)
    files, workbooks = write_exception_files(report, staging)
    write_summary(staging, as_of, run_id, status, counts, gates, report, files)
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
