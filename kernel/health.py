"""Health of the live-state backend: ``ok`` or ``degraded``, with the reason.

Adapters report each success and failure of a backend call; pages and ``/health``
read the state to tell people that live state is degraded instead of failing
silently. The clock is injected so the record is testable with fixed times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger(__name__)

HealthState = Literal["ok", "degraded"]


@dataclass(frozen=True)
class HealthReport:
    """A snapshot of the backend's health."""

    state: HealthState
    since: float
    component: str | None
    error: str | None


class LiveStateHealth:
    """Tracks whether the live-state backend answers, component by component."""

    def __init__(self, backend: str, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self._clock = clock
        self._report = HealthReport("ok", clock(), None, None)

    @property
    def report(self) -> HealthReport:
        return self._report

    @property
    def degraded(self) -> bool:
        return self._report.state == "degraded"

    def failure(self, component: str, error: BaseException) -> None:
        """Record that ``component`` could not reach the backend."""
        if not self.degraded:
            logger.warning("LiveState(%s) degraded: %s failed: %s", self.backend, component, error)
            self._report = HealthReport("degraded", self._clock(), component, str(error))

    def success(self, component: str) -> None:
        """Record that ``component`` reached the backend again."""
        if self.degraded:
            logger.info("LiveState(%s) recovered via %s", self.backend, component)
            self._report = HealthReport("ok", self._clock(), None, None)
