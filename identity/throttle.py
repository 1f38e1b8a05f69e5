"""Login throttling: failures counted per account and per address in a window.

Pure: the caller loads the current window for a key, asks ``retry_after``, and
stores what ``record_failure`` returns. Keys are counted whether or not the
account exists, so throttling never reveals which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta


ACCOUNT_POLICY = ThrottlePolicy(5, timedelta(minutes=15), timedelta(minutes=15))
ADDRESS_POLICY = ThrottlePolicy(20, timedelta(minutes=15), timedelta(minutes=15))


@dataclass(frozen=True)
class FailureWindow:
    """Failures for one key since ``started``; locked until ``locked_until``."""

    key: str
    failures: int
    started: datetime
    locked_until: datetime | None = None


def retry_after(window: FailureWindow | None, now: datetime) -> int:
    """Seconds until ``key`` may try again; 0 if it may try now."""
    if window is None or window.locked_until is None or window.locked_until <= now:
        return 0
    return max(1, int((window.locked_until - now).total_seconds() + 0.999))


def record_failure(
    window: FailureWindow | None, key: str, policy: ThrottlePolicy, now: datetime
) -> FailureWindow:
    """The window after one more failure for ``key`` at ``now``."""
    if window is None or now - window.started >= policy.window:
        window = FailureWindow(key, 0, now)
    failures = window.failures + 1
    locked_until = now + policy.lockout if failures >= policy.max_failures else None
    return FailureWindow(key, failures, window.started, locked_until)
