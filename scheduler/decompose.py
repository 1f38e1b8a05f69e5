"""Solving a large region county by county, in parallel processes.

Pairing rarely crosses a county (中心校带教学点 works inside a township, at most a
county), so a city or a province splits into independent county models: each is
small enough for CP-SAT to cover well, and the counties run on all cores at once.
Lessons across counties (a famous school teaching another county) are not
considered here.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from scheduler.instance import county_of
from scheduler.model import Directory
from scheduler.plan import Parameters, Timetable
from scheduler.solver import solve


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


def _solve_part(args: tuple[Directory, Parameters, float]) -> Timetable:
    directory, params, seconds = args
    return solve(directory, params, time_limit=seconds, workers=1)


def solve_by_county(
    directory: Directory,
    params: Parameters | None = None,
    *,
    time_limit: float = 60.0,
    processes: int | None = None,
) -> Timetable:
    """Solve each county on its own (``processes`` at a time) and merge the plans."""
    params = params or Parameters()
    parts = split_by_county(directory)
    processes = max(1, min(processes or os.cpu_count() or 1, len(parts)))
    rounds = -(-len(parts) // processes)
    per_part = max(1.0, time_limit / rounds)
    started = time.monotonic()
    with ProcessPoolExecutor(processes) as pool:
        plans = list(pool.map(_solve_part, [(part, params, per_part) for part in parts]))
    lessons = []
    for n, lesson in enumerate(
        sorted((le for plan in plans for le in plan.lessons),
               key=lambda le: (le.day, le.period, le.teacher_id)),
        start=1,
    ):  # fmt: skip
        lessons.append(replace(lesson, id=f"L{n:05d}"))
    statuses = {plan.status for plan in plans}
    return Timetable(
        status=statuses.pop() if len(statuses) == 1 else "FEASIBLE",
        lessons=tuple(lessons),
        unmet=tuple(u for plan in plans for u in plan.unmet),
        objective=sum(plan.objective for plan in plans),
        bound=sum(plan.bound for plan in plans),
        seconds=time.monotonic() - started,
        demand=sum(plan.demand for plan in plans),
        scheduled=sum(plan.scheduled for plan in plans),
        stats={"counties": len(parts), "x_vars": sum(p.stats.get("x_vars", 0) for p in plans)},
    )
