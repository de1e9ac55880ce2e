"""Errors that name exactly where bad input is: feed, file, row and column.

Messages never carry personal data in full; callers pass masked values only.
"""

from __future__ import annotations

from typing import Any, TypedDict, Unpack


class NominalError(Exception):
    """Base for errors reported to the user without a traceback."""


class ConfigError(NominalError):
    pass


class Where(TypedDict, total=False):
    """Where in a feed an error is (``FeedError``'s keyword arguments besides ``kind``)."""

    source: str | None
    row: int | None
    column: str | None


class FeedError(NominalError):
    """A delivery or source that cannot be loaded. Nothing from it is archived or published."""

    def __init__(
        self,
        feed: str,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        kind: str = "bad_input",
    ):
        self.feed, self.source, self.row, self.column, self.kind = feed, source, row, column, kind
        self.reason = message
        where = [feed]
        if source:
            where.append(source)
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column}")
        super().__init__(f"{': '.join([', '.join(where), message])}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "source": self.source,
            "row": self.row,
            "column": self.column,
            "kind": self.kind,
            "message": self.reason,
        }


class DeliveryIncomplete(FeedError):
    """Missing, partial or not matching its manifest: the source has not finished delivering."""

    def __init__(self, feed: str, message: str, *, kind: str = "incomplete", **where: Unpack[Where]):
        super().__init__(feed, message, kind=kind, **where)


class AlreadyLoaded(FeedError):
    """The same extract (same sha256) was already loaded for another night."""

    def __init__(self, feed: str, message: str, **where: Unpack[Where]):
        super().__init__(feed, message, kind="already_loaded", **where)


class SourceUnavailable(FeedError):
    """A transient failure reaching a source (network, database): worth retrying."""

    def __init__(self, feed: str, message: str, **where: Unpack[Where]):
        super().__init__(feed, message, kind="unavailable", **where)
