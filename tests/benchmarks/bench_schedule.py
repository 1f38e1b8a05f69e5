"""Benchmark: plan a synthetic region of one tier; JSON on stdout.

    sanke bench schedule --tier S|M|L|XL [--seed N] [--time-limit S] [--json]
                         [--fet [--fet-time-limit S]]

Prints the solver's summary (status, demand, scheduled, unmet, objective, bound,
seconds, lessons), the greedy baseline's ``scheduled`` on the same instance, the
famous schools' cross-county stage when solved county by county (XL), the
sizes, and the peak memory of the process. With ``--fet`` (Debian package ``fet``,
``fet-cl``), also times FET on the timing step with the solver's groups fixed
(``scheduler.fet``): ``"fet": {activities, placed, seconds, status,
hard_rule_violations}``, or ``{"error": ...}`` when it cannot run.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scheduler.decompose import solve_by_county  # noqa: E402
from scheduler.fet import run_fet  # noqa: E402
from scheduler.greedy import greedy  # noqa: E402
from scheduler.instance import Instance  # noqa: E402
from scheduler.model import Directory  # noqa: E402
from scheduler.plan import Timetable, lesson_changes  # noqa: E402
from scheduler.rules import violations  # noqa: E402
from scheduler.solver import repair, solve  # noqa: E402
from tests.benchmarks.synthetic_region import TIERS, region  # noqa: E402

# XL: 9 of its 10 minutes, the rest for reading the input and writing the plan
DEFAULT_LIMIT = {"S": 10.0, "M": 10.0, "L": 60.0, "XL": 540.0}


def fet_figures(directory: Directory, plan: Timetable, time_limit: int) -> dict[str, object]:
    """FET on the solver's lessons, its placement checked against the hard rules."""
    instance = Instance(directory)
    try:
        done = run_fet(instance, plan, time_limit=time_limit)
    except Exception as exc:  # a benchmark reports, it does not crash
        return {"error": f"{type(exc).__name__}: {exc}"}
    if done.status.startswith("error"):
        return {"error": done.status.removeprefix("error: ")}
    placed_plan = Timetable(done.status, done.lessons, (), 0.0, 0.0, done.seconds)
    return {
        "activities": done.activities,
        "placed": done.placed,
        "seconds": round(done.seconds, 2),
        "status": done.status,
        "hard_rule_violations": len(violations(instance, placed_plan)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tier", choices=sorted(TIERS), default="M")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float)
    parser.add_argument("--repair-limit", type=float, default=1.0)
    parser.add_argument("--decompose", action="store_true", help="solve county by county")
    parser.add_argument("--json", action="store_true", help="(output is always JSON)")
    parser.add_argument("--fet", action="store_true", help="also time FET, groups fixed")
    parser.add_argument("--fet-time-limit", type=int, default=60, help="seconds for fet-cl")
    args = parser.parse_args()
    directory = region(args.tier, args.seed)
    started = time.perf_counter()
    baseline = greedy(Instance(directory))
    greedy_seconds = time.perf_counter() - started
    limit = args.time_limit or DEFAULT_LIMIT[args.tier]
    if args.decompose or args.tier == "XL":
        plan = solve_by_county(directory, time_limit=limit)
    else:
        plan = solve(directory, time_limit=limit)
    broken = violations(Instance(directory), plan)
    load = plan.workload()
    absent = max(load, key=lambda t: (load[t], t)) if load else None
    repair_figures: dict[str, object] = {}
    if absent is not None:
        began = time.perf_counter()
        fixed = repair(directory, plan, frozenset({absent}), time_limit=args.repair_limit)
        seconds = time.perf_counter() - began

        removed, added = lesson_changes(plan.lessons, fixed.lessons)
        repair_figures = {
            "absent_teacher_lessons": load[absent],
            "seconds": round(seconds, 2),
            "status": fixed.status,
            "scheduled_before": plan.scheduled,
            "scheduled": fixed.scheduled,
            "lessons_removed": len(removed),
            "lessons_added": len(added),
            "objective": fixed.objective,
            "bound": fixed.bound,
            "hard_rule_violations": len(violations(Instance(directory), fixed)),
        }
    fet = {"fet": fet_figures(directory, plan, args.fet_time_limit)} if args.fet else {}
    print(
        json.dumps(
            {
                "tier": args.tier,
                "decomposed": args.decompose or args.tier == "XL",
                "seed": args.seed,
                "status": plan.status,
                "demand": plan.demand,
                "scheduled": plan.scheduled,
                "unmet": plan.demand - plan.scheduled,
                "objective": plan.objective,
                "bound": plan.bound,
                "gap": round((plan.objective - plan.bound) / max(abs(plan.objective), 1), 4),
                # bound is the better of two proofs for the same objective (-1: not computed):
                # CP-SAT's own, and the LP relaxation of the model as written (GLOP)
                "bound_proofs": {
                    "cp_sat": plan.stats.get("bound_cp_sat", -1),
                    "lp": plan.stats.get("bound_lp", -1),
                },
                "cover": {  # phase one: the fewest unmet periods, and what is proven of it
                    "unmet": plan.stats.get("cover_unmet", -1),
                    "unmet_lower_bound": plan.stats.get("cover_unmet_bound", -1),
                },
                # the famous schools' second stage of a decomposed solve: the periods the
                # counties left that a famous teacher could take, and how many it took
                "counties": {  # a decomposed solve's first stage
                    "count": plan.stats.get("counties", 0),
                    "cover_proven": plan.stats.get("counties_cover_proven", 0),
                },
                "cross_county": {
                    "groups": plan.stats.get("cross_groups", 0),
                    "groups_cover_proven": plan.stats.get("cross_groups_cover_proven", 0),
                    "demand": plan.stats.get("cross_demand", 0),
                    "scheduled": plan.stats.get("cross_scheduled", 0),
                },
                "seconds": round(plan.seconds, 2),
                "lessons": len(plan.lessons),
                "greedy_scheduled": baseline.scheduled,
                "greedy_seconds": round(greedy_seconds, 2),
                "hard_rule_violations": len(broken),
                "repair": repair_figures,
                **fet,
                "sizes": {
                    "central_schools": sum(s.kind == "central" for s in directory.schools),
                    "teaching_points": sum(s.kind == "teaching_point" for s in directory.schools),
                    "famous_schools": sum(s.kind == "famous" for s in directory.schools),
                    "classes": len(directory.classes),
                    "teachers": len(directory.teachers),
                    "x_vars": plan.stats.get("x_vars", 0),
                },
                "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
