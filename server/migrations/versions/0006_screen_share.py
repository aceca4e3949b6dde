"""Screen sharing in group rooms: whether a group lets its participants share their screen (facilitators always
may). Off by default: a participant's screen can show far more than they mean to.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(
            sa.Column("screen_share_allowed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("screen_share_allowed")
