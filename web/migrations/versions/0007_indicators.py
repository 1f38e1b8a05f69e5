"""the indicators' lesson facts, per receiving classroom, and the refresh cursors

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "indicator_lessons",
        sa.Column("lesson", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("starts_at", utc, nullable=False),
        sa.Column("teacher_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("repair", sa.Boolean(), nullable=False),
        sa.Column("period_seconds", sa.Float(), nullable=False),
        sa.Column("teacher_seconds", sa.Float(), nullable=False),
        sa.Column("ended_early", sa.Boolean(), nullable=False),
        sa.Column("receivers", sa.Integer(), nullable=False),
        sa.Column("receivers_joined", sa.Integer(), nullable=False),
        sa.Column("receivers_on_time", sa.Integer(), nullable=False),
        sa.Column("inspections", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("inspection_scores", sa.JSON(), nullable=False),
        sa.Column("recorded", sa.Boolean(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Integer(), nullable=False),
        sa.Column("score_count", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("lesson", name=op.f("pk_indicator_lessons")),
    )
    op.create_index("ix_indicator_lessons_day_region", "indicator_lessons", ["day", "region"])
    op.create_index("ix_indicator_lessons_teacher_day", "indicator_lessons", ["teacher_id", "day"])
    op.create_table(
        "indicator_receivers",
        sa.Column("lesson", sa.String(length=64), nullable=False),
        sa.Column("classroom_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("teacher_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=9), nullable=False),
        sa.Column("class_ids", sa.String(length=512), nullable=False),
        sa.Column("joined", sa.Boolean(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("join_delay_seconds", sa.Float(), nullable=True),
        sa.Column("present_seconds", sa.Float(), nullable=False),
        sa.Column("expected_seconds", sa.Float(), nullable=False),
        sa.Column("video_minutes", sa.Integer(), nullable=False),
        sa.Column("frozen_minutes", sa.Integer(), nullable=False),
        sa.Column("freezes", sa.Integer(), nullable=False),
        sa.Column("freeze_seconds", sa.Float(), nullable=False),
        sa.Column("median_loss", sa.Float(), nullable=True),
        sa.Column("median_rtt_ms", sa.Float(), nullable=True),
        sa.Column("poor", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("lesson", "classroom_id", name=op.f("pk_indicator_receivers")),
    )
    op.create_index("ix_indicator_receivers_day_region", "indicator_receivers", ["day", "region"])
    op.create_table(
        "indicator_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("at", utc, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_indicator_cursors")),
    )


def downgrade() -> None:
    op.drop_table("indicator_cursors")
    op.drop_index("ix_indicator_receivers_day_region", table_name="indicator_receivers")
    op.drop_table("indicator_receivers")
    op.drop_index("ix_indicator_lessons_teacher_day", table_name="indicator_lessons")
    op.drop_index("ix_indicator_lessons_day_region", table_name="indicator_lessons")
    op.drop_table("indicator_lessons")
