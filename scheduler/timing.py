"""Bell-time alignment between an output school and a receiving school.

Schools keep their own bell schedules; a lesson taught in the output school's
period ``p`` lands in the receiving class's local period that overlaps it for at
least ``min_overlap`` minutes, if any.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

from scheduler.model import BellPeriod

DAYS = (1, 2, 3, 4, 5)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def overlap_minutes(a: BellPeriod, b: BellPeriod) -> int:
    start = max(_minutes(a.start), _minutes(b.start))
    end = min(_minutes(a.end), _minutes(b.end))
    return max(0, end - start)


def schedules(bells: Iterable[BellPeriod]) -> dict[str, dict[int, BellPeriod]]:
    """Bell periods by schedule id, then by period number."""
    table: dict[str, dict[int, BellPeriod]] = {}
    for bell in bells:
        table.setdefault(bell.schedule_id, {})[bell.period] = bell
    return table


def alignment(
    output: dict[int, BellPeriod], local: dict[int, BellPeriod], min_overlap: int
) -> dict[int, int]:
    """Output period → the local period it overlaps most, when by ≥ ``min_overlap`` minutes."""
    aligned = {}
    for number, bell in output.items():
        best = max(local.values(), key=lambda other: overlap_minutes(bell, other), default=None)
        if best is not None and overlap_minutes(bell, best) >= min_overlap:
            aligned[number] = best.period
    return aligned
