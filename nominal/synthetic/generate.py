"""The public entry point: generate the nightly deliveries of the three feeds and their truth.

Layout under ``out`` (see docs/synthetic.md)::

    landing/<feed>/<YYYY-MM-DD>/<file>, manifest.json
    truth/<YYYY-MM-DD>/records.csv   feed,source_key,person_id
    truth/<YYYY-MM-DD>/errors.csv    feed,source_key,field,error
    truth/people.csv                 the people's true attributes (as of the last night)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import police, prison, probation, strs, writer
from .dates import DAY, ISO, format_dates
from .evolve import run_night
from .records import FEEDS, World, home_address, home_postcode
from .settings import GeneratorSettings
from .world import initial_world

FEED_MODULES = {"police": police, "probation": probation, "prison": prison}
FEED_FORMATS = {"police": writer.POLICE, "probation": writer.PROBATION, "prison": writer.PRISON}
SCHEMA_VERSION = 1

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Delivery:
    feed: str
    path: Path
    manifest: Path
    rows: int
    sha256: str


@dataclass(frozen=True)
class NightReport:
    date: dt.date
    deliveries: dict[str, Delivery]
    truth_records: Path
    truth_errors: Path
    errors: int
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationReport:
    out: Path
    people: int  # people on the first night
    people_total: int  # including people added on later nights
    seed: int
    start_date: dt.date
    nights: tuple[NightReport, ...]
    settings: dict[str, float]
    seconds: float

    def as_dict(self) -> dict:
        """JSON-ready: ``nights`` maps each night to its feeds (rows, path, manifest, sha256);
        ``truth`` and ``changes`` map each night to its truth files and nightly changes."""
        return {
            "out": str(self.out),
            "people": self.people,
            "people_total": self.people_total,
            "seed": self.seed,
            "start_date": self.start_date.isoformat(),
            "seconds": round(self.seconds, 2),
            "nights": {
                night.date.isoformat(): {
                    feed: {"rows": d.rows, "path": str(d.path), "manifest": str(d.manifest), "sha256": d.sha256}
                    for feed, d in night.deliveries.items()
                }
                for night in self.nights
            },
            "truth": {
                night.date.isoformat(): {
                    "records": str(night.truth_records),
                    "errors": str(night.truth_errors),
                    "error_rows": night.errors,
                }
                for night in self.nights
            },
            "changes": {
                night.date.isoformat(): {"added": night.added, "updated": night.updated, "removed": night.removed}
                for night in self.nights[1:]
            },
            "settings": self.settings,
        }


def generate(
    people: int,
    seed: int,
    out: Path,
    nights: int = 1,
    start_date: dt.date | None = None,
    settings: GeneratorSettings | None = None,
    progress: Progress | None = None,
) -> GenerationReport:
    """Generate ``nights`` nightly deliveries for ``people`` synthetic people into ``out``.

    The same arguments always give the same bytes. ``start_date`` (default: today) is the first
    night; night k is ``start_date + k days``. ``progress(message, fraction_done)`` is called as
    work completes.
    """
    if people < 1:
        raise ValueError("people must be at least 1")
    if nights < 1:
        raise ValueError("nights must be at least 1")
    started = pd.Timestamp.now()
    settings = settings or GeneratorSettings()
    start_date = start_date or dt.date.today()
    out = Path(out)
    report = _Progress(progress, nights)
    start = np.datetime64(start_date, "D")
    last_night = start + (nights - 1) * DAY

    report.step(f"building {people:,} people and their records", 0.0)
    world = initial_world(settings, seed, people, start, last_night)
    report.step(f"{len(world.people):,} people and their records built", 0.40)
    reports = []
    for index in range(nights):
        today = start + index * DAY
        changes = None
        if index:
            report.step(f"night {today}: changes since the night before", report.night_start(index))
            changes = run_night(world, index, today)
        reports.append(_write_night(world, out, index, today, changes, report))
    report.step("writing truth/people.csv", 0.99)
    write_people(world, out / "truth" / "people.csv")
    report.step("done", 1.0)
    return GenerationReport(
        out=out,
        people=people,
        people_total=len(world.people),
        seed=seed,
        start_date=start_date,
        nights=tuple(reports),
        settings=settings.as_dict(),
        seconds=(pd.Timestamp.now() - started).total_seconds(),
    )


class _Progress:
    """Fractions for the progress callback: the first night's build weighs most."""

    BUILD = 0.45

    def __init__(self, callback: Progress | None, nights: int):
        self.callback, self.nights = callback, nights

    def night_start(self, index: int) -> float:
        return self.BUILD + (1 - self.BUILD - 0.02) * index / self.nights

    def step(self, message: str, fraction: float) -> None:
        if self.callback is not None:
            self.callback(message, min(max(fraction, 0.0), 1.0))


def _write_night(world: World, out: Path, index: int, today: np.datetime64, changes, report: _Progress) -> NightReport:
    day = str(today)
    compact = day.replace("-", "")
    rng = world.streams.rng("extracted_at", index)
    deliveries = {}
    for position, feed in enumerate(FEEDS):
        module = FEED_MODULES[feed]
        folder = out / "landing" / feed / day
        path = folder / module.FILE.format(date=compact)
        records = world.records[feed]
        rows, sha256 = writer.write_table(
            path, module.COLUMNS, writer.chunked(records, module.render), FEED_FORMATS[feed], module.FREE_TEXT
        )
        extracted = (
            pd.Timestamp(day) + pd.Timedelta(hours=23, minutes=40) + pd.Timedelta(seconds=int(rng.integers(0, 600)))
        )
        manifest = {
            "feed": feed,
            "extract_date": day,
            "extracted_at": extracted.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "file": path.name,
            "rows": rows,
            "sha256": sha256,
            "schema_version": SCHEMA_VERSION,
        }
        writer.write_manifest(folder / "manifest.json", manifest)
        deliveries[feed] = Delivery(feed, path, folder / "manifest.json", rows, sha256)
        report.step(
            f"night {day}: {feed} written ({rows:,} records)",
            report.night_start(index) + 0.15 * (position + 1) / report.nights,
        )
    truth = out / "truth" / day
    records_path, errors_path = truth / "records.csv", truth / "errors.csv"
    write_truth_records(world, records_path)
    error_rows = write_truth_errors(world, errors_path)
    return NightReport(
        date=dt.date.fromisoformat(day),
        deliveries=deliveries,
        truth_records=records_path,
        truth_errors=errors_path,
        errors=error_rows,
        added=dict(changes.added) if changes else {},
        updated={feed: len(keys) for feed, keys in changes.updated.items()} if changes else {},
        removed=dict(changes.removed) if changes else {},
    )


def write_truth_records(world: World, path: Path) -> int:
    """Every record delivered tonight with the person it belongs to."""
    person_ids = strs.arrow(world.people["person_id"])

    def chunks():
        for feed in FEEDS:
            records = world.records[feed]
            for start in range(0, len(records), writer.CHUNK_ROWS):
                part = records.iloc[start : start + writer.CHUNK_ROWS]
                yield {
                    "feed": strs.repeat(feed, len(part)),
                    "source_key": strs.arrow(part["key"]),
                    "person_id": person_ids.take(pa.array(part["person"].to_numpy())),
                }

    rows, _ = writer.write_table(path, ("feed", "source_key", "person_id"), chunks(), writer.TRUTH)
    return rows


def write_truth_errors(world: World, path: Path) -> int:
    """Every error carried by a record delivered tonight."""

    def chunks():
        for feed in FEEDS:
            log = world.errors[feed]
            unknown = ~strs.is_in(log["key"], world.records[feed]["key"])
            if unknown.any():  # every change keeps the log in step with the records
                raise AssertionError(f"{feed}: errors logged for records not delivered")
            yield {
                "feed": strs.repeat(feed, len(log)),
                "source_key": strs.arrow(log["key"]),
                "field": strs.arrow(log["field"]),
                "error": strs.arrow(log["error"]),
            }

    rows, _ = writer.write_table(path, ("feed", "source_key", "field", "error"), chunks(), writer.TRUTH)
    return rows


def write_people(world: World, path: Path) -> None:
    """True attributes of every person generated, as of the last night."""
    people = world.people
    everyone = np.arange(len(people))

    def chunks():
        for start in range(0, len(people), writer.CHUNK_ROWS):
            rows = everyone[start : start + writer.CHUNK_ROWS]
            part = people.iloc[rows]
            forenames = strs.join(part["forename"], " ", part["middle"])
            yield {
                "person_id": strs.arrow(part["person_id"]),
                "surname": strs.arrow(part["surname"]),
                "forenames": pc.utf8_trim_whitespace(forenames),
                "date_of_birth": format_dates(part["dob"].to_numpy(), ISO),
                "sex": strs.arrow(part["sex"]),
                "alias_surname": strs.arrow(part["alias_surname"]),
                "alias_forename": strs.arrow(part["alias_forename"]),
                "pnc_id": strs.arrow(part["pnc"]),
                "cro_number": strs.arrow(part["cro"]),
                "ni_number": strs.arrow(part["ni"]),
                "noms_number": strs.arrow(part["noms"]),
                "address": strs.arrow(home_address(world, rows)),
                "postcode": strs.arrow(home_postcode(world, rows)),
                "nominal_type": strs.arrow(part["nominal_type"]),
                "mappa_category": strs.take(["", "1", "2", "3"], part["mappa_category"].to_numpy()),
                "mappa_level": strs.take(["", "1", "2", "3"], part["mappa_level"].to_numpy()),
                "twin_of": strs.arrow(part["twin_of"]),
            }

    columns = (
        "person_id", "surname", "forenames", "date_of_birth", "sex", "alias_surname", "alias_forename", "pnc_id",
        "cro_number", "ni_number", "noms_number", "address", "postcode", "nominal_type", "mappa_category",
        "mappa_level", "twin_of",
    )  # fmt: skip
    writer.write_table(path, columns, chunks(), writer.TRUTH)
