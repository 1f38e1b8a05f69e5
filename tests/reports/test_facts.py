"""Lesson facts from hand-written event logs with known answers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from kernel.events import encode_event
from reports.facts import (
    Expected,
    Logged,
    Policy,
    Reason,
    Receiver,
    Status,
    lesson_facts,
)
from rooms.quality_summary import summaries

BELL = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 Beijing
END = BELL + timedelta(minutes=40)
A = Receiver("R-A", "TP-A", "341524101", ("C1",))
B = Receiver("R-B", "TP-B", "341524102", ("C2", "C3"))


def expected(**changes: Any) -> Expected:
    base = Expected(
        lesson="P1-L1-20261123", day=date(2026, 11, 23), starts_at=BELL, ends_at=END,
        teacher_id="T1", subject="英语", grade=4, school_id="CS1", region="341524100",
        receivers=(A, B),
    )  # fmt: skip
    return replace(base, **changes)


def at(minutes: float) -> datetime:
    return BELL + timedelta(minutes=minutes)


def joined(identity: str, minutes: float) -> Logged:
    return ("media.joined", at(minutes), {"identity": identity, "room": "x"})


def left(identity: str, minutes: float) -> Logged:
    return ("media.left", at(minutes), {"identity": identity, "room": "x"})


def sample(identity: str, minutes: float, **fields: Any) -> Logged:
    data: dict[str, Any] = {
        "lesson": "P1-L1-20261123", "identity": identity, "seconds": 30.0,
        "video_kbps": 800.0, "audio_kbps": 32.0, "sent_kbps": 0.0, "packets": 1000,
        "loss": 0.0, "rtt_ms": 40.0, "jitter_ms": 5.0, "fps": 25.0, "freezes": 0,
        "freeze_seconds": 0.0, "inbound": [],
    }  # fmt: skip
    data.update(fields)
    return ("quality.sample", at(minutes), data)


def lesson_log(*, teacher_leaves: float = 40.0, ended: float | None = None) -> list[Logged]:
    log: list[Logged] = [
        ("room.opened", at(-10), {"lesson": "x"}),
        joined("teacher:T1", -3),
        ("room.live", at(-1), {"lesson": "x"}),
        joined("classroom:R-A", -2),
        joined("classroom:R-B", 5),  # five minutes late
    ]
    if ended is not None:
        log += [left("teacher:T1", ended), ("room.ended", at(ended), {"reason": "teacher"})]
    else:
        log += [left("teacher:T1", teacher_leaves)]
    return log


def test_a_full_lesson_is_held_with_late_and_on_time_classrooms() -> None:
    facts = lesson_facts(expected(), lesson_log(), now=at(60))
    assert facts.status is Status.HELD and facts.reason == ""
    assert facts.counted
    assert facts.period_seconds == 2400
    assert facts.teacher_seconds == 2400  # live from the bell: minutes before it do not count
    a, b = facts.receivers
    assert (a.on_time, a.join_delay_seconds, a.present_seconds) == (True, 0.0, 2400.0)
    assert (b.on_time, b.join_delay_seconds, b.present_seconds) == (False, 300.0, 2100.0)
    assert b.class_ids == ("C2", "C3")


def test_a_lesson_ended_early_is_not_held_and_says_so() -> None:
    facts = lesson_facts(expected(), lesson_log(ended=20), now=at(25))
    assert facts.status is Status.NOT_HELD
    assert facts.reason == Reason.ENDED_EARLY
    assert facts.ended_early and facts.teacher_seconds == 1200
    # classrooms are counted to the lesson's end, not the bell's
    a, b = facts.receivers
    assert (a.expected_seconds, a.present_seconds, b.present_seconds) == (1200, 1200, 900)


def test_ending_a_few_minutes_early_still_counts_as_held() -> None:
    facts = lesson_facts(expected(), lesson_log(ended=36), now=at(60))
    assert facts.status is Status.HELD and facts.ended_early


def test_a_classroom_that_dropped_and_came_back_counts_only_its_minutes_present() -> None:
    log = [*lesson_log(), left("classroom:R-A", 10), joined("classroom:R-A", 13)]
    log.sort(key=lambda e: e[1])
    a = lesson_facts(expected(), log, now=at(60)).receivers[0]
    assert a.on_time and a.joined
    assert a.present_seconds == 2400 - 180


def test_a_classroom_that_left_before_the_bell_and_came_late_is_late() -> None:
    log = [*lesson_log(), left("classroom:R-A", -1), joined("classroom:R-A", 6)]
    log.sort(key=lambda e: e[1])
    a = lesson_facts(expected(), log, now=at(60)).receivers[0]
    assert not a.on_time and a.join_delay_seconds == 360


def test_the_teacher_dropping_out_for_most_of_the_lesson_is_teacher_short() -> None:
    log = [*lesson_log(teacher_leaves=20), joined("teacher:T1", 35), left("teacher:T1", 40)]
    facts = lesson_facts(expected(), log, now=at(60))
    assert facts.teacher_seconds == 1500
    assert (facts.status, facts.reason) == (Status.NOT_HELD, Reason.TEACHER_SHORT)


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ([], Reason.ROOM_NOT_OPENED),
        ([("room.opened", at(-10), {})], Reason.TEACHER_ABSENT),
        ([("room.opened", at(-10), {}), joined("teacher:T1", 1)], Reason.NOT_STARTED),
    ],
)
def test_why_a_lesson_was_not_held(log: list[Logged], reason: Reason) -> None:
    facts = lesson_facts(expected(), log, now=at(41))
    assert (facts.status, facts.reason) == (Status.NOT_HELD, reason)
    assert facts.counted


def test_a_repaired_absence_counts_the_replacement_not_the_original() -> None:
    original = lesson_facts(expected(state="cancelled", cancel_reason="repair"), [], now=at(60))
    assert original.status is Status.REPAIRED and not original.counted
    replacement = lesson_facts(
        expected(lesson="P2-L1-20261123", teacher_id="T9", repair=True),
        [("room.opened", at(-10), {}), joined("teacher:T9", -1), ("room.live", at(0), {}),
         left("teacher:T9", 40)],
        now=at(60),
    )  # fmt: skip
    assert replacement.status is Status.HELD and replacement.repair
    superseded = lesson_facts(expected(state="cancelled", cancel_reason="superseded"), [], at(0))
    assert superseded.status is Status.CANCELLED and not superseded.counted


def test_lessons_not_over_are_not_counted_yet() -> None:
    assert lesson_facts(expected(), [], now=at(-5)).status is Status.UPCOMING
    running = lesson_facts(expected(), lesson_log(), now=at(20))
    assert running.status is Status.IN_PROGRESS and not running.counted


def test_quality_minutes_freezes_and_medians_per_classroom() -> None:
    log = lesson_log()
    # R-A: four 30 s samples in two clock minutes, one freeze in the second minute
    log += [sample("classroom:R-A", 0.5), sample("classroom:R-A", 1.0),
            sample("classroom:R-A", 1.5, freezes=1, freeze_seconds=0.8, loss=0.02),
            sample("classroom:R-A", 2.0, loss=0.04, rtt_ms=60.0)]  # fmt: skip
    # R-B: frozen by the monitor's alert for one sample; high loss
    log += [sample("classroom:R-B", 10.5, loss=0.1),
            ("quality.alert", at(10.6), {"identity": "classroom:R-B", "alert": "video_frozen",
                                         "active": True}),
            sample("classroom:R-B", 11.0, loss=0.1),
            ("quality.alert", at(11.1), {"identity": "classroom:R-B", "alert": "video_frozen",
                                         "active": False}),
            sample("classroom:R-B", 11.5, loss=0.1)]  # fmt: skip
    # samples of people who are not receiving classrooms are not the classrooms' quality
    log += [sample("teacher:T1", 3.0, freezes=5), sample("inspector:7", 3.0, freezes=5)]
    log.sort(key=lambda e: e[1])
    a, b = lesson_facts(expected(), log, now=at(60)).receivers
    assert (a.video_minutes, a.frozen_minutes, a.freezes) == (2, 1, 1)
    assert a.freeze_seconds == 0.8
    assert a.median_loss == 0.01 and a.median_rtt_ms == 40.0
    assert a.poor
    assert (b.video_minutes, b.frozen_minutes, b.freezes) == (2, 1, 0)
    assert b.median_loss == 0.1 and b.poor


def _quality_log() -> list[Logged]:
    log = lesson_log(ended=40.0)
    log += [sample("classroom:R-A", m / 2, loss=0.01 * (m % 5), rtt_ms=30.0 + m,
                   freezes=int(m % 17 == 0), freeze_seconds=0.4 * (m % 17 == 0))
            for m in range(1, 79)]  # fmt: skip
    log += [sample("classroom:R-B", m / 2, loss=0.07, rtt_ms=None) for m in range(12, 40)]
    log += [("quality.alert", at(15.2), {"identity": "classroom:R-B", "alert": "video_frozen",
                                         "active": True}),
            ("quality.alert", at(16.1), {"identity": "classroom:R-B", "alert": "video_frozen",
                                         "active": False})]  # fmt: skip
    log.sort(key=lambda e: e[1])
    return log


def _summarized(log: list[Logged]) -> list[Logged]:
    """``log`` with the summaries the live service logs when the room ends."""
    end = next(when for kind, when, _ in log if kind == "room.ended")
    quality = [e for e in log if e[0].startswith("quality.")]
    written = [(s.type_name, s.at, json.loads(encode_event(s))["data"])
               for s in summaries("P1-L1-20261123", quality, end)]  # fmt: skip
    return sorted([*log, *written], key=lambda e: e[1])


def test_the_quality_summaries_stand_for_the_samples_exactly() -> None:
    log = _quality_log()
    from_samples = lesson_facts(expected(), log, now=at(60))
    with_summaries = _summarized(log)
    assert sum(kind == "quality.summary" for kind, _, _ in with_summaries) == 2
    assert lesson_facts(expected(), with_summaries, now=at(60)) == from_samples
    a, b = from_samples.receivers
    assert a.video_minutes == 39 and a.freezes == 4 and a.median_rtt_ms == 69.5
    assert b.frozen_minutes == 1 and b.median_rtt_ms is None and b.median_loss == 0.07


def test_a_summary_is_read_without_its_samples_and_later_samples_do_not_count() -> None:
    with_summaries = _summarized(_quality_log())
    facts = lesson_facts(expected(), with_summaries, now=at(60))
    only_summaries = [e for e in with_summaries if e[0] != "quality.sample"]
    assert lesson_facts(expected(), only_summaries, now=at(60)) == facts
    late = [*with_summaries, sample("classroom:R-A", 41.0, freezes=9, loss=0.9)]
    assert lesson_facts(expected(), late, now=at(60)) == facts


def test_a_good_connection_is_not_poor() -> None:
    log = lesson_log() + [sample("classroom:R-A", m / 2) for m in range(1, 80)]
    log.sort(key=lambda e: e[1])
    a = lesson_facts(expected(), log, now=at(60)).receivers[0]
    assert a.video_minutes == 40 and a.frozen_minutes == 0 and not a.poor


def test_patrol_scores_and_problems() -> None:
    facts = lesson_facts(
        expected(), lesson_log(), now=at(60),
        inspections=[{"教学组织": 4, "音视频质量": 2}, {"教学组织": 5}],
    )  # fmt: skip
    assert facts.inspections == 2 and facts.problems == 1
    assert facts.inspection_scores == {"教学组织": 4.5, "音视频质量": 2.0}


def test_the_held_share_is_configurable() -> None:
    log = lesson_log(teacher_leaves=30)  # 75 % of the period
    assert lesson_facts(expected(), log, now=at(60)).status is Status.NOT_HELD
    lenient = lesson_facts(expected(), log, now=at(60), policy=Policy(held_share=0.7))
    assert lenient.status is Status.HELD


def test_a_recording_ready_marks_the_lesson_recorded() -> None:
    log = [*lesson_log(), ("recording.ready", at(50), {"lesson": "x"})]
    assert lesson_facts(expected(), log, now=at(60)).recorded
    assert not lesson_facts(expected(), lesson_log(), now=at(60)).recorded
