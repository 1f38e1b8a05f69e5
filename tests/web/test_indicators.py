"""The indicators service over a real event log: incremental refresh, full recompute,
and the figures a report reads (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from kernel.memory_locks import MemoryLocks
from recorder.events import RecordingReady
from recorder.review import Category, NewComment, Visibility
from recorder.review_store import ReviewStore
from reports.store import GROUPS, Filter
from rooms.store import RoomStore
from scheduler.occurrence import Occurrence
from scheduler.store import DirectoryStore
from tests.web.indicator_fixtures import (
    COUNTY,
    MONDAY,
    Clock,
    a_lesson,
    bell,
    publish_week,
    stored,
)
from tests.web.live_fixtures import CLASSES, OTHER_TEACHER, TEACHER
from web import demo
from web.indicators import LOCK, Indicators


@pytest.fixture
def term(engine: Engine, hasher: PasswordHasher) -> tuple[Engine, list[Occurrence]]:
    identity = IdentityService(IdentityStore(engine), hasher)
    demo.install(DirectoryStore(engine), identity, datetime.now(UTC))
    return engine, publish_week(engine)


def test_refreshing_as_the_term_goes_gives_what_a_recompute_from_the_log_gives(
    term: tuple[Engine, list[Occurrence]],
) -> None:
    engine, occurrences = term
    ids = {(o.day, o.state, o.lesson.teacher_id): o.id for o in occurrences}
    monday = ids[(MONDAY, "scheduled", TEACHER)]
    tuesday = ids[(MONDAY + timedelta(days=1), "scheduled", TEACHER)]
    wednesday_cover = ids[(MONDAY + timedelta(days=2), "scheduled", OTHER_TEACHER)]
    rooms = RoomStore(engine)
    clock = Clock()
    indicators = Indicators(engine, clock)

    clock.set(MONDAY, time(8, 0))
    assert indicators.refresh() == 0  # nothing is over yet
    rooms.append(a_lesson(monday, TEACHER, MONDAY, late=5))
    clock.set(MONDAY, time(12, 0))
    assert indicators.refresh() == 1

    # Tuesday: the teacher ends after 20 minutes; refreshed mid-lesson, then after
    tue = MONDAY + timedelta(days=1)
    events = a_lesson(tuesday, TEACHER, tue, end_after=20)
    rooms.append([e for e in events if e.at <= bell(tue, 10)])
    clock.set(tue, time(9, 10))
    indicators.refresh()
    assert tuesday not in {r["lesson"] for r in stored(engine)[0]}  # in progress: not yet
    rooms.append([e for e in events if e.at > bell(tue, 10)])
    clock.set(tue, time(12, 0))
    indicators.refresh()

    # a late inspection of Monday's lesson and a recording; a review of it
    rooms.add_inspection(monday, 7, "li.xunke", bell(MONDAY, 20), 1200,
                         {"教学组织": 4, "音视频质量": 2}, "")  # fmt: skip
    rooms.append([RecordingReady(at=bell(MONDAY, 60), lesson=monday, duration=2400.0,
                                 tracks=("teacher-camera",))])  # fmt: skip
    reviews = ReviewStore(engine)
    reviews.add_comment(monday, 9, "zhou.jiaoyan", NewComment(
        12.0, None, Category.STRENGTH, "导入自然", Visibility.ALL), bell(tue, 200))  # fmt: skip
    reviews.set_scores(monday, 9, "zhou.jiaoyan", {"教学目标": 4, "课堂互动": 5}, bell(tue, 200))

    # Wednesday: the replacement teacher teaches a full lesson
    wed = MONDAY + timedelta(days=2)
    rooms.append(a_lesson(wednesday_cover, OTHER_TEACHER, wed))
    clock.set(wed, time(18, 0))
    indicators.refresh()
    incremental = stored(engine)

    assert indicators.recompute(MONDAY, wed) == 4  # 3 counted + 1 repaired
    assert stored(engine) == incremental
    # the lessons' quality summaries stand for their samples: folding the samples agrees
    assert indicators.recompute(MONDAY, wed, from_samples=True) == 4
    assert stored(engine) == incremental
    assert len(incremental[0]) == 4 and len(incremental[1]) == 12

    flt = Filter(MONDAY, wed, region=COUNTY)
    (total,) = indicators.rows(flt, "total")
    lessons = total.lessons
    assert (lessons["scheduled"], lessons["held"], lessons["repaired"]) == (3, 2, 1)
    assert lessons["rate"] == 0.6667
    assert lessons["not_held"] == {"ended_early": 1}
    assert (lessons["inspected"], lessons["problems"]) == (1, 1)
    assert (lessons["recorded"], lessons["reviewed"], lessons["comments"]) == (1, 1, 1)
    assert lessons["mean_score"] == 4.5
    receivers = total.receivers
    # 9 classroom-lessons; the late one (5 min) on Monday is the only one not on time
    assert (receivers["expected"], receivers["on_time"]) == (9, 8)
    assert receivers["median_loss"] == 0.01
    assert receivers["freeze_free_share"] is not None and receivers["freeze_free_share"] < 1

    by_school = {r.key: r for r in indicators.rows(flt, "school")}
    longtan = by_school["tp-longtan"].receivers  # the third classroom's teaching point
    assert longtan["median_loss"] == 0.08 and longtan["poor"] == 3
    assert by_school["tp-yangshuwan"].receivers["poor"] == 0
    assert by_school["cs-qingxi-shiyan"].lessons["scheduled"] == 2
    patrol = indicators.patrol(flt)
    assert patrol.lessons == 1 and patrol.means == {"教学组织": 4.0, "音视频质量": 2.0}
    week = indicators.rows(flt, "week")
    assert [r.key for r in week] == [MONDAY.isoformat()]

    # a page asks for several groupings at once (GROUPING SETS on PostgreSQL): the same
    together = indicators.rows_by(flt, GROUPS)
    assert together == {group: indicators.rows(flt, group) for group in GROUPS}
    assert together["total"] == [total] and together["school"] == list(by_school.values())


def test_coverage_counts_the_periods_each_class_received_against_its_need(
    term: tuple[Engine, list[Occurrence]],
) -> None:
    engine, occurrences = term
    rooms = RoomStore(engine)
    clock = Clock()
    indicators = Indicators(engine, clock)
    monday = next(o.id for o in occurrences if o.day == MONDAY)
    rooms.append(a_lesson(monday, TEACHER, MONDAY))
    clock.set(MONDAY + timedelta(days=3), time(12, 0))
    indicators.refresh()
    rows = indicators.coverage(Filter(MONDAY, MONDAY + timedelta(days=6), region=COUNTY))
    english = {r.class_id: r for r in rows if r.subject == "英语" and r.class_id in CLASSES}
    assert english, "the demo county needs English in these classes"
    for row in english.values():
        # one week; Monday held, Tuesday's lesson never opened, Wednesday's cover not opened
        assert (row.weeks, row.scheduled, row.delivered) == (1, 3, 1)
        assert row.needed == row.need_per_week
    workload = {w["teacher_id"]: w for w in indicators.workload(
        Filter(MONDAY, MONDAY + timedelta(days=6)))}  # fmt: skip
    assert workload[TEACHER]["taught"] == 1 and workload[TEACHER]["scheduled"] == 2
    assert workload[OTHER_TEACHER]["scheduled"] == 1


async def test_the_refresh_loop_waits_while_another_instance_holds_the_lock(
    term: tuple[Engine, list[Occurrence]],
) -> None:
    engine, occurrences = term
    monday = next(o.id for o in occurrences if o.day == MONDAY)
    RoomStore(engine).append(a_lesson(monday, TEACHER, MONDAY))
    clock = Clock()
    clock.set(MONDAY, time(12, 0))
    locks = MemoryLocks()
    other = await locks.acquire(LOCK, 60)  # another app instance is refreshing
    assert other is not None
    indicators = Indicators(engine, clock)
    indicators.locks = locks
    task = asyncio.create_task(indicators.run(interval=0.02))
    try:
        await asyncio.sleep(0.3)
        assert stored(engine)[0] == []
        await locks.release(other)
        for _ in range(250):  # bounded: 5 s; the refresh's last step is the clock cursor
            if indicators.store.cursor("clock")[1] is not None:
                break
            await asyncio.sleep(0.02)
        assert [row["lesson"] for row in stored(engine)[0]] == [monday]
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
