"""The one clock: timezone-aware UTC now, for every timestamp nominal records."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
