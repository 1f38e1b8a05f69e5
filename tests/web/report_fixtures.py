"""Known lesson facts in the demo county, for the report pages' tests: eight lessons over
two townships and two weeks, whose figures are worked out by hand below.

石门镇 (349921101): 刘芳 of 石门镇中心小学 teaches 英语 to 杨树湾 and 龙潭, five lessons,
all held; 龙潭's reception is poor in two of them (a chronic problem) and it is late once.
柳河乡 (349921102): 吴磊 of 柳河乡中心小学 teaches 英语 to 河口, three lessons: one held, one
whose teacher never came, one whose room never opened.

开课率 6 / 8 = 75.0 %; 石门镇 5 / 5 = 100.0 %, 柳河乡 1 / 3 = 33.3 %.
Receivers on time 11 / 13 = 84.6 %. Week A 4 / 4 = 100.0 %, week B 2 / 4 = 50.0 %.
Patrolled 2 / 8 = 25.0 %, one inspection with a problem (音视频质量 2).
Reviewed: one lesson, 3 comments, mean score 4.5.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from reports.facts import LessonFacts, Reason, ReceiverFacts, Status
from reports.store import FactStore, Research
from web.pages import BEIJING

SHIMEN, LIUHE = "349921101", "349921102"
LIU_FANG, WU_LEI = "cs-shimen-t1", "cs-liuhe-t1"
PERIOD = 2400.0


def days(today: date) -> tuple[date, date]:
    """Two days a week apart, both within the dashboard's default four weeks."""
    return today - timedelta(days=9), today - timedelta(days=2)


def receiver(point: str, region: str, grade: int = 3, *, state: str = "good") -> ReceiverFacts:
    """A classroom of teaching point ``point``: ``good``, ``poor``, ``late`` or ``absent``."""
    joined = state != "absent"
    poor = state == "poor"
    figures: dict[str, Any] = {
        "joined": joined, "on_time": state in ("good", "poor"),
        "join_delay_seconds": None if not joined else 300.0 if state == "late" else 0.0,
        "present_seconds": PERIOD if joined else 0.0, "expected_seconds": PERIOD,
        "video_minutes": 40 if joined else 0, "frozen_minutes": 8 if poor else 0,
        "freezes": 6 if poor else 0, "freeze_seconds": 12.0 if poor else 0.0,
        "median_loss": None if not joined else 0.08 if poor else 0.01,
        "median_rtt_ms": None if not joined else 450.0 if poor else 60.0, "poor": poor,
    }  # fmt: skip
    return ReceiverFacts(f"{point}-r1", point, region, (f"{point}-g{grade}",), **figures)


def lesson(
    name: str, day: date, clock: time, teacher: str, school: str, region: str,
    receivers: tuple[ReceiverFacts, ...], *, reason: str = "",
    scores: dict[str, float] | None = None, recorded: bool = False,
) -> LessonFacts:  # fmt: skip
    held = not reason
    scores = scores or {}
    return LessonFacts(
        lesson=name, day=day, starts_at=datetime.combine(day, clock, BEIJING).astimezone(UTC),
        teacher_id=teacher, subject="英语", grade=3, school_id=school, region=region,
        status=Status.HELD if held else Status.NOT_HELD, reason=reason, repair=False,
        period_seconds=PERIOD, teacher_seconds=PERIOD if held else 0.0, ended_early=False,
        recorded=recorded, receivers=receivers, inspections=1 if scores else 0,
        inspection_scores=scores, problems=int(any(v <= 2 for v in scores.values())),
    )  # fmt: skip


def known_facts(today: date) -> list[LessonFacts]:
    a, b = days(today)
    yang, long_ = "tp-yangshuwan", "tp-longtan"

    def shimen(name: str, day: date, clock: time, longtan: str, **kw: Any) -> LessonFacts:
        points = (receiver(yang, SHIMEN), receiver(long_, SHIMEN, state=longtan))
        return lesson(name, day, clock, LIU_FANG, "cs-shimen", SHIMEN, points, **kw)

    def liuhe(name: str, day: date, clock: time, state: str, **kw: Any) -> LessonFacts:
        points = (receiver("tp-hekou", LIUHE, state=state),)
        return lesson(name, day, clock, WU_LEI, "cs-liuhe", LIUHE, points, **kw)

    return [
        shimen("S1", a, time(8, 0), "poor", recorded=True,
               scores={"教学组织": 4, "音视频质量": 2}),
        shimen("S2", a, time(10, 40), "poor"),
        shimen("S3", a, time(14, 0), "good"),
        shimen("S4", b, time(8, 0), "late"),
        shimen("S5", b, time(10, 40), "good"),
        liuhe("H1", a, time(8, 55), "good", recorded=True,
              scores={"教学组织": 5, "音视频质量": 4}),
        liuhe("H2", b, time(8, 55), "good", reason=Reason.TEACHER_ABSENT.value),
        liuhe("H3", b, time(14, 5), "absent", reason=Reason.ROOM_NOT_OPENED.value),
    ]  # fmt: skip


def install_facts(store: FactStore, today: date) -> list[LessonFacts]:
    facts = known_facts(today)
    # a teacher absent sends no video: the classroom that waited for him measured none
    facts = [f if f.lesson != "H2" else _no_video(f) for f in facts]
    store.save(facts, {"S1": Research(comments=3, score_sum=9, score_count=2, sessions=1)},
               datetime.now(UTC))  # fmt: skip
    return facts


def _no_video(f: LessonFacts) -> LessonFacts:
    quiet = tuple(replace(r, video_minutes=0, median_loss=None, median_rtt_ms=None)
                  for r in f.receivers)  # fmt: skip
    return replace(f, receivers=quiet)


def today_in_beijing() -> date:
    return datetime.now(BEIJING).date()
