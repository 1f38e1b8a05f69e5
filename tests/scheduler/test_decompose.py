"""County-by-county solving: the split loses nothing and the merged plan is valid."""

from __future__ import annotations

import pytest

from scheduler.decompose import solve_by_county, split_by_county
from scheduler.instance import Instance
from scheduler.rules import violations
from tests.benchmarks import synthetic_region
from tests.benchmarks.synthetic_region import region


def test_the_split_partitions_every_record_by_county() -> None:
    directory = region("L", 3)
    parts = split_by_county(directory)
    assert len(parts) == 8
    for name in ("schools", "classrooms", "teachers", "classes", "needs", "busy"):
        pieces = [item for part in parts for item in getattr(part, name)]
        assert sorted(pieces, key=repr) == sorted(getattr(directory, name), key=repr), name


def test_counties_solved_apart_merge_into_one_valid_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(synthetic_region.TIERS, "two", (4, 2, 2))
    directory = region("two", 5)
    plan = solve_by_county(directory, time_limit=4, workers=2)
    assert plan.stats["counties"] == 2
    assert violations(Instance(directory), plan) == []
    assert plan.scheduled + sum(u.periods for u in plan.unmet) == plan.demand
    assert len({le.id for le in plan.lessons}) == len(plan.lessons)
