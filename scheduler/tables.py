"""The scheduler's tables: the school directory, plans and dated lessons.

Imports no other Sanke package, so the constraint naming convention is stated here.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ref(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


regions = Table(
    "regions",
    metadata,
    Column("code", String(9), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("parent", String(9), ForeignKey("regions.code")),
)

schools = Table(
    "schools",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("region", String(9), ForeignKey("regions.code"), nullable=False, index=True),
    Column("bell_schedule_id", String(64), nullable=False),
)

bell_periods = Table(
    "bell_periods",
    metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("period", Integer, primary_key=True),
    Column("start", Time, nullable=False),
    Column("end", Time, nullable=False),
)

classrooms = Table(
    "classrooms",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("school_id", String(64), _ref("schools.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("uplink_kbps", Integer, nullable=False),
    Column("downlink_kbps", Integer, nullable=False),
)

teachers = Table(
    "teachers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("school_id", String(64), _ref("schools.id"), nullable=False, index=True),
    Column("subjects", String(255), nullable=False),  # ';'-separated, as in teachers.csv
    Column("grades", String(64), nullable=False),
    Column("weekly_cap", Integer, nullable=False),
    Column("master", Boolean, nullable=False, default=False),
)

receiving_classes = Table(
    "receiving_classes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("school_id", String(64), _ref("schools.id"), nullable=False, index=True),
    Column("classroom_id", String(64), _ref("classrooms.id"), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("pupils", Integer, nullable=False),
)

needs = Table(
    "needs",
    metadata,
    Column("class_id", String(64), _ref("receiving_classes.id"), primary_key=True),
    Column("subject", String(32), primary_key=True),
    Column("periods_per_week", Integer, nullable=False),
)

busy_slots = Table(
    "busy_slots",
    metadata,
    Column("owner_id", String(64), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("period", Integer, primary_key=True),
)

previous_pairings = Table(
    "previous_pairings",
    metadata,
    Column("class_id", String(64), _ref("receiving_classes.id"), primary_key=True),
    Column("subject", String(32), primary_key=True),
    Column("teacher_id", String(64), nullable=False),  # last term's; may have left since
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(16), nullable=False),  # holiday | workday
    Column("weekday", Integer),  # a make-up workday keeps this weekday's timetable
)

# Plans: a solve or a repair, with its weekly lessons and unmet needs. Plans refer to
# the directory by id only: a new import must not delete the plans made from the old one.
plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # solve | repair
    Column("parent_id", Integer, ForeignKey("plans.id")),
    Column("status", String(16), nullable=False),
    Column("demand", Integer, nullable=False),
    Column("scheduled", Integer, nullable=False),
    Column("objective", Float, nullable=False),
    Column("bound", Float, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("params", Text, nullable=False),  # JSON of Parameters
    Column("note", Text, nullable=False, default=""),  # e.g. a repair's absent teachers and dates
    Column("term_start", Date),  # set when published
    Column("term_end", Date),
)

plan_lessons = Table(
    "plan_lessons",
    metadata,
    Column("plan_id", Integer, _ref("plans.id"), primary_key=True),
    Column("lesson_id", String(16), primary_key=True),
    Column("day", Integer, nullable=False),
    Column("period", Integer, nullable=False),
    Column("teacher_id", String(64), nullable=False),
    Column("output_classroom_id", String(64), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("class_ids", Text, nullable=False),  # ';'-separated, as in timetable.csv
)

plan_unmet = Table(
    "plan_unmet",
    metadata,
    Column("plan_id", Integer, _ref("plans.id"), primary_key=True),
    Column("class_id", String(64), primary_key=True),
    Column("subject", String(32), primary_key=True),
    Column("periods", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
)

# Dated lessons: the published plan laid over the term's calendar, one row per
# lesson per date. Rooms are opened from these (DESIGN.md §2).
dated_lessons = Table(
    "dated_lessons",
    metadata,
    Column("id", String(64), primary_key=True),  # P{plan}-{lesson}-{yyyymmdd}
    Column("plan_id", Integer, ForeignKey("plans.id"), nullable=False),
    Column("lesson_id", String(16), nullable=False),
    Column("day", Date, nullable=False, index=True),
    Column("period", Integer, nullable=False),
    Column("start", Time, nullable=False),  # the output school's bell, Beijing time
    Column("end", Time, nullable=False),
    Column("teacher_id", String(64), nullable=False, index=True),
    Column("output_classroom_id", String(64), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("class_ids", Text, nullable=False),
    Column("state", String(16), nullable=False),  # scheduled | cancelled
    Column("reason", String(32), nullable=False, default=""),  # why cancelled
)
