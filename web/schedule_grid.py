"""Timetable grids for the pages: days across, periods down, per school, teacher or class."""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.instance import Instance
from scheduler.model import Directory
from scheduler.plan import Lesson

DAYS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Cell:
    title: str  # subject and grade
    lines: tuple[str, ...]  # who: the teacher, the receiving classes


@dataclass
class Grid:
    title: str
    periods: list[tuple[int, str]]  # period number, "08:00–08:40"
    cells: dict[tuple[int, int], list[Cell]] = field(default_factory=dict)  # (day, period)


class Names:
    def __init__(self, directory: Directory) -> None:
        self.schools = {s.id: s for s in directory.schools}
        self.teachers = {t.id: t for t in directory.teachers}
        self.classes = {c.id: c for c in directory.classes}

    def teacher(self, teacher_id: str) -> str:
        t = self.teachers.get(teacher_id)
        return t.name if t else teacher_id

    def klass(self, class_id: str) -> str:
        c = self.classes.get(class_id)
        if c is None:
            return class_id
        school = self.schools.get(c.school_id)
        return f"{school.name if school else c.school_id} {c.grade}年级"

    def school(self, school_id: str) -> str:
        s = self.schools.get(school_id)
        return s.name if s else school_id


def _periods(inst: Instance, schedule_id: str) -> list[tuple[int, str]]:
    bells = inst.bells.get(schedule_id, {})
    return [(n, f"{b.start:%H:%M}–{b.end:%H:%M}") for n, b in sorted(bells.items())]


def grid(directory: Directory, lessons: tuple[Lesson, ...], view: str, owner: str) -> Grid | None:
    """The week of ``owner`` (a school, teacher or receiving class id) in its own bells."""
    inst = Instance(directory)
    names = Names(directory)
    if view == "teacher" and owner in inst.teachers:
        school = inst.schools[inst.teachers[owner].school_id]
        found = Grid(names.teacher(owner), _periods(inst, school.bell_schedule_id))
        for le in lessons:
            if le.teacher_id == owner:
                found.cells.setdefault((le.day, le.period), []).append(
                    Cell(
                        f"{le.subject} {le.grade}年级", tuple(names.klass(c) for c in le.class_ids)
                    )
                )
        return found
    if view == "school" and owner in inst.schools:
        school = inst.schools[owner]
        found = Grid(school.name, _periods(inst, school.bell_schedule_id))
        for le in lessons:
            teacher = inst.teachers.get(le.teacher_id)
            if teacher and teacher.school_id == owner:
                found.cells.setdefault((le.day, le.period), []).append(
                    Cell(f"{le.subject} {le.grade}年级",
                         (f"{names.teacher(le.teacher_id)} · {le.output_classroom_id}",
                          *(names.klass(c) for c in le.class_ids)))
                )  # fmt: skip
        return found
    if view == "class" and owner in inst.classes:
        klass = inst.classes[owner]
        school = inst.schools[klass.school_id]
        found = Grid(names.klass(owner), _periods(inst, school.bell_schedule_id))
        for le in lessons:
            if owner in le.class_ids and le.teacher_id in inst.teachers:
                local = inst.local_period(le.teacher_id, owner, le.period)
                if local is not None:
                    teacher_school = inst.teachers[le.teacher_id].school_id
                    found.cells.setdefault((le.day, local), []).append(
                        Cell(f"{le.subject}",
                             (f"{names.teacher(le.teacher_id)}（{names.school(teacher_school)}）",))
                    )  # fmt: skip
        return found
    return None
