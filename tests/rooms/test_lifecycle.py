"""The lesson room's lifecycle: scheduled → open → live → ended → archived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.events import Event
from rooms.errors import LessonRefused
from rooms.events import RoomArchived, RoomEnded, RoomLive, RoomOpened
from rooms.lifecycle import (
    BY_TEACHER,
    BY_TIME,
    CANCELLED,
    LessonRoom,
    RoomState,
    Timing,
    cancel,
    check_joinable,
    end_by_teacher,
    scheduled,
    teacher_published,
    tick,
)

BELL = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08:00 in Beijing
END = BELL + timedelta(minutes=40)
TIMING = Timing()
OPENS = BELL - timedelta(minutes=10)
CLOSES = END + timedelta(minutes=10)
LESSON = "P1-3-20261123"
MINUTE = timedelta(minutes=1)
TINY = timedelta(microseconds=1)

ORDER = [RoomState.SCHEDULED, RoomState.OPEN, RoomState.LIVE, RoomState.ENDED, RoomState.ARCHIVED]
RANK = {state: i for i, state in enumerate(ORDER)}
STATE_OF_EVENT: dict[type[Event], RoomState] = {
    RoomOpened: RoomState.OPEN,
    RoomLive: RoomState.LIVE,
    RoomEnded: RoomState.ENDED,
    RoomArchived: RoomState.ARCHIVED,
}


def fresh() -> LessonRoom:
    return scheduled(LESSON, BELL, END)


def opened() -> LessonRoom:
    room, _ = tick(fresh(), OPENS, TIMING)
    return room


def live() -> LessonRoom:
    room, _ = teacher_published(opened(), BELL)
    return room


def kinds(events: list[Event]) -> list[type[Event]]:
    return [type(e) for e in events]


def test_a_new_room_is_scheduled_and_not_joinable() -> None:
    room = fresh()
    assert room.state is RoomState.SCHEDULED
    assert (room.lesson, room.starts_at, room.ends_at) == (LESSON, BELL, END)
    assert room.opened_at is None and room.ended_at is None and room.end_reason == ""
    assert not room.joinable


def test_nothing_happens_before_the_room_opens() -> None:
    for now in (BELL - timedelta(hours=5), OPENS - TINY):
        room, events = tick(fresh(), now, TIMING)
        assert room == fresh() and events == []


def test_the_room_opens_ten_minutes_before_the_bell() -> None:
    room, events = tick(fresh(), OPENS, TIMING)
    assert room.state is RoomState.OPEN and room.joinable
    assert room.opened_at == OPENS
    assert kinds(events) == [RoomOpened]
    assert events[0].at == OPENS and events[0].key == LESSON


def test_a_room_ticked_a_little_late_opens_then() -> None:
    now = OPENS + timedelta(minutes=3)
    room, events = tick(fresh(), now, TIMING)
    assert room.state is RoomState.OPEN and room.opened_at == now
    assert kinds(events) == [RoomOpened]


def test_the_opening_follows_the_timing() -> None:
    timing = Timing(open_before=timedelta(minutes=30))
    room, _ = tick(fresh(), BELL - timedelta(minutes=31), timing)
    assert room.state is RoomState.SCHEDULED
    room, _ = tick(fresh(), BELL - timedelta(minutes=30), timing)
    assert room.state is RoomState.OPEN


def test_an_open_room_goes_live_when_the_teacher_publishes() -> None:
    at = BELL - timedelta(minutes=2)
    room, events = teacher_published(opened(), at)
    assert room.state is RoomState.LIVE and room.live_at == at and room.joinable
    assert kinds(events) == [RoomLive] and events[0].at == at


@pytest.mark.parametrize("state", [RoomState.SCHEDULED, RoomState.LIVE, RoomState.ENDED])
def test_publishing_changes_nothing_unless_the_room_is_open(state: RoomState) -> None:
    rooms = {
        RoomState.SCHEDULED: fresh(),
        RoomState.LIVE: live(),
        RoomState.ENDED: end_by_teacher(live(), BELL + MINUTE)[0],
    }
    room = rooms[state]
    assert teacher_published(room, BELL + 2 * MINUTE) == (room, [])


def test_the_teacher_ends_a_live_lesson() -> None:
    at = BELL + timedelta(minutes=38)
    room, events = end_by_teacher(live(), at)
    assert room.state is RoomState.ENDED and room.ended_at == at
    assert room.end_reason == BY_TEACHER == "teacher"
    assert kinds(events) == [RoomEnded]
    assert isinstance(events[0], RoomEnded) and events[0].reason == "teacher"


def test_the_teacher_may_end_an_open_room_they_never_published_in() -> None:
    room, events = end_by_teacher(opened(), BELL)
    assert room.state is RoomState.ENDED and kinds(events) == [RoomEnded]


@pytest.mark.parametrize("which", ["scheduled", "ended", "archived"])
def test_the_teacher_cannot_end_a_lesson_not_in_progress(which: str) -> None:
    ended, _ = end_by_teacher(live(), BELL + MINUTE)
    archived, _ = tick(ended, BELL + timedelta(minutes=6), TIMING)
    room = {"scheduled": fresh(), "ended": ended, "archived": archived}[which]
    with pytest.raises(LessonRefused) as refused:
        end_by_teacher(room, BELL + 10 * MINUTE)
    assert refused.value.code == "not_live"


def test_a_lesson_not_ended_closes_ten_minutes_after_the_end_bell() -> None:
    room, events = tick(live(), CLOSES - TINY, TIMING)
    assert room.state is RoomState.LIVE and events == []
    room, events = tick(live(), CLOSES, TIMING)
    assert room.state is RoomState.ENDED and room.ended_at == CLOSES
    assert room.end_reason == BY_TIME == "time"
    assert kinds(events) == [RoomEnded]
    assert isinstance(events[0], RoomEnded) and events[0].reason == "time"


def test_an_open_room_the_teacher_never_came_to_closes_by_time_too() -> None:
    room, events = tick(opened(), CLOSES, TIMING)
    assert room.state is RoomState.ENDED and room.end_reason == BY_TIME
    assert kinds(events) == [RoomEnded]


def test_the_closing_follows_the_timing() -> None:
    timing = Timing(end_after=timedelta(minutes=30))
    room, _ = tick(live(), END + timedelta(minutes=29), timing)
    assert room.state is RoomState.LIVE
    room, _ = tick(live(), END + timedelta(minutes=30), timing)
    assert room.state is RoomState.ENDED


def test_an_ended_room_is_archived_five_minutes_later() -> None:
    at = BELL + timedelta(minutes=20)
    ended, _ = end_by_teacher(live(), at)
    room, events = tick(ended, at + timedelta(minutes=5) - TINY, TIMING)
    assert room == ended and events == []
    room, events = tick(ended, at + timedelta(minutes=5), TIMING)
    assert room.state is RoomState.ARCHIVED and room.archived_at == at + timedelta(minutes=5)
    assert room.end_reason == BY_TEACHER and room.ended_at == at
    assert kinds(events) == [RoomArchived] and not room.joinable


def test_the_teacher_ending_early_does_not_wait_for_the_bell_to_archive() -> None:
    at = BELL + timedelta(minutes=5)
    ended, _ = end_by_teacher(live(), at)
    room, _ = tick(ended, at + timedelta(minutes=5), TIMING)
    assert room.state is RoomState.ARCHIVED


@pytest.mark.parametrize("which", ["scheduled", "open", "live"])
def test_cancelling_ends_the_room_with_its_reason(which: str) -> None:
    room = {"scheduled": fresh(), "open": opened(), "live": live()}[which]
    at = BELL - timedelta(hours=1) if which == "scheduled" else BELL + MINUTE
    cancelled, events = cancel(room, at)
    assert cancelled.state is RoomState.ENDED and cancelled.ended_at == at
    assert cancelled.end_reason == CANCELLED == "cancelled"
    assert kinds(events) == [RoomEnded]
    assert isinstance(events[0], RoomEnded) and events[0].reason == "cancelled"


def test_a_room_cancelled_before_it_opened_is_archived_and_never_opens() -> None:
    at = BELL - timedelta(hours=1)
    cancelled, _ = cancel(fresh(), at)
    room, events = tick(cancelled, at + timedelta(minutes=5), TIMING)
    assert room.state is RoomState.ARCHIVED and kinds(events) == [RoomArchived]
    assert room.opened_at is None
    room, events = tick(room, CLOSES + timedelta(hours=1), TIMING)
    assert room.state is RoomState.ARCHIVED and events == []


def test_cancelling_an_ended_or_archived_room_changes_nothing() -> None:
    ended, _ = end_by_teacher(live(), BELL + MINUTE)
    archived, _ = tick(ended, BELL + 10 * MINUTE, TIMING)
    for room in (ended, archived):
        assert cancel(room, BELL + 20 * MINUTE) == (room, [])
        assert room.end_reason == BY_TEACHER


def test_the_whole_day_of_a_room_ticked_every_minute() -> None:
    room = fresh()
    log: list[tuple[datetime, type[Event]]] = []
    now = BELL - timedelta(hours=1)
    while now <= CLOSES + timedelta(minutes=30):
        if now == BELL + MINUTE:
            room, events = teacher_published(room, now)
            log += [(e.at, type(e)) for e in events]
        room, events = tick(room, now, TIMING)
        log += [(e.at, type(e)) for e in events]
        now += MINUTE
    assert log == [
        (OPENS, RoomOpened),
        (BELL + MINUTE, RoomLive),
        (CLOSES, RoomEnded),
        (CLOSES + timedelta(minutes=5), RoomArchived),
    ]
    assert room.state is RoomState.ARCHIVED and room.end_reason == BY_TIME


def test_after_an_outage_a_scheduled_room_catches_up_to_ended() -> None:
    """A server down from before the opening until after the close resumes the room
    ended by time, with its events in order, in one tick."""
    now = CLOSES + timedelta(minutes=2)  # not yet due for archiving in any reading
    room, events = tick(fresh(), now, TIMING)
    assert kinds(events) == [RoomOpened, RoomEnded]
    assert room.state is RoomState.ENDED and room.end_reason == BY_TIME
    assert room.opened_at is not None and room.ended_at is not None
    assert OPENS <= room.opened_at <= room.ended_at <= now


def test_after_an_outage_an_ended_room_is_archived() -> None:
    ended, _ = end_by_teacher(live(), BELL + MINUTE)
    room, events = tick(ended, BELL + timedelta(hours=6), TIMING)
    assert room.state is RoomState.ARCHIVED and kinds(events) == [RoomArchived]


def test_after_an_outage_of_hours_a_scheduled_room_is_archived_in_one_tick() -> None:
    room, events = tick(fresh(), CLOSES + timedelta(hours=3), TIMING)
    assert kinds(events) == [RoomOpened, RoomEnded, RoomArchived]
    assert room.state is RoomState.ARCHIVED
    assert room.ended_at == CLOSES


def test_after_an_outage_of_hours_a_live_room_is_archived_in_one_tick() -> None:
    room, events = tick(live(), CLOSES + timedelta(hours=3), TIMING)
    assert kinds(events) == [RoomEnded, RoomArchived]
    assert room.state is RoomState.ARCHIVED


@pytest.mark.parametrize(
    "now",
    [OPENS, BELL, CLOSES, CLOSES + timedelta(minutes=5), CLOSES + timedelta(hours=3)],
)
def test_ticking_twice_at_the_same_time_gives_no_new_events(now: datetime) -> None:
    for start in (fresh(), opened(), live()):
        once, _ = tick(start, now, TIMING)
        twice, events = tick(once, now, TIMING)
        assert twice == once and events == []


def test_only_open_and_live_rooms_may_be_joined() -> None:
    check_joinable(opened())
    check_joinable(live())
    with pytest.raises(LessonRefused) as early:
        check_joinable(fresh())
    assert early.value.code == "not_open"


def test_an_ended_or_archived_room_refuses_with_ended() -> None:
    ended, _ = end_by_teacher(live(), BELL + MINUTE)
    by_time, _ = tick(live(), CLOSES, TIMING)
    archived, _ = tick(ended, BELL + 10 * MINUTE, TIMING)
    for room in (ended, by_time, archived):
        with pytest.raises(LessonRefused) as refused:
            check_joinable(room)
        assert refused.value.code == "ended"


def test_a_cancelled_room_refuses_with_cancelled_even_once_archived() -> None:
    cancelled, _ = cancel(opened(), BELL)
    archived, _ = tick(cancelled, BELL + 10 * MINUTE, TIMING)
    assert archived.state is RoomState.ARCHIVED
    for room in (cancelled, archived):
        with pytest.raises(LessonRefused) as refused:
            check_joinable(room)
        assert refused.value.code == "cancelled"


# --- properties -------------------------------------------------------------------------

ACTIONS = ("tick", "publish", "end", "cancel")

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=90),  # minutes since the previous step
        st.sampled_from(ACTIONS),
    ),
    max_size=30,
)


def act(room: LessonRoom, action: str, now: datetime) -> tuple[LessonRoom, list[Event]]:
    if action == "tick":
        return tick(room, now, TIMING)
    if action == "publish":
        return teacher_published(room, now)
    if action == "end":
        try:
            return end_by_teacher(room, now)
        except LessonRefused:
            assert not room.joinable
            return room, []
    return cancel(room, now)


@given(
    start=st.integers(min_value=-240, max_value=120),  # minutes from the bell
    plan=steps,
)
def test_state_never_goes_back_and_each_transition_emits_one_event(
    start: int, plan: list[tuple[int, str]]
) -> None:
    room = fresh()
    now = BELL + timedelta(minutes=start)
    for gap, action in plan:
        now += timedelta(minutes=gap)
        before = room
        room, events = act(room, action, now)
        # the states the events announce, in order, lead from the old state to the new
        reached = [STATE_OF_EVENT[type(e)] for e in events]
        assert [RANK[s] for s in reached] == sorted({RANK[s] for s in reached})
        if not events:
            assert room == before
            continue
        assert RANK[before.state] < RANK[reached[0]]
        assert reached[-1] is room.state
        assert all(e.at == now and e.key == LESSON for e in events)
        if room.state in (RoomState.ENDED, RoomState.ARCHIVED):
            assert room.end_reason in (BY_TEACHER, BY_TIME, CANCELLED)
        if action == "tick":  # it caught up: nothing more is due at the same time
            assert tick(room, now, TIMING) == (room, [])


@given(plan=steps)
def test_the_room_is_joinable_exactly_when_check_joinable_agrees(
    plan: list[tuple[int, str]],
) -> None:
    room = fresh()
    now = BELL - timedelta(minutes=30)
    for gap, action in plan:
        now += timedelta(minutes=gap)
        room, _ = act(room, action, now)
        try:
            check_joinable(room)
            joinable = True
        except LessonRefused:
            joinable = False
        assert joinable is room.joinable is (room.state in (RoomState.OPEN, RoomState.LIVE))
