"""a partial index over the lesson log's events other than quality samples

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT = sa.text("type <> 'quality.sample'")


def upgrade() -> None:
    op.create_index(
        "ix_lesson_events_kept", "lesson_events", ["lesson", "id"],
        postgresql_where=KEPT, sqlite_where=KEPT,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_lesson_events_kept", table_name="lesson_events")
