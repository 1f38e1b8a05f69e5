"""The scheduler's tables: the school directory.

Imports no other Sanke package, so the constraint naming convention is stated here.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, MetaData, String, Table, Time

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
