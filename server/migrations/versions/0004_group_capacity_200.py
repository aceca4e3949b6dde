"""Larger groups: a group's capacity may be up to 200 (it was 50). Rooms past the mesh limit (at most 50) are
forwarded, so a large room costs each member one peer connection, not one per member.

Downgrading lowers every capacity above 50 to 50 first, so that the old constraint holds again.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _capacity_between(low: int, high: int) -> None:
    # On SQLite the batch recreates the table, which is the only way to change a CHECK constraint there.
    with op.batch_alter_table("groups") as batch:
        batch.drop_constraint(op.f("ck_groups_capacity"), type_="check")
        batch.create_check_constraint(op.f("ck_groups_capacity"), sa.text(f"capacity BETWEEN {low} AND {high}"))


def upgrade() -> None:
    _capacity_between(2, 200)


def downgrade() -> None:
    op.execute("UPDATE groups SET capacity = 50 WHERE capacity > 50")
    _capacity_between(2, 50)
