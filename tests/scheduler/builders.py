"""Small directories for solver tests, built in a few lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from scheduler.model import (
    BellPeriod,
    Busy,
    Classroom,
    ClassroomRole,
    Directory,
    Need,
    Previous,
    ReceivingClass,
    Region,
    RegionLevel,
    School,
    SchoolKind,
    Teacher,
)

TOWN_A, TOWN_B = "349921101", "349921102"


def bells(schedule: str, starts: list[tuple[int, int]], length: int = 40) -> list[BellPeriod]:
    out = []
    for n, (h, m) in enumerate(starts, start=1):
        end = h * 60 + m + length
        out.append(BellPeriod(schedule, n, time(h, m), time(end // 60, end % 60)))
    return out


FOUR = [(8, 0), (9, 0), (10, 0), (11, 0)]


def tiny(
    points: int = 2,
    *,
    grade: int = 3,
    periods: int = 2,
    cap: int = 10,
    uplink: int = 20_000,
    teachers: int = 1,
    point_town: str = TOWN_A,
) -> Directory:
    """One central school in town A with ``teachers`` English teachers and one output room;
    ``points`` teaching points, each with one class of ``grade`` needing English."""
    regions = (
        Region("349921", "青溪县", RegionLevel.COUNTY),
        Region(TOWN_A, "石门镇", RegionLevel.TOWNSHIP, "349921"),
        Region(TOWN_B, "柳河乡", RegionLevel.TOWNSHIP, "349921"),
    )
    schools = [School("cs", "中心校", SchoolKind.CENTRAL, TOWN_A, "day")]
    rooms = [Classroom("cs-out1", "cs", ClassroomRole.OUTPUT, uplink, 100_000)]
    classes, needs = [], []
    for n in range(points):
        sid = f"tp{n}"
        schools.append(School(sid, f"教学点{n}", SchoolKind.TEACHING_POINT, point_town, "day"))
        rooms.append(Classroom(f"{sid}-r", sid, ClassroomRole.RECEIVING, 4000, 8000))
        classes.append(ReceivingClass(f"{sid}-c", sid, f"{sid}-r", grade, 10))
        needs.append(Need(f"{sid}-c", "英语", periods))
    staff = [
        Teacher(f"t{n}", f"教师{n}", "cs", ("英语",), (3, 4, 5, 6), cap) for n in range(teachers)
    ]
    return Directory(
        regions=regions,
        schools=tuple(schools),
        bells=tuple(bells("day", FOUR)),
        classrooms=tuple(rooms),
        teachers=tuple(staff),
        classes=tuple(classes),
        needs=tuple(needs),
    )


def with_busy(directory: Directory, *busy: Busy) -> Directory:
    return replace(directory, busy=directory.busy + busy)


def with_previous(directory: Directory, *previous: Previous) -> Directory:
    return replace(directory, previous=directory.previous + previous)
