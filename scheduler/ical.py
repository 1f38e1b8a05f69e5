"""iCalendar (RFC 5545) files of dated lessons: one per teacher, one per receiving classroom.

Times are China Standard Time (UTC+8, no daylight saving), written as floating
local times with a ``TZID`` of Asia/Shanghai, which calendar apps understand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time

from scheduler.calendar import DatedLesson

_PRODID = "-//Sanke//三课 timetable//ZH"
_VTIMEZONE = (  # RFC 5545 §3.6.5: a TZID used must be defined; China has one offset
    "BEGIN:VTIMEZONE",
    "TZID:Asia/Shanghai",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0800",
    "TZOFFSETTO:+0800",
    "TZNAME:CST",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """RFC 5545 §3.1: lines longer than 75 octets are folded."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return out


def calendar(
    name: str,
    events: Iterable[tuple[DatedLesson, time, time, str, str]],
    stamp: datetime,
) -> str:
    """A VCALENDAR; each event: occurrence, start, end, summary, description."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_PRODID}",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_escape(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
        *_VTIMEZONE,
    ]
    for occurrence, start, end, summary, description in events:
        day = occurrence.day.strftime("%Y%m%d")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{occurrence.key}-{_escape(name)}@sanke",
            f"DTSTAMP:{stamp.strftime('%Y%m%dT%H%M%SZ')}",
            f"DTSTART;TZID=Asia/Shanghai:{day}T{start.strftime('%H%M%S')}",
            f"DTEND;TZID=Asia/Shanghai:{day}T{end.strftime('%H%M%S')}",
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(description)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(folded for line in lines for folded in _fold(line)) + "\r\n"
