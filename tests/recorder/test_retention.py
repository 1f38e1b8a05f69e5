"""recorder.retention with fixed dates: days by mode, exemplary and held recordings, the
floor of min_days, the boundaries (exactly N days is still kept), and policy documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recorder.retention import (
    Due,
    RecordingFacts,
    RetentionPolicy,
    due,
    kept_until,
    parse_policy,
)

NOW = datetime(2027, 6, 30, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def facts(
    recording: str,
    mode: str,
    age: timedelta,
    *,
    exemplary: bool = False,
    held: bool = False,
) -> RecordingFacts:
    return RecordingFacts(recording, mode, NOW - age, exemplary, held)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def test_the_default_policy() -> None:
    policy = RetentionPolicy()
    assert [policy.days(m) for m in ("delivery", "master", "open")] == [180, 365, 365]
    assert (policy.exemplary_days, policy.min_days) == (None, 30)


def test_a_recording_is_due_once_older_than_its_modes_days() -> None:
    policy = RetentionPolicy()
    recordings = [
        facts("d-exact", "delivery", days(180)),
        facts("d-older", "delivery", days(180) + TICK),
        facts("m-young", "master", days(364)),
        facts("m-exact", "master", days(365)),
        facts("m-older", "master", days(365) + TICK),
        facts("o-old", "open", days(800)),
    ]
    assert due(recordings, policy, NOW) == [
        Due("o-old", "open lesson older than 365 days", NOW - days(800) + days(365)),
        Due("m-older", "master lesson older than 365 days", NOW - TICK),
        Due("d-older", "delivery lesson older than 180 days", NOW - TICK),
    ]


def test_due_is_sorted_by_the_end_of_the_lesson() -> None:
    policy = RetentionPolicy()
    recordings = [
        facts("b", "delivery", days(200)),
        facts("c", "open", days(400)),
        facts("a", "delivery", days(200)),  # same end as "b": by id
        facts("d", "master", days(1000)),
    ]
    assert [d.recording for d in due(recordings, policy, NOW)] == ["d", "c", "a", "b"]
    assert due([], policy, NOW) == []


def test_held_recordings_are_never_due() -> None:
    policy = RetentionPolicy(exemplary_days=400)
    recordings = [
        facts("held", "delivery", days(5000), held=True),
        facts("held-exemplary", "open", days(5000), exemplary=True, held=True),
    ]
    assert due(recordings, policy, NOW) == []
    assert kept_until(recordings[0], policy) is None


def test_exemplary_recordings_are_kept_for_ever_by_default() -> None:
    recordings = [facts("model", "delivery", days(10_000), exemplary=True)]
    assert due(recordings, RetentionPolicy(), NOW) == []
    assert kept_until(recordings[0], RetentionPolicy()) is None


def test_exemplary_days_keep_longer_never_shorter_than_the_mode() -> None:
    policy = RetentionPolicy(exemplary_days=300)
    recordings = [
        facts("d-exact", "delivery", days(300), exemplary=True),
        facts("d-older", "delivery", days(300) + TICK, exemplary=True),
        # 300 exemplary days are fewer than a master lesson's 365: the 365 hold.
        facts("m-300", "master", days(301), exemplary=True),
        facts("m-older", "master", days(365) + TICK, exemplary=True),
    ]
    assert due(recordings, policy, NOW) == [
        Due("m-older", "exemplary master lesson older than 365 days", NOW - TICK),
        Due("d-older", "exemplary delivery lesson older than 300 days", NOW - TICK),
    ]


def test_min_days_is_a_floor_no_policy_goes_under() -> None:
    policy = RetentionPolicy(delivery_days=30, master_days=30, open_days=30)
    assert due([facts("exact", "delivery", days(30))], policy, NOW) == []
    assert due([facts("older", "delivery", days(30) + TICK)], policy, NOW) == [
        Due("older", "delivery lesson older than 30 days", NOW - TICK)
    ]
    with pytest.raises(ValueError, match=r"delivery_days is 29.*min_days = 30"):
        RetentionPolicy(delivery_days=29)
    with pytest.raises(ValueError, match=r"exemplary_days is 10.*min_days = 30"):
        RetentionPolicy(exemplary_days=10)
    with pytest.raises(ValueError, match=r"open_days is 50.*min_days = 60"):
        RetentionPolicy(min_days=60, open_days=50)
    with pytest.raises(ValueError, match="min_days must not be negative"):
        RetentionPolicy(min_days=-1)
    lower = RetentionPolicy(delivery_days=7, master_days=7, open_days=7, min_days=7)
    assert due([facts("week", "open", days(7) + TICK)], lower, NOW)[0].kept_until == NOW - TICK


def test_an_unknown_mode_is_an_error_not_a_deletion() -> None:
    with pytest.raises(ValueError, match="unknown lesson mode 'lecture'"):
        due([facts("x", "lecture", days(5000))], RetentionPolicy(), NOW)


def test_parse_policy() -> None:
    assert parse_policy({}) == RetentionPolicy()
    assert parse_policy(
        {"days": {"delivery": 90, "open": 730}, "exemplary_days": 3650, "min_days": 60}
    ) == RetentionPolicy(
        delivery_days=90, master_days=365, open_days=730, exemplary_days=3650, min_days=60
    )
    assert parse_policy({"exemplary_days": None}).exemplary_days is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"days": {"lecture": 90}}, "unknown lesson mode 'lecture' in 'days'"),
        ({"keep": 90}, "unknown key 'keep'"),
        ({"days": [180]}, "'days' is an object"),
        ({"days": {"delivery": "180"}}, "days.delivery must be a whole number of days"),
        ({"days": {"delivery": 180.0}}, "days.delivery must be a whole number of days"),
        ({"days": {"master": True}}, "days.master must be a whole number of days"),
        ({"days": {"open": -5}}, "days.open must not be negative"),
        ({"exemplary_days": -1}, "exemplary_days must not be negative"),
        ({"exemplary_days": "forever"}, "exemplary_days must be a whole number"),
        ({"min_days": None}, "min_days must be a whole number"),
        ({"days": {"delivery": 20}}, "delivery_days is 20"),
        ([180], "a retention policy is an object"),
    ],
)
def test_parse_policy_says_what_is_wrong(doc: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_policy(doc)
