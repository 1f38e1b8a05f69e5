"""Turning the input tables into a ``Directory``, checking everything first.

Every problem is collected (file, line, column, a Chinese message) and reported
together; a single one means nothing is imported. Pure: tables in, directory or
``ImportFailed`` out.

Regions: ``schools.csv`` names its township and county, not their division codes.
A county or township whose name is already known (the region tree stored before,
with real GB/T 2260 codes, passed in as ``known``) keeps its code, so accounts
scoped to it still see its schools. A new one gets a stable code of its own: a new
county ``99xxxx`` (in order of appearance), a new township its county's code plus
three digits from 901 up. Known regions are all kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, time
from typing import TypeVar

from scheduler.calendar import CalendarDay
from scheduler.errors import ImportFailed, Problem
from scheduler.files import Table
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
from scheduler.timing import overlap_minutes

HEADERS = {
    "schools": ["school_id", "name", "kind", "township", "county", "bell_schedule_id"],
    "bells": ["bell_schedule_id", "period", "start", "end"],
    "classrooms": ["classroom_id", "school_id", "role", "uplink_kbps", "downlink_kbps"],
    "teachers": ["teacher_id", "name", "school_id", "subjects", "grades", "weekly_cap"],
    "classes": ["class_id", "school_id", "classroom_id", "grade", "pupils"],
    "needs": ["class_id", "subject", "periods_per_week"],
    "busy": ["owner_id", "day", "period"],
    "previous": ["class_id", "subject", "teacher_id"],
    "calendar": ["date", "kind"],
}
REQUIRED = ("schools", "bells", "classrooms", "teachers", "classes", "needs", "busy")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
T = TypeVar("T")


class _Rows:
    """Reads one table's rows, recording problems instead of raising."""

    def __init__(self, table: Table, problems: list[Problem]) -> None:
        self.table = table
        self.problems = problems
        self.line = 0
        self.ok = True

    def __iter__(self):  # type: ignore[no-untyped-def]
        columns = self.table.header
        for line, cells in self.table.rows:
            self.line, self.ok = line, True
            if len(cells) != len(columns):
                self.fail("", f"应有 {len(columns)} 列，实际 {len(cells)} 列")
                continue
            yield dict(zip(columns, cells, strict=True))

    def fail(self, column: str, message: str) -> None:
        self.ok = False
        self.problems.append(Problem(self.table.file, self.line, column, message))

    def text(self, row: dict[str, str], column: str) -> str:
        value = row[column]
        if not value:
            self.fail(column, "不能为空")
        return value

    def integer(self, row: dict[str, str], column: str, low: int, high: int | None = None) -> int:
        try:
            value = int(row[column])
        except ValueError:
            self.fail(column, f"应为整数，实际为“{row[column]}”")
            return low
        if value < low or (high is not None and value > high):
            span = f"{low}–{high}" if high is not None else f"不小于 {low}"
            self.fail(column, f"应在 {span} 之间，实际为 {value}")
        return value

    def choice(self, row: dict[str, str], column: str, kind: Callable[[str], T], names: str) -> T:
        try:
            return kind(row[column])
        except ValueError:
            self.fail(column, f"应为 {names} 之一，实际为“{row[column]}”")
            return kind(names.split(" | ")[0])

    def clock(self, row: dict[str, str], column: str) -> time:
        match = _TIME.match(row[column])
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            self.fail(column, f"时间格式应为 HH:MM，实际为“{row[column]}”")
            return time(0, 0)
        return time(int(match[1]), int(match[2]))

    def known(self, row: dict[str, str], column: str, ids: set[str], what: str) -> str:
        value = row[column]
        if value and value not in ids:
            self.fail(column, f"未知的{what}“{value}”")
        return value


def _check_headers(
    tables: dict[str, Table], problems: list[Problem], required: tuple[str, ...] = REQUIRED
) -> None:
    for name in required:
        if name not in tables:
            problems.append(Problem(f"{name}.csv", 0, "", "缺少此文件（或工作表）"))
    for name, table in tables.items():
        if name == "calendar" and required:
            continue  # read by build_calendar
        expected = HEADERS[name]
        if table.header != expected:
            missing = [c for c in expected if c not in table.header]
            extra = [c for c in table.header if c not in expected]
            detail = []
            if missing:
                detail.append("缺少列 " + "、".join(missing))
            if extra:
                detail.append("多余列 " + "、".join(extra))
            if not detail:
                detail.append("列的顺序应为 " + ",".join(expected))
            problems.append(Problem(table.file, 1, "", "；".join(detail)))


def _unique(rows: _Rows, row: dict[str, str], column: str, seen: set[str], what: str) -> str:
    value = rows.text(row, column)
    if value in seen:
        rows.fail(column, f"{what}“{value}”重复")
    seen.add(value)
    return value


class _Codes:
    """Division codes for the county and township names of ``schools.csv``."""

    def __init__(self, known: Iterable[Region]) -> None:
        self.known = {r.code: r for r in known}
        self.added: dict[str, Region] = {}
        self.counties = {r.name: r.code for r in self.known.values()
                         if r.level is RegionLevel.COUNTY}  # fmt: skip
        self.townships = {(r.parent, r.name): r.code for r in self.known.values()
                          if r.level is RegionLevel.TOWNSHIP}  # fmt: skip

    def _free(self, candidates: Iterable[str]) -> str:
        return next(c for c in candidates if c not in self.known and c not in self.added)

    def township(self, county: str, township: str) -> str:
        county_code = self.counties.get(county)
        if county_code is None:
            county_code = self._free(f"99{n:04d}" for n in range(1, 10_000))
            self.counties[county] = county_code
            self.added[county_code] = Region(county_code, county, RegionLevel.COUNTY)
        code = self.townships.get((county_code, township))
        if code is None:
            code = self._free(f"{county_code}{n:03d}" for n in range(901, 1000))
            self.townships[(county_code, township)] = code
            self.added[code] = Region(code, township, RegionLevel.TOWNSHIP, county_code)
        return code

    def regions(self) -> list[Region]:
        return [*self.known.values(), *self.added.values()]


def build_directory(tables: dict[str, Table], known: Iterable[Region] = ()) -> Directory:
    """The directory the tables describe; ``ImportFailed`` lists every problem."""
    problems: list[Problem] = []
    _check_headers(tables, problems)
    if problems:
        raise ImportFailed(problems)

    def rows(name: str) -> _Rows:
        return _Rows(tables[name], problems)

    # bells -------------------------------------------------------------------
    bells: list[BellPeriod] = []
    reader = rows("bells")
    seen_periods: set[tuple[str, int]] = set()
    for row in reader:
        schedule = reader.text(row, "bell_schedule_id")
        period = reader.integer(row, "period", 1, 20)
        start, end = reader.clock(row, "start"), reader.clock(row, "end")
        if reader.ok and start >= end:
            reader.fail("end", "下课时间应晚于上课时间")
        if (schedule, period) in seen_periods:
            reader.fail("period", f"作息 {schedule} 的第 {period} 节重复")
        seen_periods.add((schedule, period))
        if reader.ok:
            bells.append(BellPeriod(schedule, period, start, end))
    by_schedule: dict[str, list[BellPeriod]] = {}
    for bell in bells:
        by_schedule.setdefault(bell.schedule_id, []).append(bell)
    for schedule, periods in by_schedule.items():
        ordered = sorted(periods, key=lambda b: b.period)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if overlap_minutes(a, b) > 0 or b.start < a.start:
                problems.append(
                    Problem(tables["bells"].file, 0, "start",
                            f"作息 {schedule} 的第 {a.period} 与第 {b.period} 节时间重叠或顺序颠倒")
                )  # fmt: skip

    # schools and regions ----------------------------------------------------------
    schools: list[School] = []
    codes = _Codes(known)
    school_ids: set[str] = set()
    reader = rows("schools")
    for row in reader:
        school_id = _unique(reader, row, "school_id", school_ids, "学校编号")
        name = reader.text(row, "name")
        kind = reader.choice(row, "kind", SchoolKind, "central | teaching_point | famous")
        township, county = reader.text(row, "township"), reader.text(row, "county")
        schedule = reader.known(row, "bell_schedule_id", set(by_schedule), "作息表")
        if not reader.ok:
            continue
        schools.append(School(school_id, name, kind, codes.township(county, township), schedule))
    regions = codes.regions()

    # classrooms ------------------------------------------------------------------------
    rooms: list[Classroom] = []
    room_ids: set[str] = set()
    reader = rows("classrooms")
    for row in reader:
        room_id = _unique(reader, row, "classroom_id", room_ids, "教室编号")
        school_id = reader.known(row, "school_id", school_ids, "学校")
        role = reader.choice(row, "role", ClassroomRole, "output | receiving")
        up = reader.integer(row, "uplink_kbps", 0)
        down = reader.integer(row, "downlink_kbps", 0)
        if reader.ok:
            rooms.append(Classroom(room_id, school_id, role, up, down))
    room_of = {r.id: r for r in rooms}

    # teachers ----------------------------------------------------------------------------
    teachers: list[Teacher] = []
    teacher_ids: set[str] = set()
    reader = rows("teachers")
    for row in reader:
        teacher_id = _unique(reader, row, "teacher_id", teacher_ids, "教师编号")
        name = reader.text(row, "name")
        school_id = reader.known(row, "school_id", school_ids, "学校")
        subjects = tuple(s.strip() for s in row["subjects"].split(";") if s.strip())
        if not subjects:
            reader.fail("subjects", "至少一门学科，用“;”分隔")
        grades: list[int] = []
        for part in (g.strip() for g in row["grades"].split(";") if g.strip()):
            if part.isdigit() and 1 <= int(part) <= 12:
                grades.append(int(part))
            else:
                reader.fail("grades", f"年级应为 1–12 的整数，用“;”分隔，实际含“{part}”")
        if not grades and reader.ok:
            reader.fail("grades", "至少一个年级")
        cap = reader.integer(row, "weekly_cap", 0, 60)
        if reader.ok:
            teachers.append(Teacher(teacher_id, name, school_id, subjects, tuple(grades), cap))

    # classes -----------------------------------------------------------------------------
    classes: list[ReceivingClass] = []
    class_ids: set[str] = set()
    reader = rows("classes")
    for row in reader:
        class_id = _unique(reader, row, "class_id", class_ids, "班级编号")
        school_id = reader.known(row, "school_id", school_ids, "学校")
        room_id = reader.known(row, "classroom_id", set(room_of), "教室")
        room = room_of.get(room_id)
        if room is not None and reader.ok:
            if room.school_id != school_id:
                reader.fail("classroom_id", f"教室“{room_id}”不属于学校“{school_id}”")
            elif room.role is not ClassroomRole.RECEIVING:
                reader.fail("classroom_id", f"教室“{room_id}”不是接收端（听课）教室")
        grade = reader.integer(row, "grade", 1, 12)
        pupils = reader.integer(row, "pupils", 0, 200)
        if reader.ok:
            classes.append(ReceivingClass(class_id, school_id, room_id, grade, pupils))

    # needs, busy, previous ---------------------------------------------------------------------
    needs: list[Need] = []
    seen_needs: set[tuple[str, str]] = set()
    reader = rows("needs")
    for row in reader:
        class_id = reader.known(row, "class_id", class_ids, "班级")
        subject = reader.text(row, "subject")
        count = reader.integer(row, "periods_per_week", 0, 40)
        if (class_id, subject) in seen_needs:
            reader.fail("subject", f"班级“{class_id}”的“{subject}”需求重复")
        seen_needs.add((class_id, subject))
        if reader.ok:
            needs.append(Need(class_id, subject, count))
    busy: list[Busy] = []
    owners = class_ids | teacher_ids
    most_periods = max((len(v) for v in by_schedule.values()), default=0)
    reader = rows("busy")
    for row in reader:
        owner = reader.known(row, "owner_id", owners, "班级或教师")
        day = reader.integer(row, "day", 1, 5)
        period = reader.integer(row, "period", 1, max(most_periods, 1))
        if reader.ok:
            busy.append(Busy(owner, day, period))
    previous: list[Previous] = []
    if "previous" in tables:
        reader = rows("previous")
        for row in reader:
            class_id = reader.known(row, "class_id", class_ids, "班级")
            subject = reader.text(row, "subject")
            teacher_id = reader.known(row, "teacher_id", teacher_ids, "教师")
            if reader.ok:
                previous.append(Previous(class_id, subject, teacher_id))

    if problems:
        raise ImportFailed(problems)
    return Directory(
        regions=tuple(regions),
        schools=tuple(schools),
        bells=tuple(bells),
        classrooms=tuple(rooms),
        teachers=tuple(teachers),
        classes=tuple(classes),
        needs=tuple(needs),
        busy=tuple(dict.fromkeys(busy)),  # a slot listed twice is one busy slot
        previous=tuple(previous),
    )


def build_calendar(tables: dict[str, Table]) -> list[CalendarDay]:
    """Holidays and make-up days from the optional ``calendar.csv``."""
    if "calendar" not in tables:
        return []
    problems: list[Problem] = []
    _check_headers({"calendar": tables["calendar"]}, problems, required=())
    if problems:
        raise ImportFailed(problems)
    reader = _Rows(tables["calendar"], problems)
    days: list[CalendarDay] = []
    seen: set[date] = set()
    for row in reader:
        try:
            day = date.fromisoformat(row["date"])
        except ValueError:
            reader.fail("date", f"日期格式应为 YYYY-MM-DD，实际为“{row['date']}”")
            continue
        if day in seen:
            reader.fail("date", f"日期 {day} 重复")
        seen.add(day)
        kind = row["kind"]
        if kind == "holiday":
            days.append(CalendarDay(day, "holiday"))
        elif kind.startswith("workday_as:") and kind[11:].isdigit() and 1 <= int(kind[11:]) <= 5:
            days.append(CalendarDay(day, "workday", int(kind[11:])))
        else:
            reader.fail("kind", f"应为 holiday 或 workday_as:1–5，实际为“{kind}”")
    if problems:
        raise ImportFailed(problems)
    return days
