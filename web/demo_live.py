"""Lessons happening now for ``sanke demo``, with simulated people in their rooms.

Whatever the hour or the weekday, the demo shows live lessons: :func:`live_lessons`
copies two lessons of the published plan to today, from five minutes ago, and
:func:`run_demo_classrooms` joins their rooms with synthetic publishers: the teacher
(camera in two layers, microphone, a courseware slide) and every receiving classroom
(its camera), as the real pages would.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from identity.roles import Role
from media.grants import sign_grant
from media.synthetic import CLASSROOM_FEEDS, TEACHER_FEEDS, Feed, SyntheticPublisher
from rooms.lesson import lesson_view
from rooms.media_grants import LIFETIME, media_grant
from scheduler.model import ClassroomRole, Directory
from scheduler.occurrence import Occurrence
from scheduler.plan import Lesson
from scheduler.plan_store import StoredPlan
from web.pages import BEIJING

logger = logging.getLogger(__name__)

STARTED_AGO = timedelta(minutes=5)
LENGTH = timedelta(minutes=40)
RECEIVERS = (3, 2)  # receiving classrooms wanted in the first and the second demo lesson
RENEW_EVERY = LIFETIME - timedelta(minutes=15)
LESSON_OVER = frozenset({"lesson_ended", "lesson_cancelled"})  # how web.live_lessons closes


def live_lessons(
    directory: Directory,
    plan: StoredPlan,
    now: datetime,
    prefer: tuple[str, str] | None = None,
) -> list[Occurrence]:
    """Two lessons of ``plan`` moved to today (Beijing), started five minutes ago.

    Picked for 3 and 2 receiving classrooms, no classroom or teacher in both; the first
    one, if it can, taught by ``prefer``'s teacher to its classroom (the demo accounts),
    so a newcomer can take over the teacher's or the classroom's seat. The lesson
    ids (``demo1at0955``: number and start) differ from the plan's own, so the dated ids
    never collide with real ones; a restart later the same day makes new lessons, one in
    the same minute the same ones.
    """
    local = now.astimezone(BEIJING).replace(second=0, microsecond=0)
    day = local.date()
    start = max(local - STARTED_AGO, datetime.combine(day, time.min, BEIJING))
    end = min(start + LENGTH, datetime.combine(day, time.max, BEIJING))  # one day only
    room_of = {c.id: c.classroom_id for c in directory.classes}

    def rooms(lesson: Lesson) -> set[str]:
        return {room_of[c] for c in lesson.class_ids if c in room_of}

    lessons = sorted(plan.timetable.lessons, key=lambda le: le.id)
    tag = "demo"
    while any(le.id.startswith(tag) for le in lessons):
        tag = "x" + tag
    chosen: list[Lesson] = []
    for wanted in RECEIVERS:
        taken = set().union(*(rooms(le) for le in chosen))
        free = [le for le in lessons if le.teacher_id not in {c.teacher_id for c in chosen}]
        if free:
            chosen.append(
                min(
                    free,
                    key=lambda le: (
                        not chosen and prefer is not None and le.teacher_id != prefer[0],
                        not chosen and prefer is not None and prefer[1] not in rooms(le),
                        bool(rooms(le) & taken),
                        len(rooms(le)) < 2,
                        abs(len(rooms(le)) - wanted),
                    ),
                )
            )
    result = []
    for n, lesson in enumerate(chosen, start=1):
        demo = replace(lesson, id=f"{tag}{n}at{start:%H%M}", day=day.isoweekday())
        key = Occurrence.key(plan.id, demo.id, day)
        result.append(Occurrence(key, plan.id, demo, day, start.time(), end.time()))
    return result


def signalling_url(base_url: str) -> str:
    """The SFU's WebSocket signalling URL of the app at ``base_url`` (http://host:port)."""
    return base_url.rstrip("/").replace("https://", "wss://").replace("http://", "ws://") + (
        "/media/ws"
    )


async def run_demo_classrooms(
    ws_url: str,
    secret: str,
    lessons: list[Occurrence],
    directory: Directory,
    stop: asyncio.Event,
    *,
    renew_every: timedelta = RENEW_EVERY,
) -> None:
    """Simulate the teacher and the receiving classrooms of ``lessons`` until ``stop``.

    Each joins with the grant of its role, renewed every ``renew_every`` by rejoining;
    a publisher gives up when its room closes (the lesson ended) or a real page takes
    its identity over.
    """
    names = _classroom_names(directory)
    publishers: list[SyntheticPublisher] = []
    for occurrence in lessons:
        view = lesson_view(occurrence, directory, BEIJING)
        seats: list[tuple[str, Role, str, Sequence[Feed]]] = [
            (view.teacher_identity, Role.TEACHER, view.teacher_name, TEACHER_FEEDS)
        ]
        seats += [
            (r.identity, Role.RECEIVING_CLASSROOM, names.get(r.classroom_id, r.school_name),
             CLASSROOM_FEEDS)
            for r in view.receivers
        ]  # fmt: skip
        for identity, role, name, feeds in seats:
            token = functools.partial(_token, secret, view.id, identity, role, name)
            publisher = SyntheticPublisher(ws_url, token, name, feeds, final_codes=LESSON_OVER)
            publisher.start()
            publishers.append(publisher)
        logger.info(
            "Demo(%s) simulates %s teaching %s to %s",
            view.id, view.teacher_name, view.subject, "、".join(s[2] for s in seats[1:]),
        )  # fmt: skip
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), renew_every.total_seconds())
            if not stop.is_set():
                for publisher in publishers:
                    publisher.rejoin()  # with a fresh grant
    finally:
        await asyncio.gather(*(p.close() for p in publishers))
        logger.info("Demo: stopped %d simulated participants", len(publishers))


def _token(secret: str, room: str, identity: str, role: str, name: str) -> str:
    now = datetime.now(UTC)
    return sign_grant(media_grant(room, identity, role, name, now), secret, now)


def _classroom_names(directory: Directory) -> dict[str, str]:
    """``杨树湾教学点 1 号教室``: the school and the classroom's number in it."""
    schools = {s.id: s.name for s in directory.schools}
    numbers: Counter[str] = Counter()
    names = {}
    for room in sorted(directory.classrooms, key=lambda c: c.id):
        if room.role is ClassroomRole.RECEIVING:
            numbers[room.school_id] += 1
            school = schools.get(room.school_id, room.school_id)
            names[room.id] = f"{school} {numbers[room.school_id]} 号教室"
    return names
