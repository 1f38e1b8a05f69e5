"""The live-lessons package's tables: rooms, their event log, inspections."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, text

from kernel.metadata import UtcDateTime, new_metadata

metadata = new_metadata()
KEPT = text("type <> 'quality.sample'")

lesson_rooms = Table(
    "lesson_rooms",
    metadata,
    Column("lesson", String(64), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("opened_at", UtcDateTime),
    Column("live_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("archived_at", UtcDateTime),
    Column("end_reason", String(16), nullable=False, default=""),
    Column("controls", JSON, nullable=False),
)

# Everything that happened in a lesson, for attendance, quality and the reports.
lesson_events = Table(
    "lesson_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(32), nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False),
    Column("type", String(48), nullable=False),
    Column("lesson", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_lesson_events_lesson_at", "lesson", "at"),
    # everything but the samples, which are most of the log: what the reports read of a
    # lesson whose samples its quality summaries stand for (reports.sources)
    Index("ix_lesson_events_kept", "lesson", "id", postgresql_where=KEPT, sqlite_where=KEPT),
)

inspections = Table(
    "inspections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("lesson", String(64), nullable=False, index=True),
    Column("inspector_id", Integer, nullable=False),
    Column("inspector", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("moment_seconds", Integer, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("notes", Text, nullable=False),
)
