"""Events of the lesson lifecycle that rooms act on.

``lesson.scheduled`` is emitted when a plan is published (or repaired) for each
dated lesson it adds; ``lesson.cancelled`` for each one it takes away. Rooms are
opened from the stored dated lessons; the events tell live pages and other app
instances that the timetable changed. The key is the dated lesson's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class LessonScheduled(Event):
    TYPE = "lesson.scheduled"

    lesson: str  # dated lesson id, P{plan}-{weekly lesson}-{yyyymmdd}
    plan_id: int
    day: str  # ISO date, Beijing
    starts_at: datetime  # UTC
    ends_at: datetime
    teacher_id: str
    output_classroom_id: str
    subject: str
    grade: int
    class_ids: list[str]
    repair: bool = False  # added by a repair around an absent teacher

    @property
    def key(self) -> str:
        return self.lesson


@dataclass(frozen=True, kw_only=True)
class LessonCancelled(Event):
    TYPE = "lesson.cancelled"

    lesson: str
    reason: str  # superseded (a newer plan was published) or repair

    @property
    def key(self) -> str:
        return self.lesson
