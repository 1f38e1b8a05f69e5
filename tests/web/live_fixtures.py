"""Lessons happening now, for live-lesson tests: a plan with hand-made lessons whose
dated occurrences start a few minutes ago (Beijing time), published through the
plan store as the schedule service would."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

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
    if end.astimezone(BEIJING).date() != day:  # near midnight: keep the lesson in one day,
        today = now.astimezone(BEIJING).date()  # the one it is now if it runs now
        if today == day or end <= now:
            end = datetime.combine(day, time(23, 59), BEIJING)
        else:  # running now, begun yesterday: from midnight
            start, day = datetime.combine(today, time(0, 0), BEIJING), today
    lessons = (now_lesson(day), *extra)
    return publish(engine, [(lesson, start, end) for lesson in lessons])


def now_lesson(day: date) -> Lesson:
    """The demo teacher's English lesson to three teaching points, on ``day``."""
    return Lesson("NOW1", day.isoweekday(), 1, TEACHER, f"{TEACHER[:-3]}-out1", "英语", 3, CLASSES)


def publish(engine: Engine, spans: list[tuple[Lesson, datetime, datetime]]) -> list[Occurrence]:
    """Publish one plan of ``(lesson, start, end)``, each on the Beijing day of its start and
    in its own hours (whole minutes), as the schedule service would; returns them."""
    plans = PlanStore(engine)
    lessons = tuple(lesson for lesson, _, _ in spans)
    timetable = Timetable("OPTIMAL", lessons, (), 0.0, 0.0, 0.1, len(lessons), len(lessons))
    plan_id = plans.save(timetable, Parameters())
    laid = []
    for lesson, start, end in spans:
        day = start.astimezone(BEIJING).date()
        key = Occurrence.key(plan_id, lesson.id, day)
        laid.append(Occurrence(key, plan_id, lesson, day, _clock(start), _clock(end)))
    first, last = min(o.day for o in laid), max(o.day for o in laid)
    plans.publish(plan_id, first, last, laid, first)
    return laid
