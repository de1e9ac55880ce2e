"""Links say which identifier linked a record in a column of its own: ``linked_by`` is ``identifier``
and ``linked_on`` the identifier field (``pnc_id``, ``cro_number`` …), where ``linked_by`` used to
hold ``identifier:<field>``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "identifier:"
links = sa.table("person_links", sa.column("linked_by", sa.String()), sa.column("linked_on", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("person_links") as batch:
        batch.add_column(sa.Column("linked_on", sa.String(64), nullable=True))
    old = links.c.linked_by.like(PREFIX + "%")
    op.execute(
        links.update()
        .where(old)
        .values(linked_on=sa.func.substr(links.c.linked_by, len(PREFIX) + 1), linked_by="identifier")
    )


def downgrade() -> None:
    op.execute(
        links.update()
        .where(links.c.linked_by == "identifier")
        .values(linked_by=PREFIX + sa.func.coalesce(links.c.linked_on, ""))
    )
    with op.batch_alter_table("person_links") as batch:
        batch.drop_column("linked_on")
