"""Solving a large region county by county.

Pairing rarely crosses a county (中心校带教学点 works inside a township, at most a
county), so a city or a province splits into independent county models, each small
enough for CP-SAT to cover well. The counties are solved one after another, each
with every core: one CP-SAT worker per county in parallel processes was measured
to stay at the greedy plan (M county, 12 s: 684 periods), where two workers reach
the proven best cover in 6 s (741). Each county gets an equal share of the time
that is left, so model building is paid for and the whole keeps to its limit.
Lessons across counties (a famous school teaching another county) are not
considered here.
"""

from __future__ import annotations

import time
from dataclasses import replace

from scheduler.instance import county_of
from scheduler.model import Directory
from scheduler.plan import Parameters, Timetable
from scheduler.solver import solve

SOLVE_SHARE = 0.85  # of a county's share of the time; the rest builds its model
MIN_COUNTY_SECONDS = 1.0


def split_by_county(directory: Directory) -> list[Directory]:
    """One directory per county, each holding its schools and everything that hangs off them."""
    county = {s.id: county_of(s.region) for s in directory.schools}
    class_county = {c.id: county[c.school_id] for c in directory.classes}
    teacher_county = {t.id: county[t.school_id] for t in directory.teachers}
    owner_county = class_county | teacher_county
    parts = []
    for code in sorted(set(county.values())):
        schools = tuple(s for s in directory.schools if county[s.id] == code)
        parts.append(
            replace(
                directory,
                schools=schools,
                classrooms=tuple(r for r in directory.classrooms if county[r.school_id] == code),
                teachers=tuple(t for t in directory.teachers if teacher_county[t.id] == code),
                classes=tuple(c for c in directory.classes if class_county[c.id] == code),
                needs=tuple(n for n in directory.needs if class_county.get(n.class_id) == code),
                busy=tuple(b for b in directory.busy if owner_county.get(b.owner_id) == code),
                previous=tuple(
                    p for p in directory.previous if class_county.get(p.class_id) == code
                ),
            )
        )
    return parts


def solve_by_county(
    directory: Directory,
    params: Parameters | None = None,
    *,
    time_limit: float = 60.0,
    workers: int | None = None,
) -> Timetable:
    """Solve each county on its own, in turn, and merge the plans."""
    params = params or Parameters()
    started = time.monotonic()
    parts = split_by_county(directory)
    plans = []
    for n, part in enumerate(parts):
        left = time_limit - (time.monotonic() - started)
        share = max(MIN_COUNTY_SECONDS, left / (len(parts) - n) * SOLVE_SHARE)
        plans.append(solve(part, params, time_limit=share, workers=workers))
    lessons = []
    for n, lesson in enumerate(
        sorted((le for plan in plans for le in plan.lessons),
               key=lambda le: (le.day, le.period, le.teacher_id)),
        start=1,
    ):  # fmt: skip
        lessons.append(replace(lesson, id=f"L{n:05d}"))
    statuses = {plan.status for plan in plans}
    covers = [(p.stats.get("cover_unmet", -1), p.stats.get("cover_unmet_bound", -1)) for p in plans]
    known = all(found >= 0 and floor >= 0 for found, floor in covers)
    return Timetable(
        status=statuses.pop() if len(statuses) == 1 else "FEASIBLE",
        lessons=tuple(lessons),
        unmet=tuple(u for plan in plans for u in plan.unmet),
        objective=sum(plan.objective for plan in plans),
        bound=sum(plan.bound for plan in plans),
        seconds=time.monotonic() - started,
        demand=sum(plan.demand for plan in plans),
        scheduled=sum(plan.scheduled for plan in plans),
        stats={
            "counties": len(parts),
            "x_vars": sum(p.stats.get("x_vars", 0) for p in plans),
            "cover_unmet": sum(f for f, _ in covers) if known else -1,
            "cover_unmet_bound": sum(b for _, b in covers) if known else -1,
            "counties_cover_proven": sum(f == b >= 0 for f, b in covers),
        },
    )
