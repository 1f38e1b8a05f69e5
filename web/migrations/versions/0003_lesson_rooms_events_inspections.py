"""lesson rooms, their event log, inspections; teacher accounts linked to teachers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "lesson_rooms",
        sa.Column("lesson", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("starts_at", utc, nullable=False),
        sa.Column("ends_at", utc, nullable=False),
        sa.Column("opened_at", utc, nullable=True),
        sa.Column("live_at", utc, nullable=True),
        sa.Column("ended_at", utc, nullable=True),
        sa.Column("archived_at", utc, nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=False),
        sa.Column("controls", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("lesson", name=op.f("pk_lesson_rooms")),
    )
    op.create_index(op.f("ix_lesson_rooms_state"), "lesson_rooms", ["state"], unique=False)
    op.create_table(
        "lesson_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("lesson", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_lesson_events_event_id")),
    )
    op.create_index("ix_lesson_events_lesson_at", "lesson_events", ["lesson", "at"], unique=False)
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lesson", sa.String(length=64), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("inspector", sa.String(length=64), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("moment_seconds", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    op.create_index(op.f("ix_inspections_lesson"), "inspections", ["lesson"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("teacher_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("teacher_id")
    op.drop_index(op.f("ix_inspections_lesson"), table_name="inspections")
    op.drop_table("inspections")
    op.drop_index("ix_lesson_events_lesson_at", table_name="lesson_events")
    op.drop_table("lesson_events")
    op.drop_index(op.f("ix_lesson_rooms_state"), table_name="lesson_rooms")
    op.drop_table("lesson_rooms")
