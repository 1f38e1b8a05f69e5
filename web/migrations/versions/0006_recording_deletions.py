"""the archive's log of deleted recordings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "recording_deletions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_deletions")),
    )
    op.create_index(
        op.f("ix_recording_deletions_recording"),
        "recording_deletions",
        ["recording"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_recording_deletions_recording"), table_name="recording_deletions")
    op.drop_table("recording_deletions")
