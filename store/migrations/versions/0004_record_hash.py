"""Publish, incrementally: each link keeps a hash of its source record's content as published, so
that a night recomputes the golden record only for persons whose records changed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL on existing links: the next night finds every record "changed" and recomputes everyone once
    with op.batch_alter_table("person_links") as batch:
        batch.add_column(sa.Column("record_hash", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person_links") as batch:
        batch.drop_column("record_hash")
