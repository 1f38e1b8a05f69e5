"""The demo's lessons happening now, stored and filled with simulated people."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from rooms.lesson import lesson_view
from scheduler.greedy import greedy
from scheduler.instance import Instance
from scheduler.model import Directory
from scheduler.plan import Parameters, Timetable
from scheduler.plan_store import PlanStore, StoredPlan
from scheduler.store import DirectoryStore
from tests.media.conftest import MediaServer, media_server  # noqa: F401 (a fixture)
from web.demo import county
from web.demo_live import live_lessons, run_demo_classrooms, signalling_url
from web.pages import BEIJING

MONDAY_10AM = datetime(2026, 11, 23, 10, 0, 30, tzinfo=BEIJING)


def demo_plan(
    directory: Directory, plan_id: int = 7, timetable: Timetable | None = None
) -> StoredPlan:
    timetable = timetable or greedy(Instance(directory, Parameters()))
    return StoredPlan(
        plan_id, "solve", None, "", Parameters(), date(2026, 9, 1), date(2027, 1, 20), timetable
    )


@pytest.mark.parametrize(
    "now",
    [
        MONDAY_10AM,
        datetime(2026, 11, 29, 3, 17, tzinfo=BEIJING),  # a Sunday night
        datetime(2026, 11, 24, 0, 2, tzinfo=BEIJING),  # just after midnight
        datetime(2026, 11, 24, 23, 58, 59, tzinfo=BEIJING),  # just before
        datetime(2026, 7, 30, 12, 0, tzinfo=UTC),  # summer holidays, 20:00 in Beijing
    ],
)
def test_two_lessons_are_live_now_with_several_classrooms_each(now: datetime) -> None:
    directory = county()
    plan = demo_plan(directory)
    lessons = live_lessons(directory, plan, now)
    assert len(lessons) == 2
    today = now.astimezone(BEIJING).date()
    views = [lesson_view(o, directory, BEIJING) for o in lessons]
    for occurrence, view in zip(lessons, views, strict=True):
        assert occurrence.day == today and occurrence.lesson.day == today.isoweekday()
        assert view.starts_at <= now < view.ends_at
        assert view.ends_at - view.starts_at <= timedelta(minutes=40)
        assert occurrence.id == f"P7-{occurrence.lesson.id}-{today:%Y%m%d}"
        assert occurrence.lesson.id.startswith("demo")
    assert [len(v.receivers) for v in views] == [3, 2]  # the demo county has such lessons
    first, second = ({r.classroom_id for r in v.receivers} for v in views)
    assert not first & second and views[0].teacher_id != views[1].teacher_id
    if now == MONDAY_10AM:
        assert [o.start.isoformat() for o in lessons] == ["09:55:00"] * 2
        assert [o.end.isoformat() for o in lessons] == ["10:35:00"] * 2
    assert live_lessons(directory, plan, now) == lessons  # pure


def test_demo_lesson_ids_never_collide_with_the_plan_s_own() -> None:
    directory = county()
    real = greedy(Instance(directory, Parameters()))
    sneaky = tuple(
        replace(le, id=f"demo{n}at0955") for n, le in enumerate(real.lessons[:2], start=1)
    )
    plan = demo_plan(directory, timetable=replace(real, lessons=real.lessons + sneaky))
    lessons = live_lessons(directory, plan, MONDAY_10AM)
    own = {le.id for le in plan.timetable.lessons}
    assert len(lessons) == 2 and not own & {o.lesson.id for o in lessons}
    assert all(len(o.lesson.id) <= 16 for o in lessons)  # the column's width


def test_storing_them_twice_adds_them_once(engine: Engine) -> None:
    directory = county()
    DirectoryStore(engine).replace(directory)
    plans = PlanStore(engine)
    plan_id = plans.save(greedy(Instance(directory, Parameters())), Parameters())
    plan = plans.get(plan_id)
    assert plan is not None
    lessons = live_lessons(directory, plan, MONDAY_10AM)
    assert plans.add_occurrences(lessons) == lessons
    assert plans.add_occurrences(lessons + lessons) == []
    day = MONDAY_10AM.date()
    assert plans.occurrences(day, day) == lessons
    later = live_lessons(directory, plan, MONDAY_10AM + timedelta(hours=2))  # a restart
    assert plans.add_occurrences(later) == later
    assert len(plans.occurrences(day, day)) == 4


def test_the_signalling_url_is_the_app_s() -> None:
    assert signalling_url("http://127.0.0.1:8000/") == "ws://127.0.0.1:8000/media/ws"
    assert signalling_url("https://sanke.example.cn") == "wss://sanke.example.cn/media/ws"


@pytest.mark.slow
async def test_the_demo_fills_the_rooms_and_leaves_when_stopped(
    media_server: MediaServer,  # noqa: F811
) -> None:
    directory = county()
    lessons = live_lessons(directory, demo_plan(directory), datetime.now(UTC))
    views = [lesson_view(o, directory, BEIJING) for o in lessons]
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_demo_classrooms(
            media_server.ws_url, media_server.secret, lessons, directory, stop,
            renew_every=timedelta(seconds=3),
        )
    )  # fmt: skip
    rooms = media_server.sfu.rooms
    expected = {
        view.id: {f"{view.teacher_identity}/{s}" for s in ("camera", "microphone", "screen")}
        | {f"{r.identity}/camera" for r in view.receivers}
        for view in views
    }
    try:
        async with asyncio.timeout(15):
            while {v.id: set(rooms[v.id].sources) if v.id in rooms else set() for v in views} != (
                expected
            ):
                await asyncio.sleep(0.1)
        teacher = views[0].teacher_identity
        assert sorted(rooms[views[0].id].sources[f"{teacher}/camera"].layers) == ["high", "low"]
        first = rooms[views[0].id].participants
        assert first[teacher].grant.name == views[0].teacher_name
        assert first[teacher].grant.role == "teacher"
        classroom = first[views[0].receivers[0].identity].grant
        assert classroom.role == "receiving_classroom"
        assert classroom.can_publish == {"camera"}
        assert classroom.name.endswith(" 1 号教室") and classroom.name.startswith(
            views[0].receivers[0].school_name
        )
        session, expires = first[teacher].session, first[teacher].grant.expires_at
        async with asyncio.timeout(10):  # the grants are renewed by rejoining
            while rooms[views[0].id].participants[teacher].session == session:
                await asyncio.sleep(0.1)
        assert rooms[views[0].id].participants[teacher].grant.expires_at > expires
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert not any(v.id in rooms for v in views)  # everyone left
