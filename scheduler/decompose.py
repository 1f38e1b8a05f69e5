"""Solving a large region county by county, then the famous schools across counties.

Pairing rarely crosses a county (中心校带教学点 works inside a township, at most a
county), so a city or a province splits into independent county models, each small
enough for CP-SAT to cover well. The counties are solved one after another, each
with every core: one CP-SAT worker per county in parallel processes was measured
to stay at the greedy plan (M county, 12 s: 684 periods), where two workers reach
the proven best cover in 6 s (741). Each county gets an equal share of the time
that is left, so model building is paid for and the whole keeps to its limit.

Famous schools (名校) teach across counties. Their teachers are held out of the
county stage; a second stage (``solver.settle``) gives them the periods the
counties left unmet, around the county plans as they stand. Its needs are split
into groups that share no famous school (a class's candidates are the nearest
famous teachers: its city's first), each solved in turn.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace

from scheduler.instance import Instance, county_of
from scheduler.model import Directory, SchoolKind
from scheduler.plan import Parameters, Timetable, Unmet, from_lessons
from scheduler.progress import OnProgress, Progress
from scheduler.solver import settle, solve

SOLVE_SHARE = 0.85  # of a county's share of the time; the rest builds its model
MIN_COUNTY_SECONDS = 1.0
CROSS_SHARE = 0.15  # of the time, for the famous schools' stage, when the region has any
MIN_GROUP_SECONDS = 1.0
SINGLE_MODEL_CLASSES = 2000  # receiving classes one model plans well (L, 900: 60 s)


def plan_region(
    directory: Directory,
    params: Parameters | None = None,
    *,
    time_limit: float = 60.0,
    workers: int | None = None,
    progress: OnProgress | None = None,
) -> Timetable:
    """Plan a region the way that suits it: one model for a county or a city, county by
    county (famous schools after) for a larger region or one whose famous schools teach
    across counties; a single model would pass over famous teachers, who are farther
    than every central school."""
    counties = {county_of(s.region) for s in directory.schools}
    if len(counties) > 1 and (
        famous_teachers(directory) or len(directory.classes) > SINGLE_MODEL_CLASSES
    ):
        return solve_by_county(
            directory, params, time_limit=time_limit, workers=workers, progress=progress
        )
    return solve(directory, params, time_limit=time_limit, workers=workers, progress=progress)


def famous_teachers(directory: Directory) -> frozenset[str]:
    """The teachers of famous schools: they teach across counties."""
    famous = {s.id for s in directory.schools if s.kind is SchoolKind.FAMOUS}
    return frozenset(t.id for t in directory.teachers if t.school_id in famous)


def split_by_county(directory: Directory) -> list[Directory]:
    """One directory per county, each holding its schools and everything that hangs off
    them, but the famous schools' teachers (the second stage's)."""
    county = {s.id: county_of(s.region) for s in directory.schools}
    famous = famous_teachers(directory)
    class_county = {c.id: county[c.school_id] for c in directory.classes}
    teacher_county = {t.id: county[t.school_id] for t in directory.teachers if t.id not in famous}
    owner_county = class_county | teacher_county
    parts = []
    for code in sorted(set(county.values())):
        schools = tuple(s for s in directory.schools if county[s.id] == code)
        parts.append(
            replace(
                directory,
                schools=schools,
                classrooms=tuple(r for r in directory.classrooms if county[r.school_id] == code),
                teachers=tuple(t for t in directory.teachers if teacher_county.get(t.id) == code),
                classes=tuple(c for c in directory.classes if class_county[c.id] == code),
                needs=tuple(n for n in directory.needs if class_county.get(n.class_id) == code),
                busy=tuple(b for b in directory.busy if owner_county.get(b.owner_id) == code),
                previous=tuple(
                    p for p in directory.previous if class_county.get(p.class_id) == code
                ),
            )
        )
    return parts


def cross_groups(
    directory: Directory, unmet: tuple[Unmet, ...], params: Parameters
) -> list[tuple[frozenset[str], tuple[Unmet, ...]]]:
    """The unmet needs a famous teacher could take, in groups that share no famous
    school: (the group's famous teachers, its unmet needs), largest first."""
    famous = famous_teachers(directory)
    if not famous:
        return []
    inst = Instance(replace(directory, teachers=tuple(
        t for t in directory.teachers if t.id in famous)), params)  # fmt: skip
    parent: dict[str, str] = {}

    def root(school: str) -> str:
        while parent.setdefault(school, school) != school:
            school = parent[school]
        return school

    reach: list[tuple[Unmet, list[str]]] = []
    for u in unmet:
        if u.class_id not in inst.classes:
            continue
        schools = sorted(
            {inst.teachers[t].school_id for t in inst.candidates(u.class_id, u.subject)}
        )
        if not schools:
            continue
        for other in schools[1:]:
            parent[root(other)] = root(schools[0])
        reach.append((u, schools))
    needs: dict[str, list[Unmet]] = defaultdict(list)
    for u, schools in reach:
        needs[root(schools[0])].append(u)
    groups = []
    for top, members in needs.items():
        joined = {s for s in parent if root(s) == top}
        teachers = frozenset(t for t in famous if inst.teachers[t].school_id in joined)
        groups.append((teachers, tuple(members)))
    return sorted(groups, key=lambda g: (-sum(u.periods for u in g[1]), sorted(g[0])))


def solve_by_county(
    directory: Directory,
    params: Parameters | None = None,
    *,
    time_limit: float = 60.0,
    workers: int | None = None,
    progress: OnProgress | None = None,
) -> Timetable:
    """Solve each county on its own, in turn, then the famous schools across counties,
    and merge the plans. ``progress`` hears of each county and group as it is done."""
    params = params or Parameters()
    started = time.monotonic()
    parts = split_by_county(directory)
    across = bool(famous_teachers(directory))
    county_limit = time_limit * (1 - CROSS_SHARE) if across else time_limit
    demand = sum(n.periods_per_week for n in directory.needs if n.periods_per_week > 0)
    plans: list[Timetable] = []
    stage: list[Timetable] = []

    def report(phase: str) -> None:
        if progress is None:
            return
        objective, bound = _staged(params, plans, stage)
        planned = sum(p.scheduled for p in plans + stage)  # not planned yet: unmet so far
        progress(
            Progress(phase, time.monotonic() - started, time_limit, objective, bound, demand,
                     demand - planned)
        )  # fmt: skip

    for n, part in enumerate(parts):
        left = county_limit - (time.monotonic() - started)
        share = max(MIN_COUNTY_SECONDS, left / (len(parts) - n) * SOLVE_SHARE)
        plans.append(solve(part, params, time_limit=share, workers=workers))
        report("counties")
    counties = _merge(directory, params, plans, [])
    if across:
        groups = cross_groups(directory, counties.unmet, params)
        fixed = counties
        for n, (teachers, unmet) in enumerate(groups):
            left = time_limit - (time.monotonic() - started)
            share = max(MIN_GROUP_SECONDS, left / (len(groups) - n) * SOLVE_SHARE)
            plan = settle(directory, replace(fixed, unmet=unmet), teachers, params,
                          time_limit=share, workers=workers)  # fmt: skip
            stage.append(plan)
            fixed = replace(fixed, lessons=fixed.lessons + plan.lessons)
            report("famous")
    merged = _merge(directory, params, plans, stage)
    return replace(merged, seconds=time.monotonic() - started)


def _staged(
    params: Parameters, plans: list[Timetable], stage: list[Timetable]
) -> tuple[float, float]:
    """Objective and bound of the staged problem: the counties' sums, with the unmet
    periods handed to the second stage counted there instead. The bound proves each
    stage given the one before, not the region's optimum."""
    handed = sum(p.demand for p in stage) * params.weight_unmet
    done = plans + stage
    return sum(p.objective for p in done) - handed, sum(p.bound for p in done) - handed


def _merge(
    directory: Directory, params: Parameters, plans: list[Timetable], stage: list[Timetable]
) -> Timetable:
    """The counties' plans and the famous schools' lessons as one plan; lessons renumbered,
    objective and bound the staged problem's (``_staged``)."""
    lessons = []
    for n, lesson in enumerate(
        sorted((le for plan in plans + stage for le in plan.lessons),
               key=lambda le: (le.day, le.period, le.teacher_id)),
        start=1,
    ):  # fmt: skip
        lessons.append(replace(lesson, id=f"L{n:05d}"))
    statuses = {plan.status for plan in plans + stage}
    reasons = {(u.class_id, u.subject): u.reason for plan in plans for u in plan.unmet}
    counted = from_lessons(directory.needs, lessons, "")
    covers = [(p.stats.get("cover_unmet", -1), p.stats.get("cover_unmet_bound", -1)) for p in plans]
    known = all(found >= 0 and floor >= 0 for found, floor in covers)
    objective, bound = _staged(params, plans, stage)
    return Timetable(
        status=statuses.pop() if len(statuses) == 1 else "FEASIBLE",
        lessons=tuple(lessons),
        unmet=tuple(
            replace(u, reason=reasons.get((u.class_id, u.subject), u.reason)) for u in counted.unmet
        ),  # fmt: skip
        objective=objective,
        bound=bound,
        seconds=0.0,
        demand=counted.demand,
        scheduled=counted.scheduled,
        stats={
            "counties": len(plans),
            "x_vars": sum(p.stats.get("x_vars", 0) for p in plans + stage),
            "cover_unmet": sum(f for f, _ in covers) if known else -1,
            "cover_unmet_bound": sum(b for _, b in covers) if known else -1,
            "counties_cover_proven": sum(f == b >= 0 for f, b in covers),
            "cross_groups": len(stage),
            "cross_demand": sum(p.demand for p in stage),
            "cross_scheduled": sum(p.scheduled for p in stage),
            # groups whose cover is proven: no plan of the second stage covers more
            "cross_groups_cover_proven": sum(
                p.stats.get("cover_unmet", -1) == p.stats.get("cover_unmet_bound", -2)
                for p in stage
            ),
        },
    )
