"""What the live-lessons service keeps in memory about one unfinished room, and how a
room's attendance and chat are rebuilt from the lesson's event log (a restarted server,
another app instance taking over the clock)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rooms.attendance import Attendance
from rooms.controls import Controls
from rooms.events import ChatPosted
from rooms.lesson import LessonView
from rooms.lifecycle import LessonRoom
from rooms.quality import QualityMonitor

CHAT_KEPT = 50


@dataclass
class LiveRoom:
    """What the service keeps in memory about one unfinished room."""

    room: LessonRoom
    controls: Controls
    view: LessonView
    attendance: Attendance
    quality: QualityMonitor
    chat: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=CHAT_KEPT))
    teacher_present: bool = False
    recording_failed: bool = False  # the recorder (its own process) reported a failure lately


PRESENCE = ("media.joined", "media.left")
ATTENDANCE = (*PRESENCE, "attendance.alert")


def attendance_from_log(view: LessonView, log: list[dict[str, Any]]) -> Attendance:
    """The lesson's attendance from its stored joins, leaves and alerts (teacher and
    classrooms; hidden watchers are not attendance)."""
    attendance = Attendance(view.id, view.starts_at, tuple(r.identity for r in view.receivers))
    watched = {view.teacher_identity, *attendance.expected}
    for doc in log:
        identity = doc["data"]["identity"]
        if identity not in watched:
            continue
        if doc["type"] == "attendance.alert":  # raised already: not again by a new clock
            set_alerted(attendance, identity, doc["data"]["active"])
        elif doc["type"] == "media.joined":
            attendance.joined(identity, doc["at"])
        else:
            attendance.left(identity, doc["at"])
    return attendance


def set_alerted(attendance: Attendance, identity: str, active: bool) -> None:
    if active:
        attendance.alerted.add(identity)
    else:
        attendance.alerted.discard(identity)


def chat_line(event: ChatPosted) -> dict[str, Any]:
    return {"identity": event.identity, "name": event.name, "text": event.text,
            "at": event.at.isoformat()}  # fmt: skip


def counted(live: LiveRoom, identity: str) -> bool:
    return identity == live.view.teacher_identity or identity in live.attendance.expected


def day_of(lesson: str) -> date | None:
    """The date inside a dated lesson id ``P{plan}-{lesson}-{yyyymmdd}``."""
    try:
        return datetime.strptime(lesson.rsplit("-", 1)[-1], "%Y%m%d").date()
    except ValueError:
        return None
