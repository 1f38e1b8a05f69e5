"""Writing plans and directories as files: the fixed CSV formats and an XLSX workbook."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path

from scheduler.calendar import CalendarDay, DatedLesson, dated
from scheduler.ical import calendar
from scheduler.importer import HEADERS
from scheduler.instance import Instance
from scheduler.model import Directory
from scheduler.plan import REASON_ZH, Lesson, Timetable

DAY_ZH = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五"}


def _write(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    # UTF-8 with BOM: Excel on Chinese Windows opens it without garbling
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_plan(directory: Directory, plan: Timetable, out: Path) -> list[Path]:
    """timetable.csv, unmet.csv, workload.csv and timetable.xlsx in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _write(
        out / "timetable.csv",
        ["lesson_id", "day", "period", "teacher_id", "output_classroom_id", "subject", "grade",
         "class_ids"],
        ((le.id, le.day, le.period, le.teacher_id, le.output_classroom_id, le.subject, le.grade,
          ";".join(le.class_ids)) for le in plan.lessons),
    )  # fmt: skip
    _write(
        out / "unmet.csv",
        ["class_id", "subject", "periods_unmet", "reason"],
        ((u.class_id, u.subject, u.periods, u.reason.value) for u in plan.unmet),
    )
    load = plan.workload()
    _write(
        out / "workload.csv",
        ["teacher_id", "name", "school_id", "periods_per_week", "weekly_cap"],
        ((t.id, t.name, t.school_id, load.get(t.id, 0), t.weekly_cap)
         for t in sorted(directory.teachers, key=lambda t: t.id)),
    )  # fmt: skip
    _workbook(directory, plan, out / "timetable.xlsx")
    return [out / n for n in ("timetable.csv", "unmet.csv", "workload.csv", "timetable.xlsx")]


def _workbook(directory: Directory, plan: Timetable, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    summary.title = "未满足需求"
    summary.append(["班级", "学科", "未排课时", "原因"])
    for u in plan.unmet:
        summary.append([u.class_id, u.subject, u.periods, REASON_ZH[u.reason]])
    teachers = {t.id: t for t in directory.teachers}
    header = ["星期", "节次", "学科", "年级", "主讲教师", "主讲教室", "接收班级"]

    def rows(lessons: list[Lesson]) -> Iterable[list[object]]:
        for le in lessons:
            teacher = teachers[le.teacher_id].name
            classes = "、".join(le.class_ids)
            yield [DAY_ZH[le.day], le.period, le.subject, le.grade, teacher,
                   le.output_classroom_id, classes]  # fmt: skip

    used: set[str] = {summary.title}
    by_school = {s.id: s for s in directory.schools}
    class_school = {c.id: c.school_id for c in directory.classes}
    groups: dict[str, list[Lesson]] = {}
    for le in plan.lessons:
        schools = {teachers[le.teacher_id].school_id} | {class_school[c] for c in le.class_ids}
        for school_id in schools:
            groups.setdefault("校-" + by_school[school_id].name, []).append(le)
        groups.setdefault("师-" + teachers[le.teacher_id].name + "-" + le.teacher_id, []).append(le)
    for title, lessons in sorted(groups.items()):
        name = title[:31]
        while name in used:
            name = name[:28] + f"~{len(used)}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append(header)
        for row in rows(lessons):
            sheet.append(row)
    book.save(path)


def write_input(directory: Directory, out: Path) -> None:
    """The directory in the scheduler's input format (for tests, demos and benchmarks)."""
    out.mkdir(parents=True, exist_ok=True)
    regions = {r.code: r for r in directory.regions}

    def place(code: str) -> tuple[str, str]:
        town = regions.get(code)
        county = regions.get(town.parent) if town is not None and town.parent else None
        return (town.name if town else code, county.name if county else code[:6])

    d = directory
    tables: dict[str, Iterable[Iterable[object]]] = {
        "schools": ((s.id, s.name, s.kind.value, *place(s.region), s.bell_schedule_id)
                    for s in d.schools),
        "bells": ((b.schedule_id, b.period, f"{b.start:%H:%M}", f"{b.end:%H:%M}") for b in d.bells),
        "classrooms": ((c.id, c.school_id, c.role.value, c.uplink_kbps, c.downlink_kbps)
                       for c in d.classrooms),
        "teachers": ((t.id, t.name, t.school_id, ";".join(t.subjects),
                      ";".join(map(str, t.grades)), t.weekly_cap) for t in d.teachers),
        "classes": ((c.id, c.school_id, c.classroom_id, c.grade, c.pupils) for c in d.classes),
        "needs": ((n.class_id, n.subject, n.periods_per_week) for n in d.needs),
        "busy": ((b.owner_id, b.day, b.period) for b in d.busy),
        "previous": ((p.class_id, p.subject, p.teacher_id) for p in d.previous),
    }  # fmt: skip
    for name, rows in tables.items():
        if name != "previous" or d.previous:
            _write(out / f"{name}.csv", HEADERS[name], rows)


def write_calendars(
    directory: Directory,
    plan: Timetable,
    first: date,
    last: date,
    exceptions: list[CalendarDay],
    out: Path,
    stamp: datetime,
) -> int:
    """One .ics per teacher and per receiving classroom in ``out/ical``; returns files."""
    inst = Instance(directory)
    teachers = {t.id: t for t in directory.teachers}
    classes = {c.id: c for c in directory.classes}
    schools = {s.id: s for s in directory.schools}
    by_owner: dict[str, list[tuple[DatedLesson, time, time, str, str]]] = {}
    for occurrence in dated(plan.lessons, first, last, exceptions):
        le = occurrence.lesson
        teacher = teachers[le.teacher_id]
        bell = inst.bells[schools[teacher.school_id].bell_schedule_id][le.period]
        receivers = "、".join(schools[classes[c].school_id].name for c in le.class_ids)
        by_owner.setdefault(f"teacher-{teacher.id}", []).append(
            (occurrence, bell.start, bell.end, f"{le.subject}（{le.grade}年级）专递课堂",
             f"主讲教室 {le.output_classroom_id}；接收端：{receivers}")
        )  # fmt: skip
        for class_id in le.class_ids:
            klass = classes[class_id]
            local = inst.local_period(teacher.id, class_id, le.period)
            school = schools[klass.school_id]
            if local is None:
                continue
            here = inst.bells[school.bell_schedule_id][local]
            summary = f"{le.subject}（{le.grade}年级）· {teacher.name}"
            about = f"班级 {class_id}；主讲：{teacher.name}，{schools[teacher.school_id].name}"
            by_owner.setdefault(f"classroom-{klass.classroom_id}", []).append(
                (occurrence, here.start, here.end, summary, about)
            )
    folder = out / "ical"
    folder.mkdir(parents=True, exist_ok=True)
    for owner, events in sorted(by_owner.items()):
        (folder / f"{owner}.ics").write_text(calendar(owner, events, stamp), encoding="utf-8")
    return len(by_owner)
