"""A week of lessons with a real event log, for the indicators' tests: published through
the plan store (Wednesday repaired to another teacher) and logged as the live service
logs lessons."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, select

from kernel.events import Event, encode_event
from media.events import ParticipantJoined, ParticipantLeft
from reports.tables import indicator_lessons, indicator_receivers
from rooms.events import RoomEnded, RoomLive, RoomOpened
from rooms.quality_events import QualitySample
from rooms.quality_summary import summaries
from scheduler.occurrence import Occurrence
from scheduler.plan import Lesson, Parameters, Timetable
from scheduler.plan_store import PlanStore
from tests.web.live_fixtures import CLASSES, CLASSROOMS, OTHER_TEACHER, TEACHER
from web.pages import BEIJING

MONDAY = date(2026, 11, 16)
BELL, END = time(9, 0), time(9, 40)
COUNTY = "349921"  # the demo county


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def set(self, day: date, clock: time) -> None:
        self.at = datetime.combine(day, clock, BEIJING).astimezone(UTC)


def bell(day: date, minutes: float = 0) -> datetime:
    return datetime.combine(day, BELL, BEIJING).astimezone(UTC) + timedelta(minutes=minutes)


def publish_week(engine: Engine) -> list[Occurrence]:
    """英语, period 1, Monday to Wednesday; then Wednesday repaired to another teacher."""
    plans = PlanStore(engine)
    days = [MONDAY + timedelta(days=i) for i in range(3)]
    lessons = tuple(
        Lesson(f"L{d.isoweekday()}", d.isoweekday(), 1, TEACHER, f"{TEACHER[:-3]}-out1",
               "英语", 3, CLASSES)
        for d in days
    )  # fmt: skip
    plan = plans.save(Timetable("OPTIMAL", lessons, (), 0, 0, 0.1, 3, 3), Parameters())
    laid = [Occurrence(Occurrence.key(plan, le.id, d), plan, le, d, BELL, END)
            for le, d in zip(lessons, days, strict=True)]  # fmt: skip
    plans.publish(plan, days[0], days[-1], laid, days[0])
    wednesday = days[2]
    cover = Lesson("R3", 3, 1, OTHER_TEACHER, "cs-shimen-out1", "英语", 3, CLASSES)
    repair = plans.save(
        Timetable("OPTIMAL", (cover,), (), 0, 0, 0.1, 1, 1), Parameters(), kind="repair"
    )
    plans.apply_repair(
        wednesday, wednesday, [(TEACHER, 3, 1)],
        [Occurrence(Occurrence.key(repair, "R3", wednesday), repair, cover, wednesday, BELL,
                    END)],
    )  # fmt: skip
    return plans.occurrences(days[0], days[-1], include_cancelled=True)


def joined(lesson: str, identity: str, at: datetime) -> Event:
    role = "teacher" if identity.startswith("teacher:") else "receiving_classroom"
    return ParticipantJoined(at=at, room=lesson, identity=identity, role=role, hidden=False)


def left(lesson: str, identity: str, at: datetime) -> Event:
    return ParticipantLeft(at=at, room=lesson, identity=identity, reason="left")


def sample(lesson: str, identity: str, at: datetime, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "seconds": 30.0, "video_kbps": 800.0, "audio_kbps": 32.0, "sent_kbps": 0.0,
        "packets": 900, "loss": 0.01, "rtt_ms": 50.0, "jitter_ms": 4.0, "fps": 25.0,
        "freezes": 0, "freeze_seconds": 0.0,
        "inbound": [{"mid": "0", "kind": "video", "source": "camera", "kbps": 800.0}],
    }  # fmt: skip
    values.update(fields)
    return QualitySample(at=at, lesson=lesson, identity=identity, **values)


def a_lesson(lesson: str, teacher: str, day: date, *, end_after: float | None = None,
             late: int = 0) -> list[Event]:  # fmt: skip
    """A lesson as the live service logs it: opened, teacher in and live, classrooms in
    (the last one ``late`` minutes late), quality samples, ended."""
    teacher_id = f"teacher:{teacher}"
    rooms = [f"classroom:{c}" for c in CLASSROOMS]
    events: list[Event] = [
        RoomOpened(at=bell(day, -10), lesson=lesson),
        joined(lesson, teacher_id, bell(day, -3)),
        RoomLive(at=bell(day, -2), lesson=lesson),
        joined(lesson, rooms[0], bell(day, -2)),
        joined(lesson, rooms[1], bell(day, 1)),
        joined(lesson, rooms[2], bell(day, late)),
    ]
    stop = end_after if end_after is not None else 40
    for minute in range(1, int(stop)):
        for i, room in enumerate(rooms):
            frozen = i == 2 and minute % 10 == 0  # the third classroom freezes now and then
            events.append(sample(lesson, room, bell(day, minute), freezes=int(frozen),
                                 freeze_seconds=0.5 if frozen else 0.0,
                                 loss=0.08 if i == 2 else 0.01))  # fmt: skip
    end = bell(day, stop)
    quality = [(e.type_name, e.at, json.loads(encode_event(e))["data"]) for e in events
               if isinstance(e, QualitySample)]  # fmt: skip
    events += summaries(lesson, quality, end)  # logged with the end, as LiveLessons does
    if end_after is not None:
        events += [left(lesson, teacher_id, end),
                   RoomEnded(at=end, lesson=lesson, reason="teacher")]  # fmt: skip
    else:
        events += [RoomEnded(at=end, lesson=lesson, reason="time")]
    events += [left(lesson, r, bell(day, stop)) for r in rooms]
    return sorted(events, key=lambda e: e.at)


def stored(engine: Engine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with engine.connect() as conn:
        lessons = [
            {k: v for k, v in r._mapping.items() if k != "updated_at"}
            for r in conn.execute(select(indicator_lessons).order_by(indicator_lessons.c.lesson))
        ]
        receivers = [
            dict(r._mapping)
            for r in conn.execute(
                select(indicator_receivers).order_by(
                    indicator_receivers.c.lesson, indicator_receivers.c.classroom_id
                )
            )
        ]
    return lessons, receivers
