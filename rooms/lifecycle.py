"""The lesson room's lifecycle: scheduled → open → live → ended → archived.

Pure: every transition takes the time and returns the new room and the events to
publish (STYLE.md §2). ``tick`` is applied on a clock by the lesson service; it
catches up any number of steps, so a server that was down resumes each room in
its right state. ``ended`` happens when the teacher ends the lesson, or ``end_after``
after the bell; a teacher who closes the tab does not end it (they come back).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from kernel.events import Event
from rooms.errors import LessonRefused
from rooms.events import RoomArchived, RoomEnded, RoomLive, RoomOpened


class RoomState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"  # pages may join; the teacher has not published yet
    LIVE = "live"  # the teacher has published
    ENDED = "ended"
    ARCHIVED = "archived"


#: Why a room ended.
BY_TEACHER, BY_TIME, CANCELLED = "teacher", "time", "cancelled"
JOINABLE = frozenset({RoomState.OPEN, RoomState.LIVE})


@dataclass(frozen=True)
class Timing:
    open_before: timedelta = timedelta(minutes=10)  # N: rooms open before the bell
    end_after: timedelta = timedelta(minutes=10)  # M: a lesson not ended closes after the bell
    archive_after: timedelta = timedelta(minutes=5)  # after the end, the room is archived


@dataclass(frozen=True)
class LessonRoom:
    lesson: str
    state: RoomState
    starts_at: datetime  # the bell, UTC
    ends_at: datetime
    opened_at: datetime | None = None
    live_at: datetime | None = None
    ended_at: datetime | None = None
    archived_at: datetime | None = None
    end_reason: str = ""

    @property
    def joinable(self) -> bool:
        return self.state in JOINABLE


def scheduled(lesson: str, starts_at: datetime, ends_at: datetime) -> LessonRoom:
    return LessonRoom(lesson, RoomState.SCHEDULED, starts_at, ends_at)


def _end(
    room: LessonRoom, now: datetime, reason: str, ended_at: datetime | None = None
) -> tuple[LessonRoom, list[Event]]:
    ended = replace(room, state=RoomState.ENDED, ended_at=ended_at or now, end_reason=reason)
    return ended, [RoomEnded(at=now, lesson=room.lesson, reason=reason)]


def tick(room: LessonRoom, now: datetime, timing: Timing) -> tuple[LessonRoom, list[Event]]:
    """Every transition the clock makes due at ``now`` (none if nothing is due)."""
    events: list[Event] = []
    closes_at = room.ends_at + timing.end_after
    while True:
        step: list[Event] = []
        if room.state is RoomState.SCHEDULED and now >= room.starts_at - timing.open_before:
            at = max(room.starts_at - timing.open_before, min(now, closes_at))
            room = replace(room, state=RoomState.OPEN, opened_at=at)
            step = [RoomOpened(at=now, lesson=room.lesson)]
        elif room.state in JOINABLE and now >= closes_at:
            room, step = _end(room, now, BY_TIME, ended_at=closes_at)  # even if seen late
        elif (
            room.state is RoomState.ENDED
            and room.ended_at is not None
            and now >= room.ended_at + timing.archive_after
        ):
            room = replace(room, state=RoomState.ARCHIVED, archived_at=now)
            step = [RoomArchived(at=now, lesson=room.lesson)]
        if not step:
            return room, events
        events += step


def teacher_published(room: LessonRoom, now: datetime) -> tuple[LessonRoom, list[Event]]:
    """The teacher's camera or microphone arrived: an open room goes live."""
    if room.state is not RoomState.OPEN:
        return room, []
    return replace(room, state=RoomState.LIVE, live_at=now), [RoomLive(at=now, lesson=room.lesson)]


def end_by_teacher(room: LessonRoom, now: datetime) -> tuple[LessonRoom, list[Event]]:
    if room.state not in JOINABLE:
        raise LessonRefused("not_live", "this lesson is not in progress")
    return _end(room, now, BY_TEACHER)


def cancel(room: LessonRoom, now: datetime) -> tuple[LessonRoom, list[Event]]:
    """The timetable took the lesson away (superseded or repaired)."""
    if room.state in (RoomState.ENDED, RoomState.ARCHIVED):
        return room, []
    return _end(room, now, CANCELLED)


def check_joinable(room: LessonRoom) -> None:
    """Raise ``LessonRefused`` with the reason a page can show, unless pages may join."""
    if room.state is RoomState.SCHEDULED:
        raise LessonRefused("not_open", "this lesson has not opened yet")
    if room.state in (RoomState.ENDED, RoomState.ARCHIVED):
        code = "cancelled" if room.end_reason == CANCELLED else "ended"
        raise LessonRefused(
            code, f"this lesson has {'been cancelled' if code == 'cancelled' else 'ended'}"
        )
