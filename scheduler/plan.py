"""What the scheduler produces: weekly lessons, unmet needs with reasons, workload."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from scheduler.model import Need


class UnmetReason(StrEnum):
    NO_TEACHER = "no_teacher"  # nobody teaches this subject to this grade
    NO_COMMON_SLOT = "no_common_slot"  # no period free at both ends with aligned bells
    CAP_REACHED = "cap_reached"  # every teacher who could teach it is at their weekly cap
    BANDWIDTH = "bandwidth"  # the lines of the schools cannot carry another lesson
    CAPACITY = "capacity"  # teachers, rooms and slots are all taken by other needs


REASON_ZH = {
    UnmetReason.NO_TEACHER: "没有能教该学科该年级的主讲教师",
    UnmetReason.NO_COMMON_SLOT: "两端没有共同的空闲节次（作息时间不重叠或课表已满）",
    UnmetReason.CAP_REACHED: "可任教的教师均已达到每周课时上限",
    UnmetReason.BANDWIDTH: "学校网络带宽不足以承载更多同时上课",
    UnmetReason.CAPACITY: "教师、主讲教室与节次已被其他需求占满",
}


@dataclass(frozen=True)
class Parameters:
    """The knobs of DESIGN.md §6; weights are per unit of the soft goal."""

    max_receivers: int = 4
    max_candidates: int = 4  # teachers considered per class and subject, nearest first
    min_overlap_minutes: int = 35
    kbps_per_lesson: int = 1500
    weight_unmet: int = 1000
    weight_teacher_change: int = 40
    weight_previous: int = 20
    weight_township: int = 3  # per class-lesson outside the class's township
    weight_county: int = 10  # per class-lesson outside the class's county
    weight_same_day: int = 5  # per extra period of one subject on one day
    weight_load: int = 1  # per period of the busiest teacher
    weight_lesson: int = 2  # per output lesson: grouping saves teacher time and bandwidth
    weight_change: int = 50  # repair: per class-lesson moved from the current plan


@dataclass(frozen=True)
class Lesson:
    """One weekly output lesson: a teacher, a room, a slot, a subject and its classes."""

    id: str
    day: int
    period: int  # in the output school's bell schedule
    teacher_id: str
    output_classroom_id: str
    subject: str
    grade: int
    class_ids: tuple[str, ...]


@dataclass(frozen=True)
class Unmet:
    class_id: str
    subject: str
    periods: int
    reason: UnmetReason


@dataclass(frozen=True)
class Timetable:
    status: str  # OPTIMAL, FEASIBLE, or the solver's word for why there is no plan
    lessons: tuple[Lesson, ...]
    unmet: tuple[Unmet, ...]
    objective: float
    bound: float
    seconds: float
    demand: int = 0
    scheduled: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def workload(self) -> dict[str, int]:
        """Periods per week per teacher."""
        load: dict[str, int] = {}
        for lesson in self.lessons:
            load[lesson.teacher_id] = load.get(lesson.teacher_id, 0) + 1
        return load


def from_lessons(needs: Iterable[Need], lessons: Iterable[Lesson], status: str) -> Timetable:
    """A timetable for given lessons (e.g. a plan read back from timetable.csv), its cover
    counted against ``needs``; reasons are not known here (``CAPACITY``)."""
    kept = tuple(lessons)
    delivered: Counter[tuple[str, str]] = Counter()
    for lesson in kept:
        for class_id in lesson.class_ids:
            delivered[(class_id, lesson.subject)] += 1
    wanted = {(n.class_id, n.subject): n.periods_per_week for n in needs}
    unmet = tuple(
        Unmet(c, s, n - delivered[(c, s)], UnmetReason.CAPACITY)
        for (c, s), n in sorted(wanted.items())
        if n > delivered[(c, s)]
    )
    demand = sum(wanted.values())
    return Timetable(
        status, kept, unmet, 0.0, 0.0, 0.0, demand, demand - sum(u.periods for u in unmet)
    )


def lesson_changes(
    before: Iterable[Lesson], after: Iterable[Lesson]
) -> tuple[list[Lesson], list[Lesson]]:
    """The lessons that went and those that came, comparing what a lesson is (slot,
    teacher, subject, grade, classes), not its id or room; sorted by that."""

    def shape(le: Lesson) -> tuple[int, int, str, str, int, tuple[str, ...]]:
        return (le.day, le.period, le.teacher_id, le.subject, le.grade, le.class_ids)

    old = {shape(le): le for le in before}
    new = {shape(le): le for le in after}
    return (
        [le for key, le in sorted(old.items()) if key not in new],
        [le for key, le in sorted(new.items()) if key not in old],
    )
