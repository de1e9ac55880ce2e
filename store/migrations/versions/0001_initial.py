"""Initial schema: runs, deliveries, persons, person_links, person_events, exceptions, decisions,
quality_metrics, audit_log.

Written by hand from store/models.py (constraint names follow its naming convention) and checked
against it by tests/test_store.py on SQLite and PostgreSQL. Kept free of imports from
store.models: a revision describes the schema as it was, whatever the models say later.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)  # models.UTCDateTime: aware UTC in Python


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("feeds", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_as_of_kind"), "runs", ["as_of", "kind"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("source", sa.String(512), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("archive_path", sa.String(1024), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_deliveries_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_run_id"), "deliveries", ["run_id"])
    op.create_index(op.f("ix_deliveries_feed_sha256"), "deliveries", ["feed", "sha256"])
    op.create_index(op.f("ix_deliveries_feed_as_of"), "deliveries", ["feed", "as_of"])

    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("forenames", sa.String(200), nullable=True),
        sa.Column("surname", sa.String(128), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(8), nullable=True),
        sa.Column("pnc_id", sa.String(16), nullable=True),
        sa.Column("cro_number", sa.String(16), nullable=True),
        sa.Column("noms_number", sa.String(16), nullable=True),
        sa.Column("crn", sa.String(16), nullable=True),
        sa.Column("ni_number", sa.String(16), nullable=True),
        sa.Column("postcode", sa.String(16), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("mappa_category", sa.SmallInteger(), nullable=True),
        sa.Column("mappa_level", sa.SmallInteger(), nullable=True),
        sa.Column("risk_level", sa.String(32), nullable=True),
        sa.Column("custody_status", sa.String(32), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("first_seen_run_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_run_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_persons")),
    )
    op.create_index(op.f("ix_persons_status"), "persons", ["status"])
    op.create_index(op.f("ix_persons_pnc_id"), "persons", ["pnc_id"])
    op.create_index(op.f("ix_persons_noms_number"), "persons", ["noms_number"])
    op.create_index(op.f("ix_persons_crn"), "persons", ["crn"])
    op.create_index(op.f("ix_persons_surname_date_of_birth"), "persons", ["surname", "date_of_birth"])

    op.create_table(
        "person_links",
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("source_key", sa.String(128), nullable=False),
        sa.Column("person_id", sa.String(16), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("linked_by", sa.String(32), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.person_id"], name=op.f("fk_person_links_person_id_persons")),
        sa.PrimaryKeyConstraint("feed", "source_key", name=op.f("pk_person_links")),
    )
    op.create_index(op.f("ix_person_links_person_id"), "person_links", ["person_id"])

    op.create_table(
        "person_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("old_person_ids", sa.JSON(), nullable=False),
        sa.Column("new_person_id", sa.String(16), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_events")),
    )
    op.create_index(op.f("ix_person_events_run_id"), "person_events", ["run_id"])
    op.create_index(op.f("ix_person_events_new_person_id"), "person_events", ["new_person_id"])

    op.create_table(
        "exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("feed", sa.String(64), nullable=True),
        sa.Column("source_key", sa.String(128), nullable=True),
        sa.Column("person_id", sa.String(16), nullable=True),
        sa.Column("field", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("data_hash", sa.String(64), nullable=True),
        sa.Column("first_seen_run_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_run_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exceptions")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_exceptions_fingerprint")),
    )
    op.create_index(op.f("ix_exceptions_status_severity"), "exceptions", ["status", "severity"])
    op.create_index(op.f("ix_exceptions_person_id"), "exceptions", ["person_id"])
    op.create_index(op.f("ix_exceptions_feed_source_key"), "exceptions", ["feed", "source_key"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("feed_a", sa.String(64), nullable=False),
        sa.Column("source_key_a", sa.String(128), nullable=False),
        sa.Column("feed_b", sa.String(64), nullable=True),
        sa.Column("source_key_b", sa.String(128), nullable=True),
        sa.Column("exception_fingerprint", sa.String(64), nullable=True),
        sa.Column("field", sa.String(64), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", TIMESTAMP, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_feed_a_source_key_a"), "decisions", ["feed_a", "source_key_a"])
    op.create_index(op.f("ix_decisions_feed_b_source_key_b"), "decisions", ["feed_b", "source_key_b"])
    op.create_index(op.f("ix_decisions_exception_fingerprint"), "decisions", ["exception_fingerprint"])

    op.create_table(
        "quality_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=True),
        sa.Column("completeness_rate", sa.Float(), nullable=True),
        sa.Column("validity_rate", sa.Float(), nullable=True),
        sa.Column("rows_checked", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_quality_metrics_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_metrics")),
    )
    op.create_index(op.f("ix_quality_metrics_run_id"), "quality_metrics", ["run_id"])
    op.create_index(op.f("ix_quality_metrics_feed_field"), "quality_metrics", ["feed", "field"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"])
    op.create_index(op.f("ix_audit_log_object_type_object_id"), "audit_log", ["object_type", "object_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes; children before the tables they reference.
    for table in (
        "audit_log",
        "quality_metrics",
        "decisions",
        "exceptions",
        "person_events",
        "person_links",
        "persons",
        "deliveries",
        "runs",
    ):
        op.drop_table(table)
