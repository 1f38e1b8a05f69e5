"""Events of the lesson lifecycle: the timetable's, the rooms', the interaction's.

``lesson.scheduled`` is emitted when a plan is published (or repaired) for each
dated lesson it adds; ``lesson.cancelled`` for each one it takes away. Rooms are
opened from the stored dated lessons; the events tell live pages and other app
instances that the timetable changed. The key is the dated lesson's id, which is
also the room's id in the SFU, so ``*/<lesson>`` follows everything about one lesson.
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


@dataclass(frozen=True, kw_only=True)
class _LessonEvent(Event):
    lesson: str

    @property
    def key(self) -> str:
        return self.lesson


@dataclass(frozen=True, kw_only=True)
class RoomOpened(_LessonEvent):
    TYPE = "room.opened"


@dataclass(frozen=True, kw_only=True)
class RoomLive(_LessonEvent):
    TYPE = "room.live"


@dataclass(frozen=True, kw_only=True)
class RoomEnded(_LessonEvent):
    TYPE = "room.ended"

    reason: str  # teacher | time | cancelled


@dataclass(frozen=True, kw_only=True)
class RoomArchived(_LessonEvent):
    TYPE = "room.archived"


@dataclass(frozen=True, kw_only=True)
class ControlsChanged(_LessonEvent):
    """The teacher's controls or the hands changed; ``action`` says what happened."""

    TYPE = "room.controls"

    action: str  # raise_hand | lower_hand | call_on | end_call | mute_all | ...
    by: str  # the identity that acted
    target: str = ""  # the classroom acted on, if any
    called_on: str | None = None
    hands: list[str] | None = None
    muted_all: bool = False
    interaction_disabled: bool = False
    paused: bool = False


@dataclass(frozen=True, kw_only=True)
class ChatPosted(_LessonEvent):
    TYPE = "room.chat"

    identity: str
    name: str
    text: str


@dataclass(frozen=True, kw_only=True)
class AttendanceAlert(_LessonEvent):
    """A receiving classroom had not joined ``grace`` after the bell (or has come since)."""

    TYPE = "attendance.alert"

    identity: str
    active: bool


@dataclass(frozen=True, kw_only=True)
class InspectionRecorded(_LessonEvent):
    TYPE = "inspection.recorded"

    inspection_id: int
    inspector: str
    moment_seconds: int  # into the lesson, from the bell
    scores: dict[str, int]
    notes: str
