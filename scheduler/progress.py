"""Progress of a running solve, as the solver reports it (for a progress bar)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    phase: str  # "cover": fewest unmet periods; "goals": the soft goals at that cover
    seconds: float  # since the solve began
    time_limit: float
    objective: float  # best so far in this phase (cover: unmet periods)
    bound: float  # the solver's proven bound for this phase
    demand: int
    unmet: int | None  # best unmet periods known so far, once there is one

    @property
    def percent(self) -> int:
        """Share of the time limit used, 100 only at the end (solves stop early when proven)."""
        return max(0, min(99, int(100 * self.seconds / max(self.time_limit, 1e-9))))


OnProgress = Callable[[Progress], None]
