"""The landing connector: one feed's nightly delivery, verified against its manifest, then archived.

A delivery is ``<landing>/<feed>/<YYYY-MM-DD>/<data file>`` plus ``manifest.json`` written by the
source once the file is complete. It is loaded only when whole: manifest present, file present,
sha256 and row count as the manifest says. The same extract (same sha256) is loaded once.

The archive keeps every loaded extract read-only at ``<archive>/<feed>/<date>/<sha256>/``.
Archiving is the caller's last step (``RawExtract.commit``), after mapping has also succeeded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from pydantic import Field

from nominal.errors import AlreadyLoaded, DeliveryIncomplete, FeedError

from .base import ConnectorOptions, FetchContext, RawExtract
from .delimited import TextFormat, parse_delimited

MANIFEST_FIELDS = ("file", "rows", "sha256")
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class Options(ConnectorOptions):
    file: str = Field(description="data file name; {date:%Y%m%d} is the as-of date, e.g. nominals_{date:%Y%m%d}.csv")
    directory: str | None = Field(None, description="folder under the landing dir; default the feed's name")
    delimiter: str = ","
    quoting: bool = True
    encoding: str = "utf-8"
    manifest: str = "manifest.json"


def delivery_dir(feed: str, options: Options, context: FetchContext) -> Path:
    if context.landing_dir is None or context.as_of is None:
        raise FeedError(feed, "the landing connector needs a landing folder and an as-of date")
    return Path(context.landing_dir) / (options.directory or feed) / context.as_of.isoformat()


def fetch(feed: str, options: Options, context: FetchContext) -> RawExtract:
    folder = delivery_dir(feed, options, context)
    if not folder.is_dir():
        raise DeliveryIncomplete(
            feed, f"no delivery for {context.as_of}: folder {folder} does not exist", kind="missing"
        )
    manifest = _read_manifest(feed, folder / options.manifest)
    expected_name = options.file.format(date=context.as_of)
    data_path = folder / manifest["file"]
    if not data_path.is_file():
        raise DeliveryIncomplete(
            feed, f"manifest names {manifest['file']}, which is not in {folder}", source=manifest["file"]
        )
    data = data_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest["sha256"].lower():
        raise DeliveryIncomplete(
            feed,
            f"sha256 is {digest[:12]}…, the manifest says {manifest['sha256'][:12]}…: "
            "the file changed or is still being written",
            source=data_path.name,
        )
    as_of = context.as_of
    assert as_of is not None, "delivery_dir refuses a context without an as-of date"
    status, archived = _archive_status(feed, context.archive_dir, as_of, digest, data_path.name)
    text_format = TextFormat(delimiter=options.delimiter, quoting=options.quoting, encoding=options.encoding)
    frame, columns = parse_delimited(data, text_format, feed=feed, source=data_path.name)
    if len(frame) != manifest["rows"]:
        raise DeliveryIncomplete(
            feed,
            f"the manifest says {manifest['rows']} rows, the file has {len(frame)}: the delivery is incomplete",
            source=data_path.name,
        )
    details = {"manifest_file_expected": expected_name} if manifest["file"] != expected_name else {}

    def commit() -> Path | None:
        if context.archive_dir is None:
            return None
        return archived or _archive(context.archive_dir, feed, as_of, digest, data_path, folder / options.manifest)

    return RawExtract(
        feed=feed,
        frame=frame,
        source=data_path.name,
        columns=columns,
        as_of=context.as_of,
        sha256=digest,
        manifest=manifest,
        status=status,
        details=details,
        commit=commit,
    )


def _read_manifest(feed: str, path: Path) -> dict:
    if not path.is_file():
        raise DeliveryIncomplete(feed, f"no {path.name} in {path.parent}: the delivery is incomplete", source=path.name)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeliveryIncomplete(
            feed, f"{path.name} is not valid JSON ({exc.__class__.__name__})", source=path.name
        ) from None
    if not isinstance(manifest, dict):
        raise DeliveryIncomplete(feed, f"{path.name} is not a JSON object", source=path.name)
    missing = [key for key in MANIFEST_FIELDS if key not in manifest]
    if missing:
        raise DeliveryIncomplete(feed, f"{path.name} lacks {', '.join(missing)}", source=path.name)
    name = manifest["file"]
    if not isinstance(name, str) or not name or Path(name).name != name or name in {".", ".."}:
        raise DeliveryIncomplete(feed, f"{path.name}: 'file' must be a plain file name", source=path.name)
    if not isinstance(manifest["rows"], int) or isinstance(manifest["rows"], bool) or manifest["rows"] < 0:
        raise DeliveryIncomplete(feed, f"{path.name}: 'rows' must be a whole number", source=path.name)
    sha = manifest["sha256"]
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha):
        raise DeliveryIncomplete(feed, f"{path.name}: 'sha256' must be 64 hex digits", source=path.name)
    if manifest.get("feed") not in (None, feed):
        raise DeliveryIncomplete(feed, f"{path.name} is for feed {manifest['feed']!r}", source=path.name)
    return manifest


def _archive_root(archive_dir: Path, feed: str) -> Path:
    return Path(archive_dir) / feed


def _archive_status(
    feed: str, archive_dir: Path | None, as_of: dt.date, digest: str, name: str
) -> tuple[str, Path | None]:
    """new, already_loaded (this night, same bytes) or redelivered (this night, new bytes).

    The same bytes archived under another night are refused: a source that re-sends an old
    extract must not make tonight look like that night.
    """
    if archive_dir is None:
        return "new", None
    root = _archive_root(archive_dir, feed)
    tonight = root / as_of.isoformat()
    if (tonight / digest).is_dir():
        return "already_loaded", tonight / digest
    for other in sorted(root.glob(f"*/{digest}")):
        raise AlreadyLoaded(
            feed,
            f"this extract (sha256 {digest[:12]}…) was already loaded as the delivery of {other.parent.name}",
            source=name,
        )
    return ("redelivered" if tonight.is_dir() and any(tonight.iterdir()) else "new"), None


def _archive(archive_dir: Path, feed: str, as_of: dt.date, digest: str, data_path: Path, manifest_path: Path) -> Path:
    """Copy the verified file and its manifest into the archive, read-only, all or nothing."""
    target = _archive_root(archive_dir, feed) / as_of.isoformat() / digest
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=target.parent))
    try:
        for source in (data_path, manifest_path):
            copied = staging / source.name
            shutil.copyfile(source, copied)
            os.chmod(copied, READ_ONLY)
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
        # else a concurrent run archived the same bytes first: theirs is identical
    return target
