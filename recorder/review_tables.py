"""The review side's tables: research groups and their review sessions, comments and
replies, rubric scores, clips, and the marks a recording carries (exemplary)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from kernel.metadata import UtcDateTime, new_metadata

metadata = new_metadata()

# 网络研修共同体: a group of teachers and researchers of a region who review together.
research_groups = Table(
    "research_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("region", String(9), nullable=False),  # the region whose staff it gathers
    Column("created_by", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

research_group_members = Table(
    "research_group_members",
    metadata,
    Column("group_id", ForeignKey("research_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("lead", Boolean, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)

research_group_recordings = Table(
    "research_group_recordings",
    metadata,
    Column("group_id", ForeignKey("research_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("recording", String(64), primary_key=True),
    Column("shared_by", Integer, nullable=False),
    Column("shared_at", UtcDateTime, nullable=False),
    Index("ix_research_group_recordings_recording", "recording"),
)

# A review session (评课活动): recordings a group reviews by a deadline.
review_sessions = Table(
    "review_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group_id", ForeignKey("research_groups.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(100), nullable=False),
    Column("deadline", UtcDateTime, nullable=False),
    Column("created_by", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

review_session_recordings = Table(
    "review_session_recordings",
    metadata,
    Column(
        "session_id", ForeignKey("review_sessions.id", ondelete="CASCADE"), primary_key=True
    ),  # fmt: skip
    Column("recording", String(64), primary_key=True),
)

review_comments = Table(
    "review_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recording", String(64), nullable=False, index=True),
    Column("author_id", Integer, nullable=False),
    Column("author", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Column("until", Float),
    Column("category", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("visibility", String(8), nullable=False),
    Column("group_id", Integer),
    Column("rubric_item", String(64)),
    Column("value", Integer),
    Column("created_at", UtcDateTime, nullable=False),
)

review_replies = Table(
    "review_replies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "comment_id",
        ForeignKey("review_comments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),  # fmt: skip
    Column("author_id", Integer, nullable=False),
    Column("author", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# A reviewer's latest value per rubric item of a lesson.
review_scores = Table(
    "review_scores",
    metadata,
    Column("recording", String(64), primary_key=True),
    Column("reviewer_id", Integer, primary_key=True),
    Column("item", String(64), primary_key=True),
    Column("reviewer", String(64), nullable=False),
    Column("value", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

review_clips = Table(
    "review_clips",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recording", String(64), nullable=False, index=True),
    Column("author_id", Integer, nullable=False),
    Column("author", String(64), nullable=False),
    Column("title", String(100), nullable=False),
    Column("start", Float, nullable=False),
    Column("end", Float, nullable=False),
    Column("group_id", Integer),
    Column("created_at", UtcDateTime, nullable=False),
)

recording_marks = Table(
    "recording_marks",
    metadata,
    Column("recording", String(64), primary_key=True),
    Column("exemplary", Boolean, nullable=False),
    Column("marked_by", String(64), nullable=False),
    Column("marked_at", UtcDateTime, nullable=False),
)
