"""The triage service: users and their sessions, the exception workflow (assignee, version, events,
comments), review pairs and source records, decisions withdrawn and tied to their exception, an
append-only audit log with who, why and from where, and the per-night count tables.

Every actor becomes a user id: the free-text names of earlier decisions, audit rows and assignees
become users of their own (inactive, without a password) that an admin may later activate.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("role", sa.String()),
    sa.column("active", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
# (table, its free-text actor column before, its user id column after)
ACTORS = (
    ("decisions", "decided_by", "decided_by_id"),
    ("audit_log", "actor", "user_id"),
    ("exceptions", "assignee", "assignee_id"),
)

# The audit log is append-only on both backends (DPA 2018 Part 3 s.62): an UPDATE or DELETE is refused.
PG_AUDIT_GUARD = (
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'audit_log is append-only: rows are never changed or deleted'; END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
)
PG_AUDIT_UNGUARD = (
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
)
SQLITE_AUDIT_GUARD = (
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows are never changed or deleted'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows are never changed or deleted'); END""",
)
SQLITE_AUDIT_UNGUARD = ("DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete")


def _guard(on: bool) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in (
        (PG_AUDIT_GUARD if on else PG_AUDIT_UNGUARD)
        if postgres
        else (SQLITE_AUDIT_GUARD if on else SQLITE_AUDIT_UNGUARD)
    ):
        op.execute(statement)


def _legacy_users() -> None:
    """A user (inactive, no password) for each free-text actor name recorded before users existed."""
    bind = op.get_bind()
    names: set[str] = set()
    for table, column, _ in ACTORS:
        rows = bind.execute(sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")).scalars()
        names |= {name.strip().lower() for name in rows if name and name.strip()}
    now = datetime.now(UTC)
    if names:
        op.bulk_insert(
            users,
            [
                {"name": n, "display_name": n, "role": "officer", "active": False, "created_at": now}
                for n in sorted(names)
            ],
        )
    for table, column, id_column in ACTORS:
        user_id = f"SELECT users.id FROM users WHERE users.name = lower(trim({table}.{column}))"
        op.execute(f"UPDATE {table} SET {id_column} = ({user_id}) WHERE {column} IS NOT NULL")


def _legacy_names() -> None:
    for table, column, id_column in ACTORS:
        op.execute(
            f"UPDATE {table} SET {column} = (SELECT users.name FROM users WHERE users.id = {table}.{id_column}) "
            f"WHERE {id_column} IS NOT NULL"
        )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_users_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "review_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("feed_a", sa.String(length=64), nullable=False),
        sa.Column("source_key_a", sa.String(length=128), nullable=False),
        sa.Column("feed_b", sa.String(length=64), nullable=False),
        sa.Column("source_key_b", sa.String(length=128), nullable=False),
        sa.Column("person_id_a", sa.String(length=16), nullable=True),
        sa.Column("person_id_b", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("exception_fingerprint", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_pairs")),
    )
    with op.batch_alter_table("review_pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_pairs_exception_fingerprint"), ["exception_fingerprint"], unique=False
        )
        batch_op.create_index("ix_review_pairs_feed_b_source_key_b", ["feed_b", "source_key_b"], unique=False)
        batch_op.create_index("ux_review_pairs_pair", ["feed_a", "source_key_a", "feed_b", "source_key_b"], unique=True)

    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    with op.batch_alter_table("sign_in_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_attempts_client_address_at", ["client_address", "at"], unique=False)
        batch_op.create_index("ix_sign_in_attempts_name_at", ["name", "at"], unique=False)

    op.create_table(
        "source_records",
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=128), nullable=False),
        sa.Column("person_id", sa.String(length=16), nullable=True),
        sa.Column("pnc_id", sa.String(length=16), nullable=True),
        sa.Column("cro_number", sa.String(length=16), nullable=True),
        sa.Column("noms_number", sa.String(length=16), nullable=True),
        sa.Column("crn", sa.String(length=16), nullable=True),
        sa.Column("ni_number", sa.String(length=16), nullable=True),
        sa.Column("forenames", sa.String(length=200), nullable=True),
        sa.Column("surname", sa.String(length=128), nullable=True),
        sa.Column("aliases", sa.Text(), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("mappa_category", sa.SmallInteger(), nullable=True),
        sa.Column("mappa_level", sa.SmallInteger(), nullable=True),
        sa.Column("risk_level", sa.String(length=32), nullable=True),
        sa.Column("record_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extract_date", sa.Date(), nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("surname_sound", sa.String(length=16), nullable=True),
        sa.Column("surname_anagram", sa.String(length=64), nullable=True),
        sa.Column("record_hash", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("feed", "source_key", name=op.f("pk_source_records")),
    )
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_records_crn"), ["crn"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_cro_number"), ["cro_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_date_of_birth"), ["date_of_birth"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_ni_number"), ["ni_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_noms_number"), ["noms_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_pnc_id"), ["pnc_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_surname_sound"), ["surname_sound"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_surname_anagram"), ["surname_anagram"], unique=False)

    op.create_table(
        "night_exception_counts",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_night_exception_counts_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "feed", "kind", "severity", "status", name=op.f("pk_night_exception_counts")),
    )
    op.create_table(
        "night_feed_combinations",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("feeds", sa.String(length=200), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_night_feed_combinations_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "feeds", name=op.f("pk_night_feed_combinations")),
    )
    op.create_table(
        "run_stages",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_stages_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "stage", name=op.f("pk_run_stages")),
    )
    op.create_table(
        "night_match_counts",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("links_identifier", sa.Integer(), nullable=False),
        sa.Column("links_model", sa.Integer(), nullable=False),
        sa.Column("links_officer", sa.Integer(), nullable=False),
        sa.Column("singles", sa.Integer(), nullable=False),
        sa.Column("review_pairs", sa.Integer(), nullable=False),
        sa.Column("needs_attention", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("split", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_night_match_counts_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_night_match_counts")),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.String(length=16), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["exception_id"], ["exceptions.id"], name=op.f("fk_comments_exception_id_exceptions")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_comments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_exception_id"), ["exception_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_comments_person_id"), ["person_id"], unique=False)

    op.create_table(
        "exception_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_exception_events_assignee_id_users")),
        sa.ForeignKeyConstraint(
            ["exception_id"], ["exceptions.id"], name=op.f("fk_exception_events_exception_id_exceptions")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exception_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exception_events")),
    )
    with op.batch_alter_table("exception_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exception_events_exception_id"), ["exception_id"], unique=False)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("person_id", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("client_address", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_audit_log_person_id_at", ["person_id", "at"], unique=False)
        batch_op.create_index("ix_audit_log_user_id_at", ["user_id", "at"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_audit_log_user_id_users"), "users", ["user_id"], ["id"])

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("exception_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("applied_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_decisions_withdrawn_by_id_users"), "users", ["withdrawn_by_id"], ["id"]
        )
        batch_op.create_foreign_key(batch_op.f("fk_decisions_decided_by_id_users"), "users", ["decided_by_id"], ["id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_decisions_exception_id_exceptions"), "exceptions", ["exception_id"], ["id"]
        )

    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index("ix_exceptions_assignee_id_status", ["assignee_id", "status"], unique=False)
        batch_op.create_index(
            "ix_exceptions_feed_status_first_seen_at", ["feed", "status", "first_seen_at"], unique=False
        )
        batch_op.create_index(
            "ix_exceptions_kind_status_first_seen_at", ["kind", "status", "first_seen_at"], unique=False
        )
        batch_op.create_index(
            "ix_exceptions_other_feed_other_source_key", ["other_feed", "other_source_key"], unique=False
        )
        batch_op.create_index("ix_exceptions_rule_status", ["rule", "status"], unique=False)
        batch_op.create_index("ix_exceptions_status_first_seen_at_id", ["status", "first_seen_at", "id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_exceptions_assignee_id_users"), "users", ["assignee_id"], ["id"])

    _legacy_users()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
        batch_op.drop_column("actor")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.alter_column("decided_by_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("decided_by")
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_column("assignee")
    _guard(on=True)


def downgrade() -> None:
    _guard(on=False)
    for table, column, _ in ACTORS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(length=128), nullable=True))
    _legacy_names()
    op.execute("UPDATE decisions SET decided_by = '' WHERE decided_by IS NULL")
    op.execute("UPDATE audit_log SET actor = 'system' WHERE actor IS NULL")
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_exceptions_assignee_id_users"), type_="foreignkey")
        batch_op.drop_index("ix_exceptions_status_first_seen_at_id")
        batch_op.drop_index("ix_exceptions_rule_status")
        batch_op.drop_index("ix_exceptions_other_feed_other_source_key")
        batch_op.drop_index("ix_exceptions_kind_status_first_seen_at")
        batch_op.drop_index("ix_exceptions_feed_status_first_seen_at")
        batch_op.drop_index("ix_exceptions_assignee_id_status")
        batch_op.drop_column("version")
        batch_op.drop_column("assignee_id")

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.alter_column("decided_by", existing_type=sa.String(length=128), nullable=False)
        batch_op.drop_constraint(batch_op.f("fk_decisions_exception_id_exceptions"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_decisions_decided_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_decisions_withdrawn_by_id_users"), type_="foreignkey")
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_by_id")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("applied_run_id")
        batch_op.drop_column("exception_id")
        batch_op.drop_column("decided_by_id")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("actor", existing_type=sa.String(length=128), nullable=False)
        batch_op.drop_constraint(batch_op.f("fk_audit_log_user_id_users"), type_="foreignkey")
        batch_op.drop_index("ix_audit_log_user_id_at")
        batch_op.drop_index("ix_audit_log_person_id_at")
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.drop_column("client_address")
        batch_op.drop_column("session_id")
        batch_op.drop_column("reason")
        batch_op.drop_column("person_id")
        batch_op.drop_column("user_id")

    with op.batch_alter_table("exception_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exception_events_exception_id"))

    op.drop_table("exception_events")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_person_id"))
        batch_op.drop_index(batch_op.f("ix_comments_exception_id"))

    op.drop_table("comments")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))

    op.drop_table("user_sessions")
    op.drop_table("night_match_counts")
    op.drop_table("run_stages")
    op.drop_table("night_feed_combinations")
    op.drop_table("night_exception_counts")
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_records_surname_sound"))
        batch_op.drop_index(batch_op.f("ix_source_records_surname_anagram"))
        batch_op.drop_index(batch_op.f("ix_source_records_pnc_id"))
        batch_op.drop_index(batch_op.f("ix_source_records_person_id"))
        batch_op.drop_index(batch_op.f("ix_source_records_noms_number"))
        batch_op.drop_index(batch_op.f("ix_source_records_ni_number"))
        batch_op.drop_index(batch_op.f("ix_source_records_date_of_birth"))
        batch_op.drop_index(batch_op.f("ix_source_records_cro_number"))
        batch_op.drop_index(batch_op.f("ix_source_records_crn"))

    op.drop_table("source_records")
    with op.batch_alter_table("sign_in_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_attempts_name_at")
        batch_op.drop_index("ix_sign_in_attempts_client_address_at")

    op.drop_table("sign_in_attempts")
    with op.batch_alter_table("review_pairs", schema=None) as batch_op:
        batch_op.drop_index("ux_review_pairs_pair")
        batch_op.drop_index("ix_review_pairs_feed_b_source_key_b")
        batch_op.drop_index(batch_op.f("ix_review_pairs_exception_fingerprint"))

    op.drop_table("review_pairs")
    op.drop_table("users")
