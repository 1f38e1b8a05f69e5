"""Weekly lessons laid over the term: dates, bells, holidays and make-up days."""

from __future__ import annotations

from datetime import date, time

from scheduler.calendar import CalendarDay
from scheduler.occurrence import Occurrence, lay_out
from scheduler.plan import Lesson
from tests.scheduler.builders import tiny

MONDAY = Lesson("L00001", 1, 2, "t0", "cs-out1", "英语", 3, ("tp0-c",))
FRIDAY = Lesson("L00002", 5, 1, "t0", "cs-out1", "英语", 3, ("tp1-c",))


def test_each_lesson_falls_on_its_weekday_with_the_output_schools_bell() -> None:
    found = list(lay_out(tiny(), 7, [MONDAY, FRIDAY], date(2027, 3, 1), date(2027, 3, 14)))
    assert [(o.lesson.id, o.day) for o in found] == [
        ("L00001", date(2027, 3, 1)), ("L00002", date(2027, 3, 5)),
        ("L00001", date(2027, 3, 8)), ("L00002", date(2027, 3, 12)),
    ]  # fmt: skip
    assert (found[0].start, found[0].end) == (time(9, 0), time(9, 40))
    assert found[0].id == Occurrence.key(7, "L00001", date(2027, 3, 1)) == "P7-L00001-20270301"


def test_holidays_drop_lessons_and_a_make_up_day_keeps_another_weekday() -> None:
    exceptions = [
        CalendarDay(date(2027, 3, 1), "holiday"),
        CalendarDay(date(2027, 3, 6), "workday", 1),  # Saturday keeps Monday's timetable
    ]
    found = list(lay_out(tiny(), 1, [MONDAY], date(2027, 3, 1), date(2027, 3, 7), exceptions))
    assert [o.day for o in found] == [date(2027, 3, 6)]


def test_a_lesson_whose_teacher_has_left_is_not_laid_out() -> None:
    gone = Lesson("L00003", 1, 1, "t-left", "cs-out1", "英语", 3, ("tp0-c",))
    assert list(lay_out(tiny(), 1, [gone], date(2027, 3, 1), date(2027, 3, 7))) == []
