"""Occurrences: weekly lessons laid over the term's dates with their bell times.

One row per lesson per date, what rooms are opened from. Pure: a plan, dates and
bells in, occurrences out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time

from scheduler.calendar import CalendarDay, dated
from scheduler.model import Directory
from scheduler.plan import Lesson

SCHEDULED, CANCELLED = "scheduled", "cancelled"


@dataclass(frozen=True)
class Occurrence:
    id: str  # P{plan}-{lesson}-{yyyymmdd}: stable, so publishing twice changes nothing
    plan_id: int
    lesson: Lesson
    day: date
    start: time  # the output school's bell (Beijing time)
    end: time
    state: str = SCHEDULED
    reason: str = ""  # why cancelled: superseded (a newer plan) or repair

    @staticmethod
    def key(plan_id: int, lesson_id: str, day: date) -> str:
        return f"P{plan_id}-{lesson_id}-{day:%Y%m%d}"


def lay_out(
    directory: Directory,
    plan_id: int,
    lessons: Iterable[Lesson],
    first: date,
    last: date,
    exceptions: Iterable[CalendarDay] = (),
) -> Iterator[Occurrence]:
    """Every occurrence of ``lessons`` from ``first`` to ``last``, holidays left out."""
    schedule_of = {s.id: s.bell_schedule_id for s in directory.schools}
    school_of = {t.id: t.school_id for t in directory.teachers}
    bells = {(b.schedule_id, b.period): b for b in directory.bells}
    for item in dated(lessons, first, last, exceptions):
        lesson = item.lesson
        schedule = schedule_of.get(school_of.get(lesson.teacher_id, ""), "")
        bell = bells.get((schedule, lesson.period))
        if bell is None:  # the teacher or the bell has left the directory since
            continue
        yield Occurrence(
            Occurrence.key(plan_id, lesson.id, item.day),
            plan_id,
            lesson,
            item.day,
            bell.start,
            bell.end,
        )
