"""Login throttling: failures counted per account and per address in a window.

Every attempt is counted atomically by the store *before* the password is checked
(so parallel guesses cannot slip past the limit); a success forgives its attempt.
The decisions are here, pure. Keys are counted whether or not the account exists,
so throttling never reveals which accounts exist.
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
# A whole school often shares one address (NAT): only failures count, successes
# are forgiven, and the limit is generous; each account still gets only five.
ADDRESS_POLICY = ThrottlePolicy(50, timedelta(minutes=15), timedelta(minutes=15))


@dataclass(frozen=True)
class FailureWindow:
    """Failures for one key since ``started``; locked until ``locked_until``."""

    key: str
    failures: int
    started: datetime
    locked_until: datetime | None = None


def retry_after(window: FailureWindow, policy: ThrottlePolicy, now: datetime) -> int:
    """Seconds to wait, judged on the window *after* counting this attempt; 0: go ahead.

    Attempts are counted before the password is checked, so a burst of parallel
    guesses is cut off at ``max_failures`` checks, not after them.
    """
    if window.locked_until is not None and window.locked_until > now:
        return max(1, int((window.locked_until - now).total_seconds() + 0.999))
    if window.failures > policy.max_failures:
        return int(policy.lockout.total_seconds())
    return 0


def lock_until(window: FailureWindow, policy: ThrottlePolicy, now: datetime) -> datetime | None:
    """After a failed check: the end of the lockout, if this failure reached the limit."""
    return now + policy.lockout if window.failures >= policy.max_failures else None
