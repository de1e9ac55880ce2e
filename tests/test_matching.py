"""Identity matching: comparison levels, EM, term frequencies, decisions, constraints, stable ids, nights."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from nominal.config import SHIPPED_CONFIG
from nominal.flows.configuration import load_config
from nominal.flows.ingest import ingest_night
from nominal.matching import levels
from nominal.matching.clustering import cluster
from nominal.matching.comparisons import compare
from nominal.matching.fellegi_sunter import expectation_maximisation
from nominal.matching.model import ComparisonModel, Model
from nominal.matching.pipeline import match
from nominal.matching.prepare import prepare
from nominal.matching.schemas import CLUSTERS, EVENTS, PAIRS, REVIEW_PAIRS
from nominal.matching.settings import load_settings
from nominal.publish.review import review_findings
from nominal.synthetic import generate
from nominal.vocab import LinkedBy
from tests.canonical_records import canonical_frame, pnc
from tests.people import make_staff

NIGHT = dt.date(2026, 11, 23)
PAIR = ["feed_a", "source_key_a", "feed_b", "source_key_b"]
SETTINGS = load_settings()


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    """Two nights of 1,200 synthetic people, ingested: (night 1 frames, night 2 frames, truth folder)."""
    out = tmp_path_factory.mktemp("feeds")
    generate(people=1200, seed=5, out=out, nights=2, start_date=NIGHT)
    config = load_config(SHIPPED_CONFIG)
    config.archive = str(out / "archive")
    nights = []
    for night in (NIGHT, NIGHT + dt.timedelta(days=1)):
        nights.append([r.canonical for r in ingest_night(config, night, out / "landing")])
    return nights[0], nights[1], out / "truth"


@pytest.fixture(scope="module")
def first_night(two_nights):
    """The first night matched in full, training its model."""
    return match(two_nights[0], SETTINGS)


@pytest.fixture(scope="module")
def trained(first_night):
    """A model trained on the first night, reused by the hand-made cases (too small to train on)."""
    return first_night.model


# --- comparison levels -------------------------------------------------------------------------


def levels_of(pairs: list[tuple[dict, dict]], feed: str = "probation") -> dict[str, list[str]]:
    """The level label each comparison gives each hand-made pair of records."""
    records = []
    for left, right in pairs:
        records += [left, right]
    frame = canonical_frame(feed, records, identifiers=False, extras=False)
    frame["source_key"] = [f"K{i:04d}" for i in range(len(frame))]  # keeps rid order = list order
    prepared = prepare([frame])
    a = np.arange(0, len(frame), 2)
    gamma = compare(prepared, SETTINGS, a, a + 1)
    return {c.name: [levels.labels(c)[lv] for lv in gamma.levels[c.name]] for c in SETTINGS.comparisons}


@pytest.mark.parametrize(
    "left, right, expected",
    [
        ("JOHN", "JOHN", "exact"),
        ("WILLIAM", "BILL", "nickname"),
        ("BILL", "WILL", "nickname"),  # both short for WILLIAM
        ("JONATHAN", "JONATHON", "jaro-winkler ≥ 0.92"),
        ("PHILIP", "FILIP", "same sound"),
        ("ANDREA", "ANDREW", "jaro-winkler ≥ 0.92"),
        ("DEAN", "DEAM", "jaro-winkler ≥ 0.80"),
        ("JOHN PAUL", "PAUL", "matches a middle name"),
        ("JOHN", "KEVIN", "else"),
        (None, "KEVIN", "null"),
    ],
)
def test_forename_levels(left, right, expected):
    assert levels_of([({"forenames": left}, {"forenames": right})])["forename"] == [expected]


@pytest.mark.parametrize(
    "left, right, expected",
    [
        ("SMITH", "SMITH", "exact"),
        ("O'BRIEN", "OBRIEN", "exact"),
        ("THOMPSON", "THOMSON", "jaro-winkler ≥ 0.92"),
        ("ALAN", "ALLEN", "same sound"),
        ("WILLIAMS", "WILKINS", "jaro-winkler ≥ 0.80"),
        ("SMITH-JONES", "JONES", "one name part of the other"),
        ("SMITH", "PATEL", "else"),
    ],
)
def test_surname_levels(left, right, expected):
    assert levels_of([({"surname": left}, {"surname": right})])["surname"] == [expected]


def test_names_swapped_and_through_an_alias():
    got = levels_of(
        [
            ({"forenames": "NEIL", "surname": "FOSTER"}, {"forenames": "FOSTER", "surname": "NEIL"}),
            (
                {"forenames": "NEIL", "surname": "FOSTER", "aliases": "RICHARDS, NEIL"},
                {"forenames": "NEIL", "surname": "RICHARDS"},
            ),
            (
                {"forenames": "GARY", "surname": "BROWN"},
                {"forenames": "KEVIN", "surname": "BROWN", "aliases": "BROWN, GARY"},
            ),
        ]
    )
    assert got["names"] == ["forename and surname swapped", "through an alias", "through an alias"]
    assert got["forename"] == ["exact"] * 3 and got["surname"] == ["exact"] * 3


@pytest.mark.parametrize(
    "left, right, expected",
    [
        ("1990-03-04", "1990-03-04", "exact"),
        ("1990-03-04", "1990-04-03", "day and month transposed"),
        ("1990-03-04", "1991-03-04", "one of day, month, year differs"),
        ("1990-03-04", "1990-09-20", "within a year"),
        ("1990-03-04", "1975-09-20", "else"),
        ("1990-03-04", None, "null"),
    ],
)
def test_date_of_birth_levels(left, right, expected):
    pair = ({"date_of_birth": pd.Timestamp(left)}, {"date_of_birth": pd.Timestamp(right) if right else None})
    assert levels_of([pair])["date_of_birth"] == [expected]


@pytest.mark.parametrize(
    "left, right, expected",
    [
        ("LS6 3TJ", "LS6 3TJ", "full postcode"),
        ("LS6 3TJ", "LS6 3AB", "same sector"),
        ("LS6 3TJ", "LS6 9AB", "same district"),
        ("LS6 3TJ", "M1 1AE", "else"),
        ("LS6 3TJ", None, "null"),
    ],
)
def test_postcode_levels(left, right, expected):
    assert levels_of([({"postcode": left}, {"postcode": right})])["postcode"] == [expected]


def test_sex_and_identifier_levels():
    got = levels_of(
        [
            ({"sex": "M", "pnc_id": pnc(1)}, {"sex": "M", "pnc_id": pnc(1)}),
            ({"sex": "M", "pnc_id": pnc(1)}, {"sex": "F", "pnc_id": pnc(2)}),
            ({"sex": "U", "pnc_id": None}, {"sex": "M", "pnc_id": pnc(2)}),
        ]
    )
    assert got["sex"] == ["same", "different", "null"]
    assert got["pnc_id"] == ["agree", "disagree", "null"]


def test_levels_are_named_and_asked_for_by_name():
    assert levels.names("identifier") == ["null", "agree", "disagree"]
    assert levels.index("identifier", "agree") == 1
    assert [levels.labels("forename")[i] for i in levels.levels_from("forename", levels.FORENAMES_DIFFER)] == [
        "jaro-winkler ≥ 0.80",
        "matches a middle name",
        "else",
    ]
    fuzzy = SETTINGS.comparisons[0].model_copy(update={"kind": "fuzzy", "thresholds": [0.9, 0.7]})
    assert levels.names(fuzzy) == ["null", "exact", "jaro_winkler_0.9", "jaro_winkler_0.7", "else"]
    with pytest.raises(KeyError, match="no level 'agree'"):
        levels.index("sex", "agree")
    with pytest.raises(ValueError, match="are not the levels"):  # conditions must name the levels, in order
        levels.first_level("sex", {"different": np.array([True])}, np.array([False]))


def test_settings_refuse_a_misspelled_blocking_key():
    from pydantic import ValidationError

    from nominal.matching.settings import Settings

    raw = SETTINGS.model_dump(mode="json")
    raw["blocking"] = [{"name": "typo", "keys": ["dob_any_ordr", "surname_sound"]}]
    with pytest.raises(ValidationError, match="unknown blocking key 'dob_any_ordr' — did you mean 'dob_any_order'"):
        Settings.model_validate(raw)
    raw["blocking"] = [{"name": "court", "keys": ["court_code", "dob"]}]  # any other name is a record column
    assert Settings.model_validate(raw).blocking[0].keys == ["court_code", "dob"]


# --- Fellegi–Sunter ---------------------------------------------------------------------------


def test_em_recovers_the_parameters_data_was_simulated_from():
    rng = np.random.default_rng(3)
    m_true = [np.array([0, 0.90, 0.07, 0.03]), np.array([0, 0.85, 0.15]), np.array([0, 0.80, 0.15, 0.05])]
    u_true = [np.array([0, 0.01, 0.09, 0.90]), np.array([0, 0.10, 0.90]), np.array([0, 0.02, 0.18, 0.80])]
    share, n = 0.3, 200_000
    is_match = rng.random(n) < share
    gamma = np.column_stack(
        [np.where(is_match, rng.choice(len(m), n, p=m), rng.choice(len(u), n, p=u)) for m, u in zip(m_true, u_true)]
    ).astype(np.int8)
    # EM starts its non-match side from random-pair frequencies: give it rough ones
    u_start = [np.r_[0, (u[1:] + 0.05) / (u[1:] + 0.05).sum()] for u in u_true]
    result = expectation_maximisation(gamma, [4, 3, 4], u_start=u_start, max_iterations=200, tolerance=1e-8)
    assert result.converged
    assert result.match_share == pytest.approx(share, abs=0.01)
    for estimated, true in zip(result.m, m_true):
        np.testing.assert_allclose(estimated[1:], true[1:], atol=0.01)
    for estimated, true in zip(result.u_candidates, u_true):
        np.testing.assert_allclose(estimated[1:], true[1:], atol=0.01)


def test_term_frequency_makes_a_rare_surname_count_more():
    frame = canonical_frame(
        "probation",
        [{"surname": "SMITH"}, {"surname": "SMITH"}, {"surname": "ZYGMUNT"}, {"surname": "ZYGMUNT"}],
        identifiers=False,
        extras=False,
    )
    records = prepare([frame])
    surname = next(c for c in SETTINGS.comparisons if c.name == "surname")
    model = Model(
        settings=SETTINGS,
        comparisons=[
            ComparisonModel(
                "surname",
                "surname",
                levels.labels(surname),
                m=np.array([0, 0.9, 0.04, 0.02, 0.02, 0.01, 0.01]),
                u=np.array([0, 0.01, 0.01, 0.01, 0.01, 0.01, 0.95]),
                term_frequencies={"SMITH": 0.02, "ZYGMUNT": 0.00002},
            )
        ],
        prior=0.001,
        candidate_match_share=0.5,
    )
    gamma = compare(records, SETTINGS, np.array([0, 2]), np.array([1, 3]))
    weights = model.score(gamma, records).weights["surname"]
    assert weights[0] == pytest.approx(np.log2(0.9 / 0.02), abs=1e-4)
    assert weights[1] == pytest.approx(np.log2(0.9 / 0.00002), abs=1e-4)
    assert weights[1] - weights[0] == pytest.approx(np.log2(1000), abs=1e-4)


def test_model_round_trips_through_json(tmp_path, trained):
    path = trained.save(tmp_path / "model.json")
    again = Model.load(path)
    assert again.prior == trained.prior and again.fits(SETTINGS)
    for x, y in zip(again.comparisons, trained.comparisons):
        np.testing.assert_allclose(x.m, y.m)
        np.testing.assert_allclose(x.u, y.u)


# --- decisions, constraints, review ------------------------------------------------------------


def people(feed, records):
    return canonical_frame(feed, records, identifiers=False)


def by_key(result):
    return dict(zip(result.clusters["feed"] + ":" + result.clusters["source_key"], result.clusters["person_id"]))


def test_the_same_person_in_three_feeds_is_one_person(trained):
    frames = [
        people("police", [{}]),
        people("probation", [{"forenames": "NEIL"}]),
        people("prison", [{"surname": "F0STER"}]),
    ]
    result = match(frames, SETTINGS, model=trained)
    assert len(set(by_key(result).values())) == 1


def test_officer_decisions_win_over_the_model(trained):
    twin_like = [
        people("police", [{}]),
        people("probation", [{}]),
        people("prison", [{"forenames": "ZACHARY", "surname": "QUINN", "date_of_birth": pd.Timestamp("1950-01-01")}]),
    ]
    decisions = pd.DataFrame(
        [
            {
                "kind": "do_not_link",
                "feed_a": "police",
                "source_key_a": "K1",
                "feed_b": "probation",
                "source_key_b": "K1",
            },
            {"kind": "link", "feed_a": "police", "source_key_a": "K1", "feed_b": "prison", "source_key_b": "K1"},
        ]
    )
    result = match(twin_like, SETTINGS, model=trained, decisions=decisions)
    ids = by_key(result)
    assert ids["police:K1"] != ids["probation:K1"]
    assert ids["police:K1"] == ids["prison:K1"]
    linked = result.clusters.set_index(["feed", "source_key"])
    assert linked.loc[("prison", "K1"), "linked_by"] == "officer"


def test_two_different_pnc_ids_split_a_cluster_at_its_weakest_link(trained):
    frames = [
        people("police", [{"pnc_id": pnc(11)}]),
        people("probation", [{"pnc_id": None, "crn": "X000001"}]),
        people("prison", [{"pnc_id": pnc(22), "forenames": "NEIL", "postcode": None, "noms_number": None}]),
    ]
    result = match(frames, SETTINGS, model=trained)
    ids = by_key(result)
    assert len(set(ids.values())) == 2
    assert ids["police:K1"] == ids["probation:K1"] != ids["prison:K1"]  # the weakest link was the prison one
    assert set(result.clusters["status"]) == {"needs_attention"}
    assert result.clusters["status_reason"].str.contains("two different pnc id values").all()
    # an officer's link decision allows it
    decision = pd.DataFrame(
        [{"kind": "link", "feed_a": "police", "source_key_a": "K1", "feed_b": "prison", "source_key_b": "K1"}]
    )
    allowed = match(frames, SETTINGS, model=trained, decisions=decision)
    assert len(set(by_key(allowed).values())) == 1


def test_cluster_cuts_the_weakest_link_of_a_chain():
    # 0-1 strong, 1-2 weak, 2-3 strong; 0 and 3 hold different unique values
    values = {"pnc_id": np.array(["A", None, None, "B"], dtype=object)}
    result = cluster(
        4,
        np.array([0, 1, 2]),
        np.array([1, 2, 3]),
        np.array([30.0, 5.0, 28.0]),
        np.array(["model"] * 3, dtype=object),
        values,
        (np.zeros(0, int), np.zeros(0, int)),
    )
    assert result.label[0] == result.label[1] != result.label[2] == result.label[3]
    assert result.cut_links == 1 and set(result.status) == {"needs_attention"}


def test_do_not_link_splits_a_chain_that_would_join_the_pair():
    result = cluster(
        3,
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([20.0, 10.0]),
        np.array(["model"] * 2, dtype=object),
        {},
        (np.array([0]), np.array([2])),
    )
    assert result.label[0] == result.label[1] != result.label[2]
    assert "do-not-link" in result.reason[2]


def test_possible_twins_are_reviewed_never_linked(trained):
    frames = [people("police", [{"forenames": "MICHAEL"}]), people("probation", [{"forenames": "DAVID"}])]
    result = match(frames, SETTINGS, model=trained)
    assert len(set(by_key(result).values())) == 2
    assert result.review_pairs["reason"].tolist() == ["possible_twins"]
    assert "never linked automatically" in review_findings(result.review_pairs)["detail"].iloc[0]


def test_a_shared_identifier_with_everything_else_different_is_reviewed_not_linked(trained):
    frames = [
        people("police", [{"pnc_id": pnc(7)}]),
        people(
            "probation",
            [
                {
                    "pnc_id": pnc(7),
                    "forenames": "ZACHARY",
                    "surname": "QUINN",
                    "date_of_birth": pd.Timestamp("1950-01-01"),
                    "postcode": "M1 1AE",
                    "sex": "F",
                }
            ],
        ),
    ]
    result = match(frames, SETTINGS, model=trained)
    assert len(set(by_key(result).values())) == 2
    assert result.review_pairs["reason"].tolist() == ["identifier_contradicted"]


def test_a_shared_pnc_id_links_despite_a_different_name(trained):
    frames = [
        people("police", [{"pnc_id": pnc(7)}]),
        people("prison", [{"pnc_id": pnc(7), "forenames": "NEIL", "surname": "WALKER"}]),
    ]
    result = match(frames, SETTINGS, model=trained)
    assert len(set(by_key(result).values())) == 1
    linked = result.clusters.drop_duplicates(["linked_by", "linked_on"])
    assert ("identifier", "pnc_id") in set(zip(linked["linked_by"], linked["linked_on"]))
    assert result.pairs[["linked_by", "linked_on"]].iloc[0].tolist() == ["identifier", "pnc_id"]


def test_review_band_explains_each_comparison_in_words(trained):
    frames = [
        people("police", [{"postcode": None}]),
        people("probation", [{"date_of_birth": pd.Timestamp("1995-09-12"), "postcode": None, "sex": "U"}]),
    ]
    linked = match(frames, SETTINGS, model=trained)
    probability = linked.pairs["match_probability"].iloc[0]
    assert 0.5 < probability < 0.999999
    reviewed = match(frames, SETTINGS, model=trained, link_threshold=0.999999)  # now the pair is in the band
    assert len(set(by_key(reviewed).values())) == 2
    detail = review_findings(reviewed.review_pairs)["detail"].iloc[0]
    assert reviewed.review_pairs["reason"].tolist() == ["match_review"]
    assert detail.startswith(f"may be the same person as probation record K* (probability {probability:.4f}): ")
    assert "surname: exact (+" in detail and "date of birth: one of day, month, year differs (" in detail
    assert "postcode: one or both missing (+0.0)" in detail
    assert "FOSTER" not in detail and "NEIL" not in detail


def conforms(result) -> list[str]:
    """Every frame of a match result against its declared schema (an empty list when all conform)."""
    return [
        *CLUSTERS.problems(result.clusters),
        *PAIRS.problems(result.pairs),
        *REVIEW_PAIRS.problems(result.review_pairs),
        *EVENTS.problems(result.events),
    ]


def test_a_nights_outputs_have_their_declared_schemas(two_nights, first_night):
    night1, night2, _ = two_nights
    previous = first_night.clusters[["feed", "source_key", "person_id"]]
    sizes = previous.groupby("person_id").size()
    pair = previous[previous["person_id"].isin(sizes[sizes >= 2].index[:1])].head(2)  # split by an officer
    (a, b) = pair[["feed", "source_key"]].to_numpy()
    decisions = pd.DataFrame(
        [{"kind": "do_not_link", "feed_a": a[0], "source_key_a": a[1], "feed_b": b[0], "source_key_b": b[1]}]
    )
    second = match(
        night2, SETTINGS, model=first_night.model, state=first_night.state, previous_links=previous, decisions=decisions
    )
    for result in (first_night, second):
        assert conforms(result) == []
        assert len(result.clusters) and len(result.pairs) and len(result.review_pairs)
        clusters, pairs = result.clusters, result.pairs
        assert (clusters["linked_on"].notna() == (clusters["linked_by"] == LinkedBy.IDENTIFIER)).all()
        assert (pairs["linked_on"].notna() == (pairs["linked_by"] == LinkedBy.IDENTIFIER)).all()
        assert set(pairs.loc[pairs["linked_on"].notna(), "linked_on"]) <= set(SETTINGS.strong_identifiers)
        assert {f"{c.name}_{part}" for c in SETTINGS.comparisons for part in ("level", "weight")} <= set(pairs.columns)
    assert set(second.events["kind"]) >= {"split"}
    assert "officer_do_not_link" in set(second.pairs["reason"])

    # the evidence of a review pair, as data: every comparison with its level and weight
    review = first_night.review_pairs.iloc[0]
    evidence = json.loads(review["evidence"])
    assert [e["comparison"] for e in evidence] == [c.name for c in SETTINGS.comparisons]
    for e, c in zip(evidence, SETTINGS.comparisons):
        assert e["level"] in levels.names(c) and e["label"] in levels.labels(c)
        assert e["weight"] == pytest.approx(
            float(first_night.pairs.set_index(PAIR)[f"{c.name}_weight"].loc[tuple(review[list(PAIR)])]), abs=1e-3
        )
    assert review["explanation"].startswith("forename: ")


def test_outputs_without_reviews_or_events_have_their_schemas_too(trained):
    result = match([people("police", [{}]), people("probation", [{"forenames": "NEIL"}])], SETTINGS, model=trained)
    assert result.review_pairs.empty and result.events.empty
    assert conforms(result) == []


def test_results_do_not_depend_on_row_order(two_nights):
    frames = two_nights[0]
    shuffled = [f.sample(frac=1.0, random_state=1) for f in reversed(frames)]
    first = match(frames, SETTINGS).clusters.sort_values(["feed", "source_key"]).reset_index(drop=True)
    again = match(shuffled, SETTINGS).clusters.sort_values(["feed", "source_key"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        first[["feed", "source_key", "person_id"]], again[["feed", "source_key", "person_id"]]
    )


# --- nights: stable ids, events, incremental --------------------------------------------------


def test_person_ids_are_stable_across_nights_and_incremental_equals_full(two_nights):
    night1, night2, truth = two_nights
    first = match(night1, SETTINGS)
    accuracy = _pairwise_f1(first.clusters, pd.read_csv(truth / NIGHT.isoformat() / "records.csv", dtype=str))
    assert accuracy > 0.98
    previous = first.clusters[["feed", "source_key", "person_id"]]
    incremental = match(night2, SETTINGS, model=first.model, state=first.state, previous_links=previous)
    full = match(night2, SETTINGS, model=first.model, state=first.state, previous_links=previous, full=True)
    assert incremental.stats["incremental"] and not full.stats["incremental"]
    assert incremental.stats["changed_records"] < 0.1 * incremental.stats["records"]
    columns = ["feed", "source_key", "person_id", "linked_by", "status"]
    pd.testing.assert_frame_equal(incremental.clusters[columns], full.clusters[columns])

    # records that were there both nights, in persons whose records did not change, keep their id
    both = previous.merge(
        incremental.clusters[["feed", "source_key", "person_id"]], on=["feed", "source_key"], suffixes=("_1", "_2")
    )
    kept = (both["person_id_1"] == both["person_id_2"]).mean()
    assert kept > 0.995


def test_a_merge_and_a_split_are_recorded_as_events(two_nights, trained):
    night1, night2, _ = two_nights
    first = match(night1, SETTINGS, model=trained)
    previous = first.clusters[["feed", "source_key", "person_id"]]
    sizes = previous.groupby("person_id").size()
    pair = previous[previous["person_id"].isin(sizes[sizes >= 2].index[:1])].head(2)  # split this person
    singles = previous[previous["person_id"].isin(sizes[sizes == 1].index[:2])]  # merge these two
    (a, b), (c, d) = pair[["feed", "source_key"]].to_numpy(), singles[["feed", "source_key"]].to_numpy()
    decisions = pd.DataFrame(
        [
            {"kind": "do_not_link", "feed_a": a[0], "source_key_a": a[1], "feed_b": b[0], "source_key_b": b[1]},
            {"kind": "link", "feed_a": c[0], "source_key_a": c[1], "feed_b": d[0], "source_key_b": d[1]},
        ]
    )
    second = match(night1, SETTINGS, model=trained, previous_links=previous, decisions=decisions)
    events = second.events
    merged = events[events["kind"] == "merged"]
    split = events[events["kind"] == "split"]
    assert len(merged) == 1 and sorted(merged["old_person_ids"].iloc[0]) == sorted(singles["person_id"])
    assert len(split) == 1 and split["old_person_ids"].iloc[0] == [pair["person_id"].iloc[0]]
    assert int(split["new_person_id"].iloc[0][1:]) > int(
        previous["person_id"].str[1:].astype(int).max()
    )  # a new id, never reused


def _pairwise_f1(clusters, truth):
    from nominal.matching.evaluate import evaluate

    return evaluate(clusters, truth)["pairwise"]["f1"]


# --- the store, and the commands -----------------------------------------------------------------


def test_matching_reads_previous_ids_and_decisions_from_the_store(store_engine, tmp_path, trained):
    """Previous person ids and officers' decisions come from the store (SQLite and PostgreSQL alike)."""
    from nominal.flows.match import match_records
    from nominal.store.db import session_scope
    from nominal.store.models import Decision, Person, PersonLink

    frames = [
        people("police", [{}]),
        people("probation", [{}]),
        people("prison", [{"forenames": "ZACHARY", "surname": "QUINN", "noms_number": None}]),
    ]
    officer = make_staff(store_engine)["officer1"]
    with session_scope(store_engine) as session:
        session.add_all(
            [Person(person_id=p, first_seen_run_id=1, last_seen_run_id=1) for p in ("P000000041", "P000000077")]
        )
        session.flush()
        session.add_all(
            [
                PersonLink(feed="police", source_key="K1", person_id="P000000041", linked_by="single", run_id=1),
                PersonLink(feed="prison", source_key="K1", person_id="P000000077", linked_by="single", run_id=1),
            ]
        )
        session.add(
            Decision(
                kind="do_not_link",
                feed_a="police",
                source_key_a="K1",
                feed_b="probation",
                source_key_b="K1",
                reason="twins, confirmed by the custody photograph",
                decided_by_id=officer.user_id,
            )
        )
    config = load_config(SHIPPED_CONFIG)
    trained.save(tmp_path / "model.json")  # reused, as a night would reuse last night's
    (tmp_path / "state.json").unlink(missing_ok=True)
    result = match_records(config, frames, engine=store_engine, state_dir=tmp_path)
    ids = by_key(result)
    assert ids["police:K1"] == "P000000041" and ids["prison:K1"] == "P000000077"
    assert ids["probation:K1"] not in ("P000000041", "P000000077")
    assert int(ids["probation:K1"][1:]) == 78  # the next id after the highest ever issued


def test_match_and_evaluate_commands(tmp_path):
    from typer.testing import CliRunner

    from nominal.cli import app

    generate(people=400, seed=9, out=tmp_path / "feeds", nights=2, start_date=NIGHT)
    config = tmp_path / "nominal.yaml"
    config.write_text(SHIPPED_CONFIG.read_text())
    runner = CliRunner()
    common = ["--config", str(config), "--landing", str(tmp_path / "feeds" / "landing")]
    first = runner.invoke(app, ["match", "--as-of", NIGHT.isoformat(), "--out", str(tmp_path / "m1"), *common])
    assert first.exit_code == 0, first.output
    for name in ("clusters.csv", "pairs.parquet", "model.json", "review.parquet", "events.csv", "match.json"):
        assert (tmp_path / "m1" / name).is_file()
    clusters = pd.read_csv(tmp_path / "m1" / "clusters.csv", dtype=str)
    assert list(clusters.columns[:3]) == ["feed", "source_key", "person_id"]
    pairs = pd.read_parquet(tmp_path / "m1" / "pairs.parquet")
    assert {
        "feed_a",
        "source_key_a",
        "feed_b",
        "source_key_b",
        "match_probability",
        "surname_level",
        "surname_weight",
    } <= set(pairs.columns)

    second = runner.invoke(
        app, ["match", "--as-of", (NIGHT + dt.timedelta(days=1)).isoformat(), "--out", str(tmp_path / "m2"), *common]
    )
    assert second.exit_code == 0 and "incremental" in " ".join(second.output.split())
    truth = tmp_path / "feeds" / "truth" / (NIGHT + dt.timedelta(days=1)).isoformat() / "records.csv"
    scored = runner.invoke(
        app, ["evaluate", "--truth", str(truth), "--out", str(tmp_path / "m2"), "--thresholds", "0.5,0.95"]
    )
    assert scored.exit_code == 0, scored.output
    evaluation = __import__("json").loads((tmp_path / "m2" / "evaluation.json").read_text())
    assert evaluation["pairwise"]["f1"] > 0.97 and [t["threshold"] for t in evaluation["thresholds"]] == [0.5, 0.95]
    assert "pairwise  precision" in scored.output


def test_an_identifier_keyed_from_another_person_does_not_split_its_record_off(trained):
    """The prison record carries Quinn's PNC ID by mistake: it stays with Foster, flagged, not split off."""
    quinn = {
        "forenames": "ZACHARY",
        "surname": "QUINN",
        "date_of_birth": pd.Timestamp("1950-01-01"),
        "postcode": "M1 1AE",
        "pnc_id": pnc(99),
        "noms_number": None,
    }
    frames = [
        people("police", [{"pnc_id": pnc(11)}, quinn]),
        people("prison", [{"pnc_id": pnc(99), "forenames": "NEIL", "noms_number": None}]),
    ]
    result = match(frames, SETTINGS, model=trained)
    ids = by_key(result)
    assert ids["police:K1"] == ids["prison:K1"] != ids["police:K2"]
    flagged = result.clusters.set_index(["feed", "source_key"])
    assert flagged.loc[("prison", "K1"), "status"] == "needs_attention"
    assert "also on a record of a clearly different person" in flagged.loc[("prison", "K1"), "status_reason"]
    assert result.review_pairs["reason"].tolist() == ["identifier_contradicted"]


def test_settings_can_compare_any_carried_through_field(tmp_path):
    """A user's settings add exact and fuzzy comparisons (with term frequencies) on extra fields."""
    import textwrap

    from nominal.matching.settings import load_settings as load

    path = tmp_path / "settings.yaml"
    path.write_text(
        textwrap.dedent("""
        link_type: link_only
        blocking:
          - {name: dob, keys: [dob]}
          - {name: force, keys: [force_code]}
        comparisons:
          - {name: surname, kind: surname, column: surname}
          - {name: force, kind: exact, column: force_code, term_frequency: true}
          - {name: address, kind: fuzzy, column: address, thresholds: [0.9, 0.7]}
          - {name: area, kind: fuzzy, column: force_code, metric: levenshtein, thresholds: [1]}
    """)
    )
    settings = load(path)
    frames = [
        canonical_frame("police", [{"force_code": "33", "address": "90 Queens Road, Bradford"}]),
        canonical_frame("probation", [{"address": "90 Queens Rd, Bradford"}], extras=False).assign(force_code="34"),
    ]
    from nominal.matching.pipeline import extra_columns

    assert extra_columns(settings) == ("surname", "force_code", "address")
    records = prepare(frames, extra_columns=extra_columns(settings))
    gamma = compare(records, settings, np.array([0]), np.array([1]))
    labels = {c.name: levels.labels(c)[gamma.levels[c.name][0]] for c in settings.comparisons}
    assert labels == {"surname": "exact", "force": "else", "address": "jaro-winkler ≥ 0.9", "area": "edit distance ≤ 1"}
    from nominal.matching.blocking import candidate_pairs

    assert len(candidate_pairs(records, settings)) == 1  # dob rule; the force rule finds no pair across feeds
