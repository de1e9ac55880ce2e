"""Validation (issue 4): the source columns of each delivery (for schema drift) and feed-level
quality metrics (rows, error rate, gate result).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("columns", sa.JSON(), nullable=True))
    with op.batch_alter_table("quality_metrics") as batch:
        batch.add_column(sa.Column("rows", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("error_rate", sa.Float(), nullable=True))
        batch.add_column(sa.Column("gate_passed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quality_metrics") as batch:
        batch.drop_column("gate_passed")
        batch.drop_column("error_rate")
        batch.drop_column("rows")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("columns")
