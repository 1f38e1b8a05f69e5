"""Lessons happening now, for live-lesson tests: a plan with hand-made lessons whose
dated occurrences start a few minutes ago (Beijing time), published through the
plan store as the schedule service would."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine

from scheduler.occurrence import Occurrence
from scheduler.plan import Lesson, Parameters, Timetable
from scheduler.plan_store import PlanStore
from web.pages import BEIJING

TEACHER = "cs-qingxi-shiyan-t1"  # 王晓燕, the demo teacher account wang.xiaoyan
CLASSES = ("tp-yangshuwan-g3", "tp-taoyuan-g3", "tp-longtan-g3")
CLASSROOMS = ("tp-yangshuwan-r1", "tp-taoyuan-r1", "tp-longtan-r1")
OTHER_TEACHER = "cs-shimen-t2"  # 赵敏, music: not a master teacher


def _clock(at: datetime) -> time:
    return at.astimezone(BEIJING).time().replace(second=0, microsecond=0)


def lessons_now(
    engine: Engine,
    now: datetime | None = None,
    *,
    started_minutes_ago: int = 5,
    minutes: int = 40,
    extra: tuple[Lesson, ...] = (),
) -> list[Occurrence]:
    """Publish a plan whose lessons run today from a few minutes ago; returns them."""
    now = now or datetime.now(UTC)
    start = now - timedelta(minutes=started_minutes_ago)
    end = start + timedelta(minutes=minutes)
    day = start.astimezone(BEIJING).date()
    if end.astimezone(BEIJING).date() != day:  # near midnight: keep the lesson in one day
        end = datetime.combine(day, time(23, 59), BEIJING)
    lessons = (
        Lesson("NOW1", day.isoweekday(), 1, TEACHER, f"{TEACHER[:-3]}-out1", "英语", 3, CLASSES),
        *extra,
    )
    plans = PlanStore(engine)
    timetable = Timetable("OPTIMAL", lessons, (), 0.0, 0.0, 0.1, len(lessons), len(lessons))
    plan_id = plans.save(timetable, Parameters())
    begins, ends = _clock(start), _clock(end)
    laid = [
        Occurrence(Occurrence.key(plan_id, le.id, day), plan_id, le, day, begins, ends)
        for le in lessons
    ]
    plans.publish(plan_id, day, day, laid, day)
    return laid
