"""Login throttling: the window, the lockout, the reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity.throttle import ThrottlePolicy, record_failure, retry_after

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(3, timedelta(minutes=10), timedelta(minutes=5))


def test_the_nth_failure_in_the_window_locks_for_the_lockout() -> None:
    window = None
    for minute in range(3):
        assert retry_after(window, T0 + timedelta(minutes=minute)) == 0
        window = record_failure(window, "k", POLICY, T0 + timedelta(minutes=minute))
    assert window is not None and window.failures == 3
    assert retry_after(window, T0 + timedelta(minutes=2)) == 300
    assert retry_after(window, T0 + timedelta(minutes=6, seconds=59)) == 1
    assert retry_after(window, T0 + timedelta(minutes=7)) == 0


def test_failures_older_than_the_window_start_a_new_count() -> None:
    window = record_failure(None, "k", POLICY, T0)
    window = record_failure(window, "k", POLICY, T0 + timedelta(minutes=1))
    window = record_failure(window, "k", POLICY, T0 + timedelta(minutes=11))
    assert window.failures == 1 and window.locked_until is None
    assert window.started == T0 + timedelta(minutes=11)
