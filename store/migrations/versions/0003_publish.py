"""Publish (issue 6): the golden record's other statuses and a content hash on persons, where an
exception sits and what it pairs with, and the lock that keeps to one run at a time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# Kept free of imports from the models, so this revision stays as it was when later ones change them.

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERSON_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("supervision_status", sa.String(32)),
    ("registration_type", sa.String(32)),
    ("registration_start", sa.Date()),
    ("notification_due", sa.Date()),
    ("release_date", sa.Date()),
    ("content_hash", sa.String(64)),
)
_EXCEPTION_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("row", sa.Integer()),
    ("priority", sa.String(32)),
    ("other_feed", sa.String(64)),
    ("other_source_key", sa.String(128)),
)


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        for name, type_ in _PERSON_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("exceptions") as batch:
        for name, type_ in _EXCEPTION_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_table(
        "run_locks",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_run_locks")),
    )


def downgrade() -> None:
    op.drop_table("run_locks")
    with op.batch_alter_table("exceptions") as batch:
        for name, _ in reversed(_EXCEPTION_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("persons") as batch:
        for name, _ in reversed(_PERSON_COLUMNS):
            batch.drop_column(name)
