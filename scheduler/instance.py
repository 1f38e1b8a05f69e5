"""A directory indexed for planning: who can teach whom, when bells align, capacities.

Pure: built from a ``Directory`` and ``Parameters``; shared by the solver and by
the hard-rule check so that both read the rules the same way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from scheduler.model import ClassroomRole, Directory, ReceivingClass, School, SchoolKind, Teacher
from scheduler.plan import Parameters
from scheduler.timing import alignment, schedules

TEACHING_KINDS = frozenset({SchoolKind.CENTRAL, SchoolKind.FAMOUS})


def county_of(region_code: str) -> str:
    """The county part of a township (9-digit) or county (6-digit) code."""
    return region_code[:6]


def city_of(region_code: str) -> str:
    """The city (prefecture) part of a township, county or city code. The counties the
    importer names itself (``99xxxx``, no real division) share one unknown city."""
    return region_code[:2] if region_code.startswith("99") else region_code[:4]


@dataclass
class Instance:
    directory: Directory
    params: Parameters = field(default_factory=Parameters)

    def __post_init__(self) -> None:
        d = self.directory
        self.schools: dict[str, School] = {s.id: s for s in d.schools}
        self.classes: dict[str, ReceivingClass] = {c.id: c for c in d.classes}
        self.teachers: dict[str, Teacher] = {t.id: t for t in d.teachers}
        self.bells = schedules(d.bells)
        self.busy = {(b.owner_id, b.day, b.period) for b in d.busy}
        self.output_rooms: dict[str, list[str]] = defaultdict(list)
        self.uplink: dict[str, int] = defaultdict(int)
        self.downlink: dict[str, int] = defaultdict(int)
        for room in sorted(d.classrooms, key=lambda r: r.id):
            if room.role is ClassroomRole.OUTPUT:
                self.output_rooms[room.school_id].append(room.id)
                # rooms of one school share its line: its capacity is its best room's
                self.uplink[room.school_id] = max(self.uplink[room.school_id], room.uplink_kbps)
            else:
                self.downlink[room.school_id] = max(
                    self.downlink[room.school_id], room.downlink_kbps
                )
        self.previous = {(p.class_id, p.subject): p.teacher_id for p in d.previous}
        self._aligned: dict[tuple[str, str], dict[int, int]] = {}
        self._candidates: dict[tuple[str, str], list[str]] = {}

    # capacities -----------------------------------------------------------------
    def up_lessons(self, school_id: str) -> int:
        """How many lessons the school's uplink carries at once."""
        return self.uplink[school_id] // self.params.kbps_per_lesson

    def down_lessons(self, school_id: str) -> int:
        return self.downlink[school_id] // self.params.kbps_per_lesson

    # time -------------------------------------------------------------------------
    def output_periods(self, teacher_id: str) -> list[int]:
        school = self.schools[self.teachers[teacher_id].school_id]
        return sorted(self.bells.get(school.bell_schedule_id, {}))

    def local_period(self, teacher_id: str, class_id: str, period: int) -> int | None:
        """The receiving class's period for the teacher's ``period``, if the bells align."""
        return self._alignment(teacher_id, class_id).get(period)

    def _alignment(self, teacher_id: str, class_id: str) -> dict[int, int]:
        out = self.schools[self.teachers[teacher_id].school_id].bell_schedule_id
        local = self.schools[self.classes[class_id].school_id].bell_schedule_id
        key = (out, local)
        if key not in self._aligned:
            self._aligned[key] = alignment(
                self.bells.get(out, {}), self.bells.get(local, {}), self.params.min_overlap_minutes
            )
        return self._aligned[key]

    # who can teach whom -------------------------------------------------------------
    @cached_property
    def _by_subject_grade(self) -> dict[tuple[str, int], list[str]]:
        table: dict[tuple[str, int], list[str]] = defaultdict(list)
        for teacher in sorted(self.teachers.values(), key=lambda t: t.id):
            school = self.schools.get(teacher.school_id)
            if school is None or school.kind not in TEACHING_KINDS:
                continue
            if not self.output_rooms.get(teacher.school_id):
                continue
            for subject in teacher.subjects:
                for grade in teacher.grades:
                    table[(subject, grade)].append(teacher.id)
        return table

    def qualified(self, class_id: str, subject: str) -> list[str]:
        """Every teacher of ``subject`` for the class's grade, wherever and whenever."""
        return self._by_subject_grade.get((subject, self.classes[class_id].grade), [])

    def candidates(self, class_id: str, subject: str) -> list[str]:
        """The nearest ``max_candidates`` teachers who teach ``subject`` to the class's grade.

        Nearest: same township, then same county (中心校带教学点), then same city (a
        famous school teaching its city's teaching points). Pairing rarely crosses a
        county, and every extra candidate multiplies the model by the week's slots, so
        the rest are not considered. A teacher whose bells never overlap the class's
        enough cannot teach it and is no candidate.
        """
        key = (class_id, subject)
        if key not in self._candidates:
            everyone = [
                t for t in self.qualified(class_id, subject) if self._alignment(t, class_id)
            ]
            there = city_of(self.schools[self.classes[class_id].school_id].region)
            nearest = sorted(
                everyone,
                key=lambda t: (
                    self.distance(t, class_id),
                    city_of(self.schools[self.teachers[t].school_id].region) != there,
                    t,
                ),
            )
            self._candidates[key] = nearest[: self.params.max_candidates]
        return self._candidates[key]

    def distance(self, teacher_id: str, class_id: str) -> int:
        """0 same township, 1 same county, 2 farther (中心校带教学点 first)."""
        here = self.schools[self.teachers[teacher_id].school_id].region
        there = self.schools[self.classes[class_id].school_id].region
        if here == there:
            return 0
        return 1 if county_of(here) == county_of(there) else 2
