"""The first phase's trials: one teacher per need first, then fewer restrictions."""

from __future__ import annotations

from scheduler.instance import Instance
from scheduler.model import Busy
from scheduler.rules import violations
from scheduler.solver import solve
from tests.scheduler.builders import tiny, with_busy


def test_a_need_no_single_teacher_can_cover_is_covered_by_two() -> None:
    # each teacher is free in one slot only: one teacher per need, the trials' first
    # restriction (and the greedy plan's rule), covers one period of the two
    free = {"t0": (1, 1), "t1": (2, 1)}
    busy = [Busy(t, d, p) for t, slot in free.items() for d in range(1, 6)
            for p in range(1, 5) if (d, p) != slot]  # fmt: skip
    directory = with_busy(tiny(points=1, periods=2, teachers=2), *busy)
    plan = solve(directory, time_limit=10, workers=2)
    assert violations(Instance(directory), plan) == []
    assert plan.scheduled == plan.demand == 2
    assert {(le.teacher_id, le.day, le.period) for le in plan.lessons} == {
        ("t0", 1, 1),
        ("t1", 2, 1),
    }
    assert plan.stats["cover_unmet"] == plan.stats["cover_unmet_bound"] == 0
