"""What one dated lesson came to: held or not (and why), attendance, quality, patrol.

Pure: the timetable's lesson (:class:`Expected`), the lesson's event log, its
inspections and the time go in; :class:`LessonFacts` come out. The log is read as
``(type, at, data)`` triples, exactly as stored (``rooms.store.RoomStore.append``), so
the live service and a full recompute of a term fold the same events the same way.

Definitions (DESIGN.md §1, the Ministry's indicator system):

- A lesson is **held** when its teacher was live for at least ``Policy.held_share``
  of the bell period: present in the room (``media.joined`` … ``media.left``) after the
  room went live (the first track the teacher published, ``room.live``), within the
  bell period and before the lesson ended.
- A lesson not held gets one **reason**, the first that applies: the room was never
  opened (the platform was not running), the teacher never came, the teacher came
  but never started (published nothing), the teacher ended the lesson early, or the
  teacher was live too little of the period (dropped out).
- A receiving classroom is **on time** when it first joined by the bell plus
  ``Policy.on_time``; its minutes present are counted within the bell period.
- Quality is what each receiving classroom's page measured (``quality.sample``), with
  ``video_frozen`` alerts marking minutes as frozen, as :mod:`rooms.quality_summary`
  counts them for the live pages; once the room has ended, a participant's
  ``quality.summary`` stands for its samples (:class:`rooms.quality_summary.QualityFold`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from rooms.quality_summary import QualityFold, QualityTally

#: A stored event as the log holds it: its type, time and data.
Logged = tuple[str, datetime, Mapping[str, Any]]


class Status(StrEnum):
    HELD = "held"
    NOT_HELD = "not_held"
    UPCOMING = "upcoming"  # the bell has not rung
    IN_PROGRESS = "in_progress"  # not over yet: not counted until it is
    CANCELLED = "cancelled"  # a newer plan took it away: not counted as scheduled
    REPAIRED = "repaired"  # replaced by a repair around an absent teacher: not counted


class Reason(StrEnum):
    """Why a lesson was not held (``Status.NOT_HELD``)."""

    ROOM_NOT_OPENED = "room_not_opened"
    TEACHER_ABSENT = "teacher_absent"
    NOT_STARTED = "not_started"
    ENDED_EARLY = "ended_early"
    TEACHER_SHORT = "teacher_short"


#: Lessons counted in 开课率's denominator.
COUNTED = frozenset({Status.HELD, Status.NOT_HELD})


@dataclass(frozen=True)
class Policy:
    held_share: float = 0.8  # of the bell period the teacher must be live
    on_time: timedelta = timedelta(minutes=2)  # after the bell, a classroom is still on time
    # a receiving classroom's lesson with poor quality (for "chronic problems"):
    poor_freeze_free: float = 0.9  # fewer minutes than this share without a freeze
    poor_loss: float = 0.05
    poor_rtt_ms: float = 400.0


@dataclass(frozen=True)
class Receiver:
    """A receiving classroom the timetable expects, with its classes."""

    classroom_id: str
    school_id: str
    region: str  # the teaching point's township code
    class_ids: tuple[str, ...]

    @property
    def identity(self) -> str:
        return f"classroom:{self.classroom_id}"


@dataclass(frozen=True)
class Expected:
    """A dated lesson of the published timetable."""

    lesson: str
    day: date
    starts_at: datetime
    ends_at: datetime
    teacher_id: str
    subject: str
    grade: int
    school_id: str  # the output school
    region: str  # its township code
    receivers: tuple[Receiver, ...]
    state: str = "scheduled"  # or cancelled
    cancel_reason: str = ""  # superseded | repair
    repair: bool = False  # added by a repair

    @property
    def teacher_identity(self) -> str:
        return f"teacher:{self.teacher_id}"


@dataclass(frozen=True)
class ReceiverFacts:
    classroom_id: str
    school_id: str
    region: str
    class_ids: tuple[str, ...]
    joined: bool  # present at some time within the period
    on_time: bool
    join_delay_seconds: float | None  # first join after the bell (0 if before), None if never
    present_seconds: float  # within the period
    expected_seconds: float  # the period, to the lesson's end
    video_minutes: int  # clock minutes with video measured
    frozen_minutes: int
    freezes: int
    freeze_seconds: float
    median_loss: float | None
    median_rtt_ms: float | None
    poor: bool  # below the policy's quality bar

    @property
    def identity(self) -> str:
        return f"classroom:{self.classroom_id}"


@dataclass(frozen=True)
class LessonFacts:
    lesson: str
    day: date
    starts_at: datetime
    teacher_id: str
    subject: str
    grade: int
    school_id: str
    region: str
    status: Status
    reason: str  # a Reason for NOT_HELD, else ""
    repair: bool
    period_seconds: float
    teacher_seconds: float
    ended_early: bool
    recorded: bool
    receivers: tuple[ReceiverFacts, ...]
    inspections: int
    inspection_scores: dict[str, float] = field(default_factory=dict)  # mean per item
    problems: int = 0  # inspections with an item scored 2 or lower

    @property
    def counted(self) -> bool:
        return self.status in COUNTED


def _clip(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


@dataclass
class _Presence:
    first: datetime | None = None
    since: datetime | None = None
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)

    def join(self, at: datetime) -> None:
        if self.first is None:
            self.first = at
        if self.since is None:
            self.since = at

    def leave(self, at: datetime) -> None:
        if self.since is not None:
            self.intervals.append((self.since, at))
            self.since = None

    def seconds(self, lo: datetime, hi: datetime) -> float:
        spans = [*self.intervals, *([(self.since, hi)] if self.since is not None else [])]
        return sum(_clip(a, b, lo, hi) for a, b in spans)

    def first_within(self, lo: datetime, hi: datetime) -> datetime | None:
        spans = [*self.intervals, *([(self.since, hi)] if self.since is not None else [])]
        starts = [max(a, lo) for a, b in spans if b > lo and a < hi]
        return min(starts) if starts else None


def _median(values: list[float], digits: int) -> float | None:
    return round(statistics.median(values), digits) if values else None


def lesson_facts(
    expected: Expected,
    log: Iterable[Logged],
    now: datetime,
    *,
    inspections: Sequence[Mapping[str, int]] = (),
    policy: Policy = Policy(),
) -> LessonFacts:
    """Fold the lesson's log (oldest first) into its facts as of ``now``."""
    teacher = expected.teacher_identity
    expected_ids = {r.identity for r in expected.receivers}
    presence: dict[str, _Presence] = {}
    quality = QualityFold(expected_ids)
    opened = recorded = False
    live_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason = ""
    for kind, at, data in log:
        if kind == "quality.sample":  # most of the log
            quality.sample(at, data)
        elif kind == "media.joined" or kind == "media.left":
            identity = data["identity"]
            if identity == teacher or identity in expected_ids:
                stay = presence.setdefault(identity, _Presence())
                if kind == "media.joined":
                    stay.join(at)
                else:
                    stay.leave(at)
        elif kind == "quality.alert":
            quality.alert(data)
        elif kind == "quality.summary":
            quality.summary(data)
        elif kind == "room.opened":
            opened = True
        elif kind == "room.live":
            live_at = live_at or at
        elif kind == "room.ended":
            ended_at, end_reason = ended_at or at, end_reason or data.get("reason", "")
        elif kind == "recording.ready":
            recorded = True

    starts, ends = expected.starts_at, expected.ends_at
    period = (ends - starts).total_seconds()
    end = min(ends, ended_at) if ended_at else ends
    over = now >= ends or ended_at is not None
    teacher_stay = presence.get(teacher, _Presence())
    teacher_seconds = (
        teacher_stay.seconds(max(starts, live_at), end) if live_at and end > live_at else 0.0
    )
    ended_early = end_reason == "teacher" and ended_at is not None and ended_at < ends
    held = teacher_seconds >= policy.held_share * period

    status, reason = _status(expected, now, over, held)
    if status is Status.NOT_HELD:
        if not opened:
            reason = Reason.ROOM_NOT_OPENED
        elif teacher_stay.first is None:
            reason = Reason.TEACHER_ABSENT
        elif live_at is None:
            reason = Reason.NOT_STARTED
        elif ended_early:
            reason = Reason.ENDED_EARLY
        else:
            reason = Reason.TEACHER_SHORT

    receivers = tuple(
        _receiver(
            r, presence.get(r.identity), quality.tallies.get(r.identity), starts, end, policy
        )  # fmt: skip
        for r in expected.receivers
    )
    scores: dict[str, list[int]] = {}
    for item_scores in inspections:
        for item, value in item_scores.items():
            scores.setdefault(item, []).append(value)
    return LessonFacts(
        lesson=expected.lesson, day=expected.day, starts_at=starts,
        teacher_id=expected.teacher_id, subject=expected.subject, grade=expected.grade,
        school_id=expected.school_id, region=expected.region, status=status,
        reason=str(reason), repair=expected.repair, period_seconds=period,
        teacher_seconds=round(teacher_seconds, 3), ended_early=ended_early,
        recorded=recorded, receivers=receivers, inspections=len(inspections),
        inspection_scores={k: round(sum(v) / len(v), 3) for k, v in sorted(scores.items())},
        problems=sum(1 for s in inspections if any(v <= 2 for v in s.values())),
    )  # fmt: skip


def _status(expected: Expected, now: datetime, over: bool, held: bool) -> tuple[Status, str]:
    if expected.state == "cancelled":
        return (Status.REPAIRED if expected.cancel_reason == "repair" else Status.CANCELLED), ""
    if now < expected.starts_at and not over:
        return Status.UPCOMING, ""
    if not over:
        return Status.IN_PROGRESS, ""
    return (Status.HELD, "") if held else (Status.NOT_HELD, "")


def _receiver(
    receiver: Receiver,
    stay: _Presence | None,
    tally: QualityTally | None,
    starts: datetime,
    end: datetime,
    policy: Policy,
) -> ReceiverFacts:
    stay = stay or _Presence()
    present = stay.seconds(starts, end) if end > starts else 0.0
    came = stay.first_within(starts, end) if end > starts else None
    delay = None if came is None else (came - starts).total_seconds()
    tally = tally or QualityTally()
    figures = tally.figures()
    poor = bool(
        (figures.minutes_without_freeze is not None
         and figures.minutes_without_freeze < policy.poor_freeze_free)
        or (figures.median_loss is not None and figures.median_loss > policy.poor_loss)
        or (figures.median_rtt_ms is not None and figures.median_rtt_ms > policy.poor_rtt_ms)
    )  # fmt: skip
    return ReceiverFacts(
        classroom_id=receiver.classroom_id, school_id=receiver.school_id,
        region=receiver.region, class_ids=receiver.class_ids,
        joined=present > 0, on_time=delay is not None and delay <= policy.on_time.total_seconds(),
        join_delay_seconds=None if delay is None else round(delay, 3),
        present_seconds=round(present, 3),
        expected_seconds=max(0.0, (end - starts).total_seconds()),
        video_minutes=tally.minutes, frozen_minutes=tally.frozen_minutes,
        freezes=tally.freezes, freeze_seconds=round(tally.freeze_seconds, 3),
        median_loss=_median(tally.losses, 4), median_rtt_ms=_median(tally.rtts, 1), poor=poor,
    )  # fmt: skip
