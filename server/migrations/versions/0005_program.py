"""What an IOP program runs on: schedules (weekly series in the group's time zone, cancelled dates, one-off
sessions), sessions that keep their scheduled times and a sign-off, the lobby wait and camera marks behind the
attendance record, corrections after sign-off, versioned group agreements, check-ins and support requests.

A signed-off session's row and its attendance are guarded in the database itself: no update passes.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SIGNED_OFF = "the attendance of a signed-off session is final"
CORRECTIONS = "attendance corrections are never edited: add another"
# The tables guarded on PostgreSQL, and on which changes.
GUARDED = {
    "sessions": ("UPDATE",),
    "attendance": ("INSERT", "UPDATE"),
    "media_marks": ("INSERT", "UPDATE"),
    "attendance_corrections": ("UPDATE",),
}


def _user(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), server_default=sa.text("'UTC'"), nullable=False))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("scheduled_start", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scheduled_end", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("signed_off_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("sign_off_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("signed_roster", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_sessions_signed_off_by_users"), "users", ["signed_off_by"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("attendance") as batch:
        batch.add_column(sa.Column("waited_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("pairings") as batch:
        batch.add_column(sa.Column("checkins_shared", sa.Boolean(), server_default=sa.text("false"), nullable=False))

    op.create_table(
        "schedules",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("weekdays", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        _user("created_by"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 720", name=op.f("ck_schedules_duration")),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_schedules_dates")),
    )
    op.create_index("ix_schedules_group_id", "schedules", ["group_id"])
    op.create_table(
        "schedule_cancellations",
        sa.Column("schedule_id", sa.Uuid(), sa.ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("on_date", sa.Date(), primary_key=True),
        _user("cancelled_by"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "extra_sessions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        _user("created_by"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_extra_sessions_times")),
    )
    op.create_index("ix_extra_sessions_group_id", "extra_sessions", ["group_id"])
    op.create_table(
        "media_marks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Uuid(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("video", sa.Boolean(), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_media_marks_session_id", "media_marks", ["session_id"])
    op.create_table(
        "attendance_corrections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Uuid(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("minutes_present", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _user("corrected_by"),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IS NULL OR status IN ('present', 'absent')", name=op.f("ck_attendance_corrections_status")
        ),
        sa.CheckConstraint(
            "minutes_present IS NULL OR minutes_present >= 0", name=op.f("ck_attendance_corrections_minutes")
        ),
    )
    op.create_index("ix_attendance_corrections_session_id", "attendance_corrections", ["session_id"])
    op.create_table(
        "group_agreements",
        sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        _user("created_by"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_group_agreements_version")),
    )
    op.create_table(
        "checkins",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_id", sa.Uuid(), sa.ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_checkins_rating")),
    )
    op.create_index("ix_checkins_group_id", "checkins", ["group_id"])
    op.create_index("ix_checkins_user_id", "checkins", ["user_id"])
    op.create_index("ix_checkins_at", "checkins", ["at"])
    op.create_table(
        "support_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_id", sa.Uuid(), sa.ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _user("acknowledged_by"),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_support_requests_group_id", "support_requests", ["group_id"])
    op.create_index("ix_support_requests_at", "support_requests", ["at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_target_id", "audit_log", ["target_id"])
    _guard_signed_off_sessions()


def _guard_signed_off_sessions() -> None:
    """Refuse, in the database itself, any change to a signed-off session or to its attendance (no update of its
    row, no new or changed stay or mark), and any edit of a correction: corrections are rows of their own."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION haven_signed_off_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608 - constant
            "IF TG_TABLE_NAME = 'sessions' THEN "
            "  IF OLD.signed_off_at IS NOT NULL THEN RAISE EXCEPTION '" + SIGNED_OFF + "'; END IF; "
            "ELSIF TG_TABLE_NAME = 'attendance_corrections' THEN "
            "  RAISE EXCEPTION '" + CORRECTIONS + "'; "
            "ELSIF EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id AND signed_off_at IS NOT NULL) "
            "   OR (TG_OP = 'UPDATE' AND EXISTS "
            "       (SELECT 1 FROM sessions WHERE id = OLD.session_id AND signed_off_at IS NOT NULL)) THEN "
            "  RAISE EXCEPTION '" + SIGNED_OFF + "'; "
            "END IF; RETURN NEW; END $$"
        )
        for table, events in GUARDED.items():
            op.execute(
                f"CREATE TRIGGER {table}_signed_off_final BEFORE {' OR '.join(events)} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION haven_signed_off_guard()"
            )
        return
    op.execute(
        "CREATE TRIGGER sessions_signed_off_final BEFORE UPDATE ON sessions "
        f"WHEN OLD.signed_off_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{SIGNED_OFF}'); END"
    )
    op.execute(
        "CREATE TRIGGER attendance_corrections_signed_off_final BEFORE UPDATE ON attendance_corrections "
        f"BEGIN SELECT RAISE(ABORT, '{CORRECTIONS}'); END"
    )
    for table in ("attendance", "media_marks"):
        for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("UPDATE", "NEW")):
            name = f"{table}_signed_off_{event.lower()}_{row.lower()}"
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} "  # noqa: S608 - constant
                f"WHEN EXISTS (SELECT 1 FROM sessions WHERE id = {row}.session_id AND signed_off_at IS NOT NULL) "
                f"BEGIN SELECT RAISE(ABORT, '{SIGNED_OFF}'); END"
            )


def _drop_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER {table}_signed_off_final ON {table}")
        op.execute("DROP FUNCTION haven_signed_off_guard()")
        return
    op.execute("DROP TRIGGER sessions_signed_off_final")
    op.execute("DROP TRIGGER attendance_corrections_signed_off_final")
    for table in ("attendance", "media_marks"):
        for name in ("insert_new", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER {table}_signed_off_{name}")


def downgrade() -> None:
    _drop_guards()
    op.drop_index("ix_audit_log_target_id", table_name="audit_log")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    for table in (
        "support_requests",
        "checkins",
        "group_agreements",
        "attendance_corrections",
        "media_marks",
        "extra_sessions",
        "schedule_cancellations",
        "schedules",
    ):
        op.drop_table(table)
    with op.batch_alter_table("pairings") as batch:
        batch.drop_column("checkins_shared")
    with op.batch_alter_table("attendance") as batch:
        batch.drop_column("waited_since")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint(op.f("fk_sessions_signed_off_by_users"), type_="foreignkey")
        for column in (
            "signed_roster",
            "sign_off_note",
            "signed_off_by",
            "signed_off_at",
            "scheduled_end",
            "scheduled_start",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("timezone")
