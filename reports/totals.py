"""Indicators from the stored sums: rates, shares, medians of medians, chronic problems.

Pure: rows of sums (:class:`reports.store.FactStore`) in, figures out. A rate whose
denominator is zero is ``None`` ("no data"), never 0 or 100 %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def _rate(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


@dataclass(frozen=True)
class LessonTotals:
    """开课率 and what goes with it, for one group of lessons."""

    scheduled: int  # lessons over and counted (held + not held)
    held: int
    rate: float | None  # 开课率
    not_held: dict[str, int]  # by reason
    repaired: int  # absences a repair covered (the replaced lessons)
    teacher_hours: float
    inspected: int
    inspected_share: float | None
    problems: int  # inspections with an item scored 2 or lower
    recorded: int
    reviewed: int
    comments: int
    mean_score: float | None  # over every rubric score given
    sessions: int


@dataclass(frozen=True)
class ReceiverTotals:
    """Attendance and quality of the receiving classrooms of one group of lessons."""

    expected: int  # classroom-lessons
    on_time: int
    on_time_rate: float | None
    joined_rate: float | None
    present_share: float | None  # minutes present / minutes of the lessons
    present_minutes: float
    video_minutes: int
    freeze_free_share: float | None  # minutes without a freeze / minutes with video
    freezes_per_hour: float | None
    median_loss: float | None  # median of the lessons' medians
    median_rtt_ms: float | None
    poor: int  # classroom-lessons below the quality bar
    poor_share: float | None  # of those measured
    chronic: bool = False


@dataclass(frozen=True)
class Chronic:
    """When a teaching point's quality is a chronic problem, not bad luck."""

    min_lessons: int = 5  # measured lessons in the period
    poor_share: float = 0.3  # of them below the quality bar


def lesson_totals(row: Mapping[str, Any], reasons: Mapping[str, int]) -> LessonTotals:
    scheduled, held = int(row["scheduled"]), int(row["held"])
    return LessonTotals(
        scheduled=scheduled,
        held=held,
        rate=_rate(held, scheduled),
        not_held=dict(sorted(reasons.items())),
        repaired=int(row["repaired"]),
        teacher_hours=round(float(row["teacher_seconds"]) / 3600, 2),
        inspected=int(row["inspected"]),
        inspected_share=_rate(int(row["inspected"]), scheduled),
        problems=int(row["problems"]),
        recorded=int(row["recorded"]),
        reviewed=int(row["reviewed"]),
        comments=int(row["comments"]),
        mean_score=_rate(int(row["score_sum"]), int(row["score_count"]), 2),
        sessions=int(row["sessions"]),
    )


def receiver_totals(
    row: Mapping[str, Any] | None,
    medians: tuple[float | None, float | None] = (None, None),
    chronic: Chronic = Chronic(),
) -> ReceiverTotals:
    row = row or {}
    expected = int(row.get("expected") or 0)
    video = int(row.get("video_minutes") or 0)
    measured = int(row.get("measured") or 0)
    poor = int(row.get("poor") or 0)
    loss, rtt = medians
    return ReceiverTotals(
        expected=expected,
        on_time=int(row.get("on_time") or 0),
        on_time_rate=_rate(int(row.get("on_time") or 0), expected),
        joined_rate=_rate(int(row.get("joined") or 0), expected),
        present_share=_rate(
            float(row.get("present_seconds") or 0), float(row.get("expected_seconds") or 0)
        ),
        present_minutes=round(float(row.get("present_seconds") or 0) / 60, 1),
        video_minutes=video,
        freeze_free_share=_rate(video - int(row.get("frozen_minutes") or 0), video),
        freezes_per_hour=_rate(int(row.get("freezes") or 0) * 60, video, 2),
        median_loss=None if loss is None else round(loss, 4),
        median_rtt_ms=None if rtt is None else round(rtt, 1),
        poor=poor,
        poor_share=_rate(poor, measured),
        chronic=measured >= chronic.min_lessons and poor >= chronic.poor_share * measured,
    )


@dataclass(frozen=True)
class Coverage:
    """开齐开足: one receiving class's periods of one subject against its need."""

    class_id: str
    subject: str
    need_per_week: int
    weeks: int
    needed: int
    scheduled: int
    delivered: int
    rate: float | None  # delivered / needed


def coverage(
    needs: Mapping[tuple[str, str], int],
    deliveries: Sequence[tuple[str, str, int, int]],
    weeks: int,
) -> list[Coverage]:
    """Per (class, subject) with a need: periods scheduled and delivered in ``weeks``.

    ``deliveries`` are ``(class_ids ;-separated, subject, scheduled, delivered)``: the
    classroom-lessons counted and those held, summed per classroom's classes and subject.
    """
    scheduled: dict[tuple[str, str], int] = {}
    delivered: dict[tuple[str, str], int] = {}
    for class_ids, subject, lessons, held in deliveries:
        for class_id in class_ids.split(";"):
            if not class_id:
                continue
            key = (class_id, subject)
            scheduled[key] = scheduled.get(key, 0) + lessons
            delivered[key] = delivered.get(key, 0) + held
    rows = []
    for (class_id, subject), per_week in sorted(needs.items()):
        needed = per_week * weeks
        got = delivered.get((class_id, subject), 0)
        rows.append(
            Coverage(class_id, subject, per_week, weeks, needed,
                     scheduled.get((class_id, subject), 0), got, _rate(got, needed))
        )  # fmt: skip
    return rows


@dataclass(frozen=True)
class PatrolItems:
    """Mean score per checklist item over the inspected lessons."""

    lessons: int
    means: dict[str, float] = field(default_factory=dict)


def patrol_items(per_lesson: Sequence[Mapping[str, float]]) -> PatrolItems:
    sums: dict[str, list[float]] = {}
    for scores in per_lesson:
        for item, value in scores.items():
            sums.setdefault(item, []).append(value)
    return PatrolItems(
        len(per_lesson), {k: round(sum(v) / len(v), 2) for k, v in sorted(sums.items())}
    )
