"""review: research groups, sessions, comments, scores, clips, marks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "recording_marks",
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.Column("exemplary", sa.Boolean(), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("recording", name=op.f("pk_recording_marks")),
    )
    op.create_table(
        "research_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=9), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_groups")),
    )
    op.create_table(
        "review_clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_clips")),
    )
    with op.batch_alter_table("review_clips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_clips_recording"), ["recording"], unique=False)

    op.create_table(
        "review_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("until", sa.Float(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(length=8), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("rubric_item", sa.String(length=64), nullable=True),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_comments")),
    )
    with op.batch_alter_table("review_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_comments_recording"), ["recording"], unique=False
        )

    op.create_table(
        "review_scores",
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("recording", "reviewer_id", "item", name=op.f("pk_review_scores")),
    )
    op.create_table(
        "research_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("added_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["research_groups.id"],
            name=op.f("fk_research_group_members_group_id_research_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_research_group_members")),
    )
    op.create_table(
        "research_group_recordings",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.Column("shared_by", sa.Integer(), nullable=False),
        sa.Column("shared_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["research_groups.id"],
            name=op.f("fk_research_group_recordings_group_id_research_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "recording", name=op.f("pk_research_group_recordings")),
    )
    with op.batch_alter_table("research_group_recordings", schema=None) as batch_op:
        batch_op.create_index("ix_research_group_recordings_recording", ["recording"], unique=False)

    op.create_table(
        "review_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["review_comments.id"],
            name=op.f("fk_review_replies_comment_id_review_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_replies")),
    )
    with op.batch_alter_table("review_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_replies_comment_id"), ["comment_id"], unique=False
        )

    op.create_table(
        "review_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("deadline", utc, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["research_groups.id"],
            name=op.f("fk_review_sessions_group_id_research_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_sessions")),
    )
    op.create_table(
        "review_session_recordings",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("recording", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["review_sessions.id"],
            name=op.f("fk_review_session_recordings_session_id_review_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "session_id", "recording", name=op.f("pk_review_session_recordings")
        ),
    )


def downgrade() -> None:
    op.drop_table("review_session_recordings")
    op.drop_table("review_sessions")
    with op.batch_alter_table("review_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_replies_comment_id"))

    op.drop_table("review_replies")
    with op.batch_alter_table("research_group_recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_research_group_recordings_recording")

    op.drop_table("research_group_recordings")
    op.drop_table("research_group_members")
    op.drop_table("review_scores")
    with op.batch_alter_table("review_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_comments_recording"))

    op.drop_table("review_comments")
    with op.batch_alter_table("review_clips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_clips_recording"))

    op.drop_table("review_clips")
    op.drop_table("research_groups")
    op.drop_table("recording_marks")
