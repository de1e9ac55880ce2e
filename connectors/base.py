"""What every connector returns: the raw frame of one feed's extract, with provenance.

A connector is a module with an ``Options`` model (its configuration, validated when the
config loads) and ``fetch(feed, options, context) -> RawExtract``. It only reads: shaping
into canonical records is the mapping stage's job.
"""

from __future__ import annotations

import datetime as dt
import os
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from nominal.errors import FeedError

PROVENANCE_COLUMNS = ("_feed", "_source", "_row")
DATE_PLACEHOLDERS = frozenset({"date", "as_of"})
ENV_PREFIX = "env:"  # a configured secret given as env:VARNAME is read from the environment
MASK = "***"


class ConnectorOptions(BaseModel):
    """Base for each connector's options: unknown keys are configuration mistakes."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class FetchContext:
    as_of: dt.date | None = None
    landing_dir: Path | None = None
    archive_dir: Path | None = None


@dataclass
class RawExtract:
    """One feed's extract as read: every source column as text, plus ``_feed``, ``_source``, ``_row``.

    ``_row`` is the 1-based data row (the header is not counted), so that any later error can
    name the exact record. ``commit`` (landing deliveries only) archives the verified file; the
    caller runs it once the extract has also mapped cleanly, so nothing bad is archived as loaded.
    """

    feed: str
    frame: pd.DataFrame
    source: str
    columns: list[str]
    as_of: dt.date | None = None
    sha256: str | None = None
    manifest: dict | None = None
    status: str = "new"  # new | already_loaded | redelivered
    details: dict = field(default_factory=dict)
    commit: Callable[[], Path | None] | None = None

    @property
    def rows(self) -> int:
        return len(self.frame)


def with_provenance(frame: pd.DataFrame, feed: str, source: str, first_row: int = 1) -> pd.DataFrame:
    """Add the provenance columns in place of any the source itself had."""
    frame = frame.drop(columns=[c for c in PROVENANCE_COLUMNS if c in frame.columns])
    frame.insert(0, "_row", pd.RangeIndex(first_row, first_row + len(frame)).to_numpy(dtype="int64"))
    frame.insert(0, "_source", pd.Series(source, index=frame.index, dtype="str"))
    frame.insert(0, "_feed", pd.Series(feed, index=frame.index, dtype="str"))
    return frame.reset_index(drop=True)


def as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as pandas ``str`` (missing stays NA): raw frames hold text only."""
    return frame.astype(dict.fromkeys(frame.columns, "str"))


def check_date_placeholders(template: str) -> None:
    """Refuse (at configuration time) any placeholder but ``{date}`` / ``{as_of}``."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:  # unbalanced braces
        raise ValueError(f"bad placeholder: {exc} (write {{{{ and }}}} for literal braces)") from None
    unknown = sorted(set(fields) - DATE_PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}: only {{date}} and {{as_of}} (e.g. {{date:%Y%m%d}})")


def fill_date_placeholders(feed: str, template: str, as_of: dt.date | None) -> str:
    if "{" not in template:
        return template
    if as_of is None and any(name for _, name, _, _ in string.Formatter().parse(template)):
        raise FeedError(feed, "the configuration has a {date} placeholder but the run has no as-of date", kind="config")
    return template.format(date=as_of, as_of=as_of)


def from_env(feed: str, value: str, what: str, source: str | None = None) -> str:
    """A configured value, or the environment variable it names as ``env:VARNAME``."""
    if not value.startswith(ENV_PREFIX):
        return value
    variable = value[len(ENV_PREFIX) :]
    resolved = os.environ.get(variable, "")
    if not resolved:
        raise FeedError(feed, f"environment variable {variable} ({what}) is not set", source=source, kind="config")
    return resolved


def scrub(text: str, secrets: Sequence[str], min_chars: int = 1) -> str:
    """Mask every secret in a message, longest first, and each word of a multi-word one (``Bearer <token>``)."""
    pieces = {piece for secret in secrets for piece in (secret, *secret.split()) if len(piece) >= min_chars}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, MASK)
    return text
