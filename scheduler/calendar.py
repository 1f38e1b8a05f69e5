"""The term calendar: which dates hold which weekday's lessons.

A term runs from its first to its last day. Weekends are off; ``calendar.csv``
lists holidays (``holiday``) and make-up days (``workday_as:<weekday>``, e.g. a
Sunday that keeps Monday's timetable, 调休). Pure: dates in, dated lessons out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from scheduler.plan import Lesson


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: str  # "holiday" or "workday"
    weekday: int | None = None  # for a make-up workday: whose timetable it keeps (1-5)


@dataclass(frozen=True)
class DatedLesson:
    lesson: Lesson
    day: date

    @property
    def key(self) -> str:
        """Stable id of one occurrence: the weekly lesson and the date."""
        return f"{self.lesson.id}@{self.day.isoformat()}"


def timetable_weekday(day: date, exceptions: dict[date, CalendarDay]) -> int | None:
    """The weekday (1-5) whose lessons ``day`` holds, or ``None`` for no lessons."""
    special = exceptions.get(day)
    if special is not None:
        return special.weekday if special.kind == "workday" else None
    weekday = day.isoweekday()
    return weekday if weekday <= 5 else None


def dated(
    lessons: Iterable[Lesson], first: date, last: date, exceptions: Iterable[CalendarDay] = ()
) -> Iterator[DatedLesson]:
    """Every occurrence of the weekly lessons between ``first`` and ``last`` inclusive."""
    special = {e.day: e for e in exceptions}
    by_weekday: dict[int, list[Lesson]] = {}
    for lesson in lessons:
        by_weekday.setdefault(lesson.day, []).append(lesson)
    day = first
    while day <= last:
        weekday = timetable_weekday(day, special)
        for lesson in by_weekday.get(weekday, []) if weekday else []:
            yield DatedLesson(lesson, day)
        day += timedelta(days=1)
