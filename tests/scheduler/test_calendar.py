"""The term calendar and its iCalendar files."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from scheduler.calendar import CalendarDay, DatedLesson, dated
from scheduler.ical import calendar
from scheduler.plan import Lesson

MONDAY = Lesson("L1", 1, 3, "t1", "cs-out1", "英语", 3, ("tp-a",))
FRIDAY = Lesson("L2", 5, 1, "t1", "cs-out1", "音乐", 3, ("tp-a", "tp-b"))


def test_lessons_fall_on_their_weekdays_skipping_weekends_and_holidays() -> None:
    # 2026-09-28 is a Monday; 2026-10-01 (Thu) to 10-02 (Fri) are holidays (国庆);
    # Sunday 2026-10-11 is a make-up day keeping Friday's timetable (调休)
    exceptions = [
        CalendarDay(date(2026, 10, 1), "holiday"),
        CalendarDay(date(2026, 10, 2), "holiday"),
        CalendarDay(date(2026, 10, 11), "workday", 5),
    ]
    days = [
        (d.lesson.id, d.day)
        for d in dated([MONDAY, FRIDAY], date(2026, 9, 28), date(2026, 10, 12), exceptions)
    ]
    assert days == [
        ("L1", date(2026, 9, 28)),
        ("L1", date(2026, 10, 5)),
        ("L2", date(2026, 10, 9)),
        ("L2", date(2026, 10, 11)),
        ("L1", date(2026, 10, 12)),
    ]


def test_ical_is_valid_rfc5545_with_folded_escaped_lines() -> None:
    occurrence = DatedLesson(FRIDAY, date(2026, 10, 9))
    long_text = "接收端：" + "、".join(f"第{n}教学点" for n in range(20)) + "; a,b"
    text = calendar(
        "teacher-t1",
        [(occurrence, time(8, 0), time(8, 40), "音乐（3年级）", long_text)],
        datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    )
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    lines = text.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "TZID:Asia/Shanghai" in lines and "TZOFFSETTO:+0800" in lines
    assert "DTSTART;TZID=Asia/Shanghai:20261009T080000" in lines
    assert "UID:L2@2026-10-09-teacher-t1@sanke" in lines
    unfolded = text.replace("\r\n ", "")
    assert "\\; a\\,b" in unfolded and "第19教学点" in unfolded
