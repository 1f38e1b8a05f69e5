"""The indicators' tables: one row per dated lesson and per receiving classroom of it.

They hold :class:`reports.facts.LessonFacts` flattened, rebuilt from the event log
at any time (``Indicators.recompute``), so they are a cache of the events, never a
source of truth. Regions are township codes; a county or city is a prefix of them.
``week`` is the Monday of the lesson's week, ``month`` ``YYYY-MM``, both in Beijing
time, so reports group by period without dialect-specific date functions.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Table,
)

from kernel.metadata import UtcDateTime, new_metadata

metadata = new_metadata()

indicator_lessons = Table(
    "indicator_lessons",
    metadata,
    Column("lesson", String(64), primary_key=True),
    Column("day", Date, nullable=False),
    Column("week", Date, nullable=False),
    Column("month", String(7), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("teacher_id", String(64), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("school_id", String(64), nullable=False),
    Column("region", String(9), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(24), nullable=False),
    Column("repair", Boolean, nullable=False),
    Column("period_seconds", Float, nullable=False),
    Column("teacher_seconds", Float, nullable=False),
    Column("ended_early", Boolean, nullable=False),
    Column("receivers", Integer, nullable=False),
    Column("receivers_joined", Integer, nullable=False),
    Column("receivers_on_time", Integer, nullable=False),
    Column("inspections", Integer, nullable=False),
    Column("problems", Integer, nullable=False),
    Column("inspection_scores", JSON, nullable=False),
    Column("recorded", Boolean, nullable=False),
    Column("comments", Integer, nullable=False),
    Column("score_sum", Integer, nullable=False),
    Column("score_count", Integer, nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_indicator_lessons_day_region", "day", "region"),
    Index("ix_indicator_lessons_teacher_day", "teacher_id", "day"),
)

indicator_receivers = Table(
    "indicator_receivers",
    metadata,
    Column("lesson", String(64), primary_key=True),
    Column("classroom_id", String(64), primary_key=True),
    Column("day", Date, nullable=False),
    Column("week", Date, nullable=False),
    Column("month", String(7), nullable=False),
    Column("teacher_id", String(64), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # the lesson's
    Column("school_id", String(64), nullable=False),  # the teaching point
    Column("region", String(9), nullable=False),
    Column("class_ids", String(512), nullable=False),  # ;-separated
    Column("joined", Boolean, nullable=False),
    Column("on_time", Boolean, nullable=False),
    Column("join_delay_seconds", Float),
    Column("present_seconds", Float, nullable=False),
    Column("expected_seconds", Float, nullable=False),
    Column("video_minutes", Integer, nullable=False),
    Column("frozen_minutes", Integer, nullable=False),
    Column("freezes", Integer, nullable=False),
    Column("freeze_seconds", Float, nullable=False),
    Column("median_loss", Float),
    Column("median_rtt_ms", Float),
    Column("poor", Boolean, nullable=False),
    Index("ix_indicator_receivers_day_region", "day", "region"),
)

# Where the incremental refresh has read up to: the event log's last id, the last
# review row seen, the last time lessons were closed by the clock.
indicator_cursors = Table(
    "indicator_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("at", UtcDateTime),
)
