"""The run lifecycle, written once: every command that changes the store (``ingest``, ``validate``,
``match``, ``sync``) records a run that starts, then finishes (succeeded, gate_failed …) or fails
with a masked message saying where it stopped.

    with recorded_run(engine, RunKind.VALIDATE, night, feeds, "validation") as run:
        ...
        run.finish(RunStatus.SUCCEEDED, counts)

A run that leaves the block without ``finish`` because of an exception is marked failed (and the
exception goes on); one that leaves it without either is a programming error, also marked failed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from nominal.errors import NominalError
from nominal.store import writes
from nominal.vocab import RunKind, RunStatus


def masked_reason(exc: BaseException) -> str:
    """What may be said of an error in a run's message: a nominal or disk error says where (its text
    is built from masked values); anything else only its kind, since its text could hold a value."""
    return str(exc) if isinstance(exc, NominalError | OSError) else exc.__class__.__name__


@dataclass
class RunRecord:
    """A run in progress; ``finish`` records how it ended."""

    engine: Engine
    run_id: int
    kind: RunKind
    as_of: dt.date
    status: RunStatus = RunStatus.RUNNING
    counts: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

    def finish(self, status: RunStatus, counts: dict[str, Any], message: str | None = None) -> None:
        writes.finish_run(self.engine, self.run_id, status, counts, message)
        self.status, self.counts, self.message = status, counts, message

    def mark_finished(self, status: RunStatus, counts: dict[str, Any], message: str | None = None) -> None:
        """The run's end was already written by another transaction (publish's): remember it only."""
        self.status, self.counts, self.message = status, counts, message

    def fail(self, stopped: str, exc: BaseException) -> None:
        self.finish(RunStatus.FAILED, {}, f"{stopped} stopped: {masked_reason(exc)}")


def start_run(engine: Engine, kind: RunKind, as_of: dt.date, feeds: list[str]) -> RunRecord:
    return RunRecord(engine, writes.start_run(engine, kind, as_of, feeds), kind, as_of)


@contextmanager
def recorded_run(engine: Engine, kind: RunKind, as_of: dt.date, feeds: list[str], stopped: str) -> Iterator[RunRecord]:
    """A run recorded from start to end; ``stopped`` names what stopped in a failure's message."""
    run = start_run(engine, kind, as_of, feeds)
    try:
        yield run
    except BaseException as exc:
        if run.status is RunStatus.RUNNING:
            run.fail(stopped, exc)
        raise
    if run.status is RunStatus.RUNNING:
        run.finish(RunStatus.FAILED, {}, f"{stopped} stopped: the run ended without a result")
