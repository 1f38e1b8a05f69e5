"""Login throttling decisions, judged on the window after counting the attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity.throttle import FailureWindow, ThrottlePolicy, lock_until, retry_after

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(3, timedelta(minutes=10), timedelta(minutes=5))


def window(failures: int, locked_until: datetime | None = None) -> FailureWindow:
    return FailureWindow("k", failures, T0, locked_until)


def test_attempts_up_to_the_limit_go_ahead() -> None:
    assert [retry_after(window(n), POLICY, T0) for n in (1, 2, 3)] == [0, 0, 0]


def test_attempts_beyond_the_limit_in_a_burst_wait_the_lockout() -> None:
    assert retry_after(window(4), POLICY, T0) == 300


def test_a_lock_counts_down() -> None:
    locked = window(3, T0 + timedelta(minutes=5))
    assert retry_after(locked, POLICY, T0 + timedelta(minutes=2)) == 180
    assert retry_after(locked, POLICY, T0 + timedelta(minutes=4, seconds=59)) == 1
    assert retry_after(locked, POLICY, T0 + timedelta(minutes=5)) == 0


def test_the_failure_that_reaches_the_limit_locks() -> None:
    assert lock_until(window(2), POLICY, T0) is None
    assert lock_until(window(3), POLICY, T0) == T0 + timedelta(minutes=5)
