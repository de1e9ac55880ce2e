"""The triage service's store: a night never overwrites an officer's work, the night's history and
counts, review pairs and source records kept for the app, and free-text actors made into users."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select

from nominal.store import queries, views
from nominal.store.db import downgrade, engine_for, upgrade
from nominal.store.models import (
    AuditLog,
    Decision,
    ExceptionEvent,
    ExceptionRecord,
    NightExceptionCount,
    NightFeedCombination,
    NightMatchCount,
    ReviewPair,
    SourceRecord,
    User,
)
from nominal.triage import exceptions
from nominal.triage.rules import RuleWords
from nominal.vocab import ExceptionStatus
from tests.nights import NIGHT, generated_night, publish
from tests.people import make_staff

NEXT = NIGHT + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return generated_night(tmp_path_factory.mktemp("triage_store_feeds"))


def test_a_night_keeps_review_pairs_source_records_and_its_counts(store_engine, night):
    published = publish(store_engine, night)
    with store_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(SourceRecord)) == len(night.records)
        pairs = c.scalar(select(func.count()).select_from(ReviewPair))
        assert pairs == len(night.matched.review_pairs) > 0
        # each review pair names the exception that asks about it
        asked = (
            select(func.count())
            .select_from(ReviewPair)
            .join(ExceptionRecord, ExceptionRecord.fingerprint == ReviewPair.exception_fingerprint)
        )
        assert c.scalar(asked) == pairs
        match = c.execute(select(NightMatchCount)).one()
        assert match.records == len(night.records) and match.review_pairs == pairs
        assert match.links_identifier + match.links_model + match.links_officer + match.singles == match.records
        combinations = dict(c.execute(select(NightFeedCombination.feeds, NightFeedCombination.persons)).all())
        assert sum(combinations.values()) == match.persons and "police+prison+probation" in combinations
        counted = c.scalar(select(func.sum(NightExceptionCount.count)))
        live = c.scalar(select(func.count()).select_from(ExceptionRecord).where(ExceptionRecord.status == "open"))
        assert counted == live and c.scalar(select(func.sum(NightExceptionCount.opened))) == live
        opened = select(func.count()).select_from(ExceptionEvent).where(ExceptionEvent.action == "opened")
        assert c.scalar(opened) == live
    assert published.counts["exceptions"]["new"] == live
    # unchanged the next night: nothing new is written, the review band is the same
    again = publish(store_engine, night, NEXT)
    assert len(again.publication.source_records) == 0 and again.counts["exceptions"]["new"] == 0
    with store_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(ReviewPair)) == pairs
        assert c.scalar(select(func.count()).select_from(NightMatchCount)) == 2


def test_an_officers_change_made_while_a_night_runs_survives_its_publication(store_engine, night):
    staff = make_staff(store_engine)
    officer = staff["officer1"]
    publish(store_engine, night)
    read_at_start = queries.published_state(store_engine)  # what the next night reads when it begins
    validation = views.queue(store_engine, views.QueueFilter(kind="validation"), limit=3).rows
    started, resolved, untouched = validation
    words = RuleWords(None)
    exceptions.act(store_engine, officer, started.id, started.version, "start")
    exceptions.act(store_engine, officer, resolved.id, resolved.version, "resolve", "fixed at source today")
    # tonight the source no longer has any validation error: the night resolves them all by source …
    fixed = type(night)(night.records, night.validation.iloc[0:0], night.metrics, night.matched, night.scope)
    publish(store_engine, fixed, NEXT, state=read_at_start)
    # … but not the one an officer started meanwhile, and the one they resolved keeps their words
    after = {e.id: e for e in (views.exception(store_engine, x.id) for x in validation) if e is not None}
    assert after[started.id].status == ExceptionStatus.IN_PROGRESS and after[started.id].assignee_id == officer.user_id
    assert after[resolved.id].resolution == "fixed at source today"
    assert (
        after[untouched.id].status == ExceptionStatus.RESOLVED
        and "resolved by source" in after[untouched.id].resolution
    )
    history = [e.action for e in views.history(store_engine, started.id)]
    assert history == ["opened", "started"]  # the night's resolution did not apply: it had read an older version
    assert [e.action for e in views.history(store_engine, untouched.id)] == ["opened", "resolved_by_source"]
    detail = exceptions.show(store_engine, officer, untouched.id, words)
    assert detail.history[-1].user is None and detail.history[-1].run_id is not None  # a night did it


def test_actors_recorded_as_free_text_become_users(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    upgrade(url, "0005")
    engine = engine_for(url)
    with engine.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO decisions (kind, feed_a, source_key_a, reason, decided_by, decided_at, active) "
            "VALUES ('dismiss', 'police', 'K1', 'known alias', 'J.Smith ', '2026-11-20 10:00:00', 1)"
        )
        c.exec_driver_sql(
            "INSERT INTO audit_log (at, actor, action, object_type, object_id, detail) "
            "VALUES ('2026-11-20 10:00:00', 'j.smith', 'decide', 'decision', '1', '{}')"
        )
    upgrade(url)
    with engine.connect() as c:
        [user] = c.execute(select(User)).all()
        assert user.name == "j.smith" and not user.active and user.password_hash is None
        assert c.scalar(select(Decision.decided_by_id)) == user.id
        assert c.scalar(select(AuditLog.user_id)) == user.id
    downgrade(url, "0005")
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT decided_by FROM decisions").scalar() == "j.smith"


def test_the_audit_log_refuses_changes_on_both_stores(store_engine):
    with store_engine.begin() as c:
        c.execute(insert(AuditLog).values(at=dt.datetime.now(dt.UTC), action="search", object_type="search", detail={}))
    for statement in ("UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), store_engine.begin() as c:
            c.exec_driver_sql(statement)
    with store_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(AuditLog)) == 1
