"""Rooms before the bell and the load they are expected to bring (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from media.livekit.placement import (
    CLUSTER,
    Feed,
    RoomPlan,
    due,
    expected_load,
    peak_load,
    place,
)

BELL = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Beijing
MBPS = 1_000_000.0


def plan(room: str, opens_minutes: int, mbps: float, minutes: int = 60) -> RoomPlan:
    opens = BELL + timedelta(minutes=opens_minutes)
    return RoomPlan(room, opens, opens + timedelta(minutes=minutes), (Feed(mbps * MBPS, 1, 1),))


def test_forwarded_bitrate_is_bitrate_times_tracks_times_subscribers() -> None:
    teacher = Feed(1.5 * MBPS, 1, 3 + 2)  # camera to three classrooms and two watchers
    classrooms = Feed(1.5 * MBPS, 3, 1 + 2)  # three cameras to the teacher and two watchers
    assert teacher.forwarded_bps == 7.5 * MBPS
    assert classrooms.forwarded_bps == 13.5 * MBPS
    room = RoomPlan("r", BELL, BELL + timedelta(minutes=55), (teacher, classrooms))
    assert room.forwarded_bps == 21 * MBPS


def test_rooms_are_due_a_while_before_they_open_until_they_close() -> None:
    first, second = plan("first", 0, 1), plan("second", 60, 1)
    ahead = timedelta(minutes=15)
    assert due([first, second], BELL - timedelta(minutes=16), ahead) == []
    assert due([first, second], BELL - timedelta(minutes=15), ahead) == [first]
    assert due([first, second], BELL + timedelta(minutes=50), ahead) == [first, second]
    assert due([first, second], BELL + timedelta(minutes=60), ahead) == [second]
    assert first.empty_timeout(BELL - timedelta(minutes=15)) == 75 * 60
    assert first.empty_timeout(BELL + timedelta(hours=2)) == 60  # never zero (LiveKit's default)


def test_without_nodes_livekit_places_and_the_load_is_the_clusters() -> None:
    plans = [plan("a", 0, 10), plan("b", 0, 5), plan("c", 60, 7)]
    placement = place(plans, ())
    assert set(placement.values()) == {CLUSTER}
    assert expected_load(plans, placement, BELL + timedelta(minutes=1)) == {CLUSTER: 15 * MBPS}
    assert peak_load(plans, placement) == {CLUSTER: (BELL, 15 * MBPS)}


def test_the_heaviest_rooms_spread_over_the_nodes_by_the_load_while_they_are_open() -> None:
    plans = [
        plan("a", 0, 10), plan("b", 0, 8), plan("c", 0, 3),
        plan("d", 60, 9),  # the next period: both nodes are free again
    ]  # fmt: skip
    placement = place(plans, ("n1", "n2"))
    assert placement == {"a": "n1", "d": "n1", "b": "n2", "c": "n2"}
    during = expected_load(plans, placement, BELL + timedelta(minutes=5))
    assert during == {"n1": 10 * MBPS, "n2": 11 * MBPS}
    assert expected_load(plans, placement, BELL + timedelta(minutes=65)) == {"n1": 9 * MBPS}
    assert peak_load(plans, placement) == {"n1": (BELL, 10 * MBPS), "n2": (BELL, 11 * MBPS)}
