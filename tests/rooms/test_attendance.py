"""Presence and attendance: who joined a lesson, when, for how long; who is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rooms.attendance import GRACE, Attendance
from rooms.events import AttendanceAlert

BELL = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
LESSON = "P1-3-20261123"
A, B, C = "classroom:A", "classroom:B", "classroom:C"


def minutes(n: float) -> datetime:
    return BELL + timedelta(minutes=n)


def lesson(*expected: str) -> Attendance:
    return Attendance(LESSON, BELL, expected or (A, B))


def test_the_grace_is_two_minutes() -> None:
    assert GRACE == timedelta(minutes=2)


def test_no_alert_within_the_grace() -> None:
    att = lesson()
    assert att.check(minutes(-10)) == []
    assert att.check(minutes(2) - timedelta(microseconds=1)) == []


def test_a_classroom_not_joined_two_minutes_after_the_bell_raises_one_alert() -> None:
    att = lesson()
    att.joined(A, minutes(-3))
    alerts = att.check(minutes(2))
    assert len(alerts) == 1
    alert = alerts[0]
    assert isinstance(alert, AttendanceAlert)
    assert (alert.identity, alert.active, alert.at, alert.key) == (B, True, minutes(2), LESSON)
    assert att.check(minutes(3)) == []
    assert att.check(minutes(30)) == []


def test_every_missing_classroom_is_alerted_in_expected_order() -> None:
    att = lesson(C, A, B)
    att.joined(A, minutes(0))
    assert [(a.identity, a.active) for a in att.check(minutes(5))] == [(C, True), (B, True)]
    assert att.missing() == [C, B]


def test_joining_late_clears_the_alert_once() -> None:
    att = lesson()
    att.joined(A, minutes(0))
    att.check(minutes(2))
    cleared = att.joined(B, minutes(7))
    assert [(a.identity, a.active, a.at) for a in cleared] == [(B, False, minutes(7))]
    assert att.missing() == [] and att.check(minutes(8)) == []
    att.left(B, minutes(9))
    assert att.joined(B, minutes(10)) == []  # coming back is not news
    assert att.check(minutes(11)) == []  # nor is being away once joined


def test_joining_without_an_alert_emits_nothing() -> None:
    att = lesson()
    assert att.joined(A, minutes(-5)) == []
    assert att.joined(B, minutes(1)) == []
    assert att.check(minutes(2)) == []


def test_an_unexpected_participant_is_tracked_but_never_alerted() -> None:
    att = lesson(A)
    assert att.joined("inspector:7", minutes(1)) == []
    assert att.present() == ["inspector:7"]
    assert [a.identity for a in att.check(minutes(3))] == [A]


def test_minutes_present_across_a_drop_and_a_rejoin() -> None:
    att = lesson()
    att.joined(A, minutes(-1))
    att.left(A, minutes(9))  # 10 minutes
    assert att.present() == []
    att.joined(A, minutes(15))
    assert att.present() == [A]
    (row,) = att.summary(minutes(40))  # and 25 more
    assert row == {
        "identity": A,
        "first_joined": minutes(-1).isoformat(),
        "present": True,
        "minutes": 35.0,
        "joins": 2,
        "join_delay_s": -60.0,
    }
    att.left(A, minutes(40))
    (row,) = att.summary(minutes(90))
    assert row["minutes"] == 35.0 and row["present"] is False and row["joins"] == 2


def test_a_second_join_while_present_neither_resets_nor_counts() -> None:
    att = lesson()
    att.joined(A, minutes(0))
    att.joined(A, minutes(10))  # a second tab, or a duplicate media.joined
    (row,) = att.summary(minutes(20))
    assert row["minutes"] == 20.0 and row["joins"] == 1


def test_leaving_twice_or_without_joining_counts_nothing() -> None:
    att = lesson()
    att.left(B, minutes(1))
    assert att.missing() == [A, B]
    att.joined(A, minutes(0))
    att.left(A, minutes(6))
    att.left(A, minutes(20))
    (row,) = att.summary(minutes(30))
    assert row["minutes"] == 6.0


def test_join_delay_is_negative_when_early_and_none_when_absent() -> None:
    att = lesson()
    att.joined(A, minutes(-3))
    att.joined(B, minutes(4.5))
    assert att.join_delay(A) == -180.0
    assert att.join_delay(B) == 270.0
    assert att.join_delay(C) is None


def test_join_delay_is_from_the_first_join() -> None:
    att = lesson()
    att.joined(A, minutes(1))
    att.left(A, minutes(2))
    att.joined(A, minutes(30))
    assert att.join_delay(A) == 60.0


# --- properties -------------------------------------------------------------------------

moves = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=600),  # seconds since the previous move
        st.sampled_from(["join", "leave", "check"]),
        st.sampled_from([A, B, C]),
    ),
    max_size=40,
)


@given(moves)
def test_each_missing_classroom_is_alerted_at_most_once_and_cleared_at_most_once(
    plan: list[tuple[int, str, str]],
) -> None:
    att = lesson(A, B, C)
    now = minutes(-5)
    raised: list[str] = []
    cleared: list[str] = []
    present_time: dict[str, float] = {}
    since: dict[str, datetime] = {}
    for gap, move, who in plan:
        now += timedelta(seconds=gap)
        if move == "join":
            cleared += [a.identity for a in att.joined(who, now) if not a.active]
            since.setdefault(who, now)
        elif move == "leave":
            att.left(who, now)
            if who in since:
                present_time[who] = (
                    present_time.get(who, 0.0) + (now - since.pop(who)).total_seconds()
                )
        else:
            alerts = att.check(now)
            assert all(a.active for a in alerts)
            raised += [a.identity for a in alerts]
            if now >= BELL + GRACE:
                assert att.check(now) == []
                assert set(att.missing()) == set(raised) - set(cleared)
            else:
                assert alerts == []
    assert len(raised) == len(set(raised))
    assert len(cleared) == len(set(cleared))
    assert set(cleared) <= set(raised)
    # what stays alerted is exactly what is still missing among the raised
    assert set(raised) - set(cleared) == set(raised) & set(att.missing())
    # time present matches an independent count
    for row in att.summary(now):
        who = str(row["identity"])
        seconds = present_time.get(who, 0.0) + (
            (now - since[who]).total_seconds() if who in since else 0.0
        )
        assert row["minutes"] == round(seconds / 60, 1)
        assert row["present"] is (who in since)
