"""The first phase's trials: one teacher per need first, then fewer restrictions."""

from __future__ import annotations

from pytest import MonkeyPatch

from scheduler import solver
from scheduler.greedy import greedy
from scheduler.instance import Instance
from scheduler.model import Busy
from scheduler.plan import Parameters
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


def test_a_second_phase_kept_to_one_teacher_reports_the_lp_bound_only(
    monkeypatch: MonkeyPatch,
) -> None:
    # one output room, three one-period classes that cannot share a lesson: the greedy
    # plan takes the first slot for tp0-c and leaves tp1-c without one, so the trials run
    monkeypatch.setattr(solver, "LNS_ONLY_FROM", 0)  # as on M and larger models
    slots = {"tp0-c": {(1, 1), (1, 3)}, "tp1-c": {(1, 1), (1, 2)}, "tp2-c": {(1, 2)}}
    teachers = {"t0": {(1, 1), (1, 2), (1, 3)}, "t1": {(1, 1), (1, 2), (1, 3)}}
    busy = [Busy(owner, d, p) for owner, free in (slots | teachers).items()
            for d in range(1, 6) for p in range(1, 5) if (d, p) not in free]  # fmt: skip
    directory = with_busy(tiny(points=3, periods=1, teachers=2), *busy)
    params = Parameters(max_receivers=1)
    assert greedy(Instance(directory, params)).scheduled == 2
    plan = solve(directory, params, time_limit=10, workers=2)
    assert violations(Instance(directory, params), plan) == []
    assert plan.scheduled == plan.demand == 3
    # CP-SAT's bound on the restricted model is not a bound on the plan's: left out
    assert plan.stats["bound_cp_sat"] == -1
    assert plan.bound == plan.stats["bound_lp"] <= plan.objective
    assert (plan.status == "OPTIMAL") == (plan.bound >= plan.objective)
