"""The school directory the scheduler plans from (DESIGN.md §6 inputs).

Plain frozen dataclasses, no I/O. Field names follow the import formats of the
scheduler issue (``schools.csv`` … ``busy.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class SchoolKind(StrEnum):
    CENTRAL = "central"  # 中心校
    TEACHING_POINT = "teaching_point"  # 教学点
    FAMOUS = "famous"  # 名校


class ClassroomRole(StrEnum):
    OUTPUT = "output"  # 输出端 / 主讲教室
    RECEIVING = "receiving"  # 接收端 / 听课教室


@dataclass(frozen=True)
class Region:
    """An administrative division, by its GB/T 2260 code (townships: 9 digits)."""

    code: str
    name: str
    level: RegionLevel
    parent: str | None = None


@dataclass(frozen=True)
class School:
    id: str
    name: str
    kind: SchoolKind
    region: str  # the township's code
    bell_schedule_id: str


@dataclass(frozen=True)
class BellPeriod:
    schedule_id: str
    period: int
    start: time
    end: time


@dataclass(frozen=True)
class Classroom:
    id: str
    school_id: str
    role: ClassroomRole
    uplink_kbps: int
    downlink_kbps: int


@dataclass(frozen=True)
class Teacher:
    id: str
    name: str
    school_id: str
    subjects: tuple[str, ...]
    grades: tuple[int, ...]
    weekly_cap: int
    master: bool = False


@dataclass(frozen=True)
class ReceivingClass:
    id: str
    school_id: str
    classroom_id: str
    grade: int
    pupils: int


@dataclass(frozen=True)
class Need:
    class_id: str
    subject: str
    periods_per_week: int


@dataclass(frozen=True)
class Busy:
    """A slot taken in an owner's local timetable (owner: a class or a teacher)."""

    owner_id: str
    day: int  # 1 = Monday … 5 = Friday
    period: int


@dataclass(frozen=True)
class Previous:
    """Last term's pairing, kept when possible (``previous.csv``)."""

    class_id: str
    subject: str
    teacher_id: str


@dataclass(frozen=True)
class Directory:
    """Everything the scheduler plans from, for one region."""

    regions: tuple[Region, ...] = ()
    schools: tuple[School, ...] = ()
    bells: tuple[BellPeriod, ...] = ()
    classrooms: tuple[Classroom, ...] = ()
    teachers: tuple[Teacher, ...] = ()
    classes: tuple[ReceivingClass, ...] = ()
    needs: tuple[Need, ...] = ()
    busy: tuple[Busy, ...] = field(default=())
    previous: tuple[Previous, ...] = ()

    def school(self, school_id: str) -> School | None:
        return next((s for s in self.schools if s.id == school_id), None)
