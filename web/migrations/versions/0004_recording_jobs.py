"""the recorder's post-processing job queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "recording_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.Column("run_after", utc, nullable=False),
        sa.Column("lease_until", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_jobs")),
        sa.UniqueConstraint("recording", "kind", name=op.f("uq_recording_jobs_recording_kind")),
    )
    op.create_index(
        "ix_recording_jobs_state_run_after",
        "recording_jobs",
        ["state", "run_after"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_recording_jobs_state_run_after", table_name="recording_jobs")
    op.drop_table("recording_jobs")
