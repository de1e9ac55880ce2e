"""Every frame that crosses a seam has the shape its schema declares: one night of generated feeds
taken stage by stage (mapping, validation, matching, publish, the store's write and read back)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from nominal import canonical
from nominal.config import SHIPPED_CONFIG
from nominal.expectations.run import VALIDATION_EXCEPTIONS
from nominal.flows.configuration import load_config
from nominal.flows.ingest import ingest_night
from nominal.flows.validate import validate_feeds
from nominal.mappings.apply import ISSUES
from nominal.matching.pipeline import match
from nominal.matching.schemas import CLUSTERS, EVENTS, PAIRS, REVIEW_PAIRS
from nominal.matching.settings import load_settings
from nominal.publish.publication import prepare
from nominal.publish.rules import load_rules
from nominal.schema import Field, SchemaError, schema
from nominal.store import queries, writes
from nominal.synthetic import generate
from nominal.tables import (
    ACCEPTED_VALUES,
    DISMISSALS,
    EXCEPTIONS,
    EXCEPTIONS_SEEN,
    LINKS,
    LINKS_GONE,
    PERSONS,
    PUBLISHED_PERSONS,
    QUALITY_METRICS,
    RETIRED,
    PublishedState,
)
from nominal.vocab import RunKind, Severity

NIGHT = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One night of 300 generated people through every stage, as plain functions."""
    out = tmp_path_factory.mktemp("seams")
    generate(people=300, seed=11, out=out, nights=1, start_date=NIGHT)
    config = load_config(SHIPPED_CONFIG)
    config.archive = str(out / "archive")
    ingests = ingest_night(config, NIGHT, out / "landing")
    checked = validate_feeds(config, NIGHT, ingests)
    records = pd.concat([i.canonical for i in ingests], ignore_index=True)
    matched = match([i.canonical for i in ingests], load_settings())
    validation = checked.exceptions()
    metrics = checked.metrics()
    published = prepare(
        records,
        matched.clusters,
        matched.review_pairs,
        matched.events,
        validation,
        PublishedState.empty(),
        load_rules(),
        run_id=1,
        as_of=NIGHT,
        scope_feeds={i.feed for i in ingests},
        metrics=metrics.to_dict("records"),
    )
    return {"ingests": ingests, "validation": validation, "metrics": metrics, "matched": matched, "night": published}


def test_mapping_emits_canonical_records_and_issues(night):
    for ingest in night["ingests"]:
        frame = ingest.canonical
        assert list(frame.columns[: len(canonical.COLUMNS)]) == list(canonical.COLUMNS)
        assert {c: str(frame[c].dtype) for c in canonical.COLUMNS} == {
            c: str(pd.Series(dtype=d).dtype) for c, d in canonical.DTYPES.items()
        }
        assert ISSUES.problems(ingest.issues) == []


def test_validation_emits_exceptions_and_metrics(night):
    assert len(night["validation"]) > 0  # the generator injects errors: there is something to check
    assert VALIDATION_EXCEPTIONS.problems(night["validation"]) == []
    assert QUALITY_METRICS.problems(night["metrics"]) == []


def test_matching_emits_clusters_pairs_review_pairs_and_events(night):
    matched = night["matched"]
    assert len(matched.review_pairs) > 0
    for declared, frame in ((CLUSTERS, matched.clusters), (PAIRS, matched.pairs), (EVENTS, matched.events)):
        assert declared.problems(frame) == []
    assert REVIEW_PAIRS.problems(matched.review_pairs) == []


def test_publish_emits_what_the_store_writes(night):
    publication = night["night"].publication
    for declared, frame in (
        (PERSONS, publication.persons),
        (RETIRED, publication.retired),
        (LINKS, publication.links),
        (LINKS_GONE, publication.links_gone),
        (EVENTS, publication.events),
        (EXCEPTIONS, publication.exceptions),
    ):
        assert len(frame) or declared in (RETIRED, LINKS_GONE, EVENTS)  # a first night retires and merges none
        assert declared.problems(frame) == [], declared.name
    assert EXCEPTIONS_SEEN.problems(publication.exceptions_seen) == []


def test_the_store_reads_back_what_publish_wrote(night, store_engine):
    run_id = writes.start_run(store_engine, RunKind.SYNC, NIGHT, ["police", "probation", "prison"])
    writes.publish_night(store_engine, run_id, night["night"].publication, {"publish": night["night"].counts})
    state = queries.published_state(store_engine)
    assert len(state.persons) == len(night["night"].publication.persons)
    for declared, frame in (
        (PUBLISHED_PERSONS, state.persons),
        (LINKS, state.links),
        (EXCEPTIONS, state.exceptions),
        (DISMISSALS, state.dismissed),
        (ACCEPTED_VALUES, state.accepted),
    ):
        assert declared.problems(frame) == [], declared.name


def test_a_schema_names_what_is_wrong_with_a_frame():
    declared = schema(
        "example",
        (
            Field("feed", "str", "the feed", nullable=False),
            Field("severity", "str", "how serious", Severity),
            Field("rows", "Int64", "how many"),
        ),
    )
    good = pd.DataFrame({"feed": ["police"], "severity": ["error"], "rows": pd.array([3], dtype="Int64")})
    assert declared.problems(good) == []
    bad = pd.DataFrame({"feed": [None], "severity": ["fatal"], "rows": [1.5], "extra": [1]})
    found = " | ".join(declared.problems(bad))
    assert "unexpected columns extra" in found and "feed: 1 missing values" in found
    assert "severity: fatal not among critical, error, warning" in found and "rows: dtype float64 is not Int64" in found
    with pytest.raises(SchemaError, match="missing columns rows"):
        declared.check(good.drop(columns=["rows"]))
    assert list(declared.empty().dtypes.astype(str)) == ["object", "object", "Int64"]
