"""Access that ends: a per-account session epoch that revokes every token issued before a password change;
room chat messages remember the session (meeting) they were sent in, so that who may read them follows
attendance.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), server_default=sa.text("0"), nullable=False))
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("session_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_chat_messages_session_id_sessions"), "sessions", ["session_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_chat_messages_session_id", "chat_messages", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_messages_session_id", table_name="chat_messages")
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_constraint(op.f("fk_chat_messages_session_id_sessions"), type_="foreignkey")
        batch.drop_column("session_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
