"""A night's reports, read-only: the files of ``reports/<night>/`` (summary, masked CSV and XLSX
exceptions, summary.json) and each feed's Data Docs as one zip that opens offline.

Everyone who may export (officers, supervisors, viewers: the reports are masked, for wide
circulation) may download them; each download is an ``export`` row in the audit log. Only files
inside the night's folder are served: a name that would leave it is not found.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from nominal.store import audit
from nominal.vocab import AuditAction

from .actors import Actor
from .errors import NotFound
from .roles import Permission

DATA_DOCS = "data_docs"
_FEED = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ReportFile:
    name: str
    size: int


@dataclass(frozen=True)
class NightReports:
    night: dt.date
    files: list[ReportFile]  # the night's own files, by name
    data_docs: list[str]  # the feeds with Data Docs


def _night_dir(reports_dir: Path, night: dt.date) -> Path:
    folder = reports_dir / night.isoformat()
    if not folder.is_dir():
        raise NotFound(f"no reports for the night of {night.isoformat()}")
    return folder


def listing(reports_dir: Path, actor: Actor, night: dt.date) -> NightReports:
    """What the night's reports folder holds (nothing is read, so nothing is audited)."""
    actor.require(Permission.EXPORT)
    folder = _night_dir(reports_dir, night)
    files = sorted(
        (ReportFile(p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
        key=lambda f: (f.name != "summary.html", f.name),
    )
    docs = folder / DATA_DOCS
    feeds = sorted(p.name for p in docs.iterdir() if p.is_dir() and _FEED.match(p.name)) if docs.is_dir() else []
    return NightReports(night, files, feeds)


def report_file(engine: Engine, reports_dir: Path, actor: Actor, night: dt.date, name: str) -> Path:
    """One of the night's files, for download; audited as an export."""
    actor.require(Permission.EXPORT)
    folder = _night_dir(reports_dir, night)
    wanted = {f.name for f in listing(reports_dir, actor, night).files}
    if name not in wanted:  # only a file listed in the folder itself: no path, no traversal
        raise NotFound(f"no report named {name!r} for the night of {night.isoformat()}")
    audit.record(engine, actor.audit(AuditAction.EXPORT, "report", f"{night.isoformat()}/{name}"))
    return folder / name


def data_docs_zip(engine: Engine, reports_dir: Path, actor: Actor, night: dt.date, feed: str) -> bytes:
    """A feed's Data Docs for the night as a zip (they open offline from index.html); audited as an export."""
    actor.require(Permission.EXPORT)
    if feed not in listing(reports_dir, actor, night).data_docs:
        raise NotFound(f"no Data Docs for {feed!r} on the night of {night.isoformat()}")
    root = _night_dir(reports_dir, night) / DATA_DOCS / feed
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, f"{feed}-data-docs-{night.isoformat()}/{path.relative_to(root).as_posix()}")
    audit.record(engine, actor.audit(AuditAction.EXPORT, "data_docs", f"{night.isoformat()}/{feed}"))
    return buffer.getvalue()
