"""County-by-county solving: the split loses nothing and the merged plan is valid; the
famous schools' second stage plans around the counties' lessons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.decompose import (
    cross_groups,
    famous_teachers,
    plan_region,
    solve_by_county,
    split_by_county,
)
from scheduler.instance import Instance, county_of
from scheduler.model import (
    Busy,
    Classroom,
    ClassroomRole,
    Directory,
    Region,
    RegionLevel,
    School,
    SchoolKind,
    Teacher,
)
from scheduler.plan import Parameters, Unmet, UnmetReason
from scheduler.progress import Progress
from scheduler.rules import violations
from scheduler.solver import settle, solve
from tests.benchmarks import synthetic_region
from tests.benchmarks.synthetic_region import region
from tests.scheduler.builders import tiny, with_busy

FAR_TOWN = "349922101"  # another county


def test_the_split_partitions_every_record_by_county() -> None:
    directory = region("L", 3)
    parts = split_by_county(directory)
    assert len(parts) == 8
    for name in ("schools", "classrooms", "teachers", "classes", "needs", "busy"):
        pieces = [item for part in parts for item in getattr(part, name)]
        assert sorted(pieces, key=repr) == sorted(getattr(directory, name), key=repr), name


def test_the_split_holds_the_famous_schools_teachers_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(synthetic_region.TIERS, "cities", (4, 2, 2, 1))
    directory = region("cities", 5)
    famous = famous_teachers(directory)
    assert len(famous) == 8
    parts = split_by_county(directory)
    teachers = sorted(t.id for part in parts for t in part.teachers)
    assert teachers == sorted(t.id for t in directory.teachers if t.id not in famous)
    busy = {b for part in parts for b in part.busy}
    assert {b for b in directory.busy if b.owner_id not in famous} == busy


def test_counties_solved_apart_merge_into_one_valid_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(synthetic_region.TIERS, "two", (4, 2, 2, 0))
    directory = region("two", 5)
    plan = solve_by_county(directory, time_limit=4, workers=2)
    assert plan.stats["counties"] == 2
    assert plan.stats["cross_groups"] == 0
    assert violations(Instance(directory), plan) == []
    assert plan.scheduled + sum(u.periods for u in plan.unmet) == plan.demand
    assert len({le.id for le in plan.lessons}) == len(plan.lessons)


def _with_famous(directory: Directory) -> Directory:
    """``directory`` plus a famous school in another county with one English teacher."""
    return replace(
        directory,
        regions=directory.regions
        + (
            Region("349922", "远山县", RegionLevel.COUNTY),
            Region(FAR_TOWN, "城关镇", RegionLevel.TOWNSHIP, "349922"),
        ),
        schools=directory.schools + (School("fs", "名校", SchoolKind.FAMOUS, FAR_TOWN, "day"),),
        classrooms=directory.classrooms
        + (Classroom("fs-out", "fs", ClassroomRole.OUTPUT, 20_000, 100_000),),
        teachers=directory.teachers
        + (Teacher("f0", "名师", "fs", ("英语",), (3, 4, 5, 6), 10, master=True),),
    )


def test_settle_takes_the_one_slot_the_fixed_plan_leaves() -> None:
    # one class, free only on Monday periods 1-3; the central teacher may teach 2
    free = {(1, 1), (1, 2), (1, 3)}
    busy = [Busy("tp0-c", d, p) for d in range(1, 6) for p in range(1, 5) if (d, p) not in free]
    directory = _with_famous(with_busy(tiny(points=1, periods=3, cap=2), *busy))
    local = replace(directory, teachers=tuple(t for t in directory.teachers if t.id != "f0"))
    fixed = solve(local, time_limit=5, workers=2)
    assert fixed.scheduled == 2
    used = {(le.day, le.period) for le in fixed.lessons}

    added = settle(directory, fixed, frozenset({"f0"}), time_limit=5, workers=2)

    assert (added.demand, added.scheduled, added.unmet) == (1, 1, ())
    [lesson] = added.lessons
    assert (lesson.teacher_id, lesson.class_ids, lesson.output_classroom_id) == (
        "f0", ("tp0-c",), "fs-out")  # fmt: skip
    assert {(lesson.day, lesson.period)} == free - used
    whole = replace(fixed, lessons=fixed.lessons + added.lessons, unmet=())
    assert violations(Instance(directory), whole) == []


def test_settle_refuses_teachers_who_teach_in_the_fixed_plan() -> None:
    directory = _with_famous(tiny(points=1, periods=1))
    fixed = solve(directory, time_limit=2, workers=1)
    teaching = frozenset(le.teacher_id for le in fixed.lessons)
    with pytest.raises(ValueError, match="no lessons in the fixed plan"):
        settle(directory, fixed, teaching, time_limit=1, workers=1)


def test_famous_schools_take_what_the_counties_left_across_counties(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(synthetic_region.TIERS, "cities", (8, 3, 2, 1))
    directory = region("cities", 5)
    counties_only = solve_by_county(
        replace(directory, teachers=tuple(
            t for t in directory.teachers if t.id not in famous_teachers(directory))),
        time_limit=6, workers=2,
    )  # fmt: skip
    plan = solve_by_county(directory, time_limit=12, workers=2)

    assert violations(Instance(directory), plan) == []
    assert plan.scheduled + sum(u.periods for u in plan.unmet) == plan.demand
    assert plan.stats["cross_groups"] == 1
    assert 0 < plan.stats["cross_scheduled"] <= plan.stats["cross_demand"]
    famous = [le for le in plan.lessons if le.teacher_id in famous_teachers(directory)]
    schools = {s.id: s for s in directory.schools}
    classes = {c.id: c for c in directory.classes}
    home = county_of(schools["fs0"].region)
    reached = {
        county_of(schools[classes[c].school_id].region) for le in famous for c in le.class_ids
    }
    assert reached - {home}, "the famous school teaches another county's points"
    assert plan.scheduled > counties_only.scheduled
    assert len({le.id for le in plan.lessons}) == len(plan.lessons)


def test_cross_groups_split_needs_by_the_famous_schools_they_can_reach() -> None:
    directory = _with_famous(tiny(points=2, periods=2))
    directory = replace(
        directory,
        schools=directory.schools + (School("fs2", "名校二", SchoolKind.FAMOUS, FAR_TOWN, "day"),),
        classrooms=directory.classrooms
        + (Classroom("fs2-out", "fs2", ClassroomRole.OUTPUT, 20_000, 100_000),),
        teachers=directory.teachers
        + (
            Teacher("g0", "名师二", "fs2", ("科学",), (3,), 10, master=True),
            Teacher("g1", "名师三", "fs2", ("英语",), (3,), 10, master=True),
        ),
    )
    unmet = (
        Unmet("tp0-c", "英语", 1, UnmetReason.CAPACITY),
        Unmet("tp1-c", "英语", 2, UnmetReason.NO_COMMON_SLOT),
        Unmet("tp0-c", "科学", 1, UnmetReason.NO_TEACHER),
        Unmet("tp1-c", "音乐", 1, UnmetReason.NO_TEACHER),  # no famous teacher: left out
    )
    # one candidate each: English reaches fs only, science fs2 only
    apart = cross_groups(directory, unmet, Parameters(max_candidates=1))
    assert [(sorted(t), [(u.class_id, u.subject) for u in us]) for t, us in apart] == [
        (["f0"], [("tp0-c", "英语"), ("tp1-c", "英语")]),
        (["g0", "g1"], [("tp0-c", "科学")]),
    ]
    # English reaches both schools: one group
    [(teachers, needs)] = cross_groups(directory, unmet, Parameters())
    assert sorted(teachers) == ["f0", "g0", "g1"]
    assert len(needs) == 3


def test_a_region_is_planned_by_county_when_famous_schools_teach_across_counties(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one_county = tiny(points=2)
    assert "counties" not in plan_region(one_county, time_limit=2, workers=1).stats
    monkeypatch.setitem(synthetic_region.TIERS, "cities", (4, 2, 2, 1))
    directory = region("cities", 5)
    heard: list[Progress] = []
    plan = plan_region(directory, time_limit=8, workers=2, progress=heard.append)
    assert plan.stats["counties"] == 2
    assert [p.phase for p in heard] == ["counties", "counties"] + ["famous"] * plan.stats[
        "cross_groups"
    ]
    unmet = [p.unmet if p.unmet is not None else -1 for p in heard]
    assert unmet == sorted(unmet, reverse=True)  # periods not yet planned count as unmet
    assert unmet[0] > unmet[-1] == plan.demand - plan.scheduled
    assert {p.demand for p in heard} == {plan.demand}
    no_famous = replace(
        directory,
        teachers=tuple(t for t in directory.teachers if t.id not in famous_teachers(directory)),
    )
    assert "counties" not in plan_region(no_famous, time_limit=4, workers=2).stats
