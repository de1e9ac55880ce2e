"""Build landing deliveries byte by byte for tests: a data file plus its manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "data" / "landing"  # the published examples (docs/feeds/README.md)
EXAMPLE_NIGHT = dt.date(2026, 11, 23)
FILE_NAMES = {
    "police": "nominals_{:%Y%m%d}.csv",
    "probation": "offenders_{:%Y%m%d}.psv",
    "prison": "prisoners_{:%Y%m%d}.csv",
}


def write_delivery(
    landing: Path,
    feed: str,
    night: dt.date,
    data: bytes,
    *,
    rows: int | None = None,
    sha256: str | None = None,
    file_name: str | None = None,
    manifest: bool = True,
) -> Path:
    """Write ``data`` as the feed's file for ``night`` with a manifest (correct unless overridden)."""
    folder = landing / feed / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name or FILE_NAMES[feed].format(night)
    (folder / name).write_bytes(data)
    if manifest:
        if rows is None:
            rows = count_records(data, feed)
        body = {
            "feed": feed,
            "extract_date": night.isoformat(),
            "extracted_at": f"{night.isoformat()}T23:41:07Z",
            "file": name,
            "rows": rows,
            "sha256": sha256 or hashlib.sha256(data).hexdigest(),
            "schema_version": 1,
        }
        (folder / "manifest.json").write_text(json.dumps(body, indent=1), encoding="utf-8")
    return folder


def count_records(data: bytes, feed: str) -> int:
    import csv
    import io

    text = data.decode("utf-8-sig", errors="replace")
    if feed == "probation":
        return max(0, len([line for line in text.splitlines() if line]) - 1)
    return max(0, sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1)


def example_bytes(feed: str) -> bytes:
    return (EXAMPLES / feed / EXAMPLE_NIGHT.isoformat() / FILE_NAMES[feed].format(EXAMPLE_NIGHT)).read_bytes()


def copy_examples(landing: Path) -> Path:
    shutil.copytree(EXAMPLES, landing, dirs_exist_ok=True)
    return landing
