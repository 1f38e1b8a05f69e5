"""The weekly plan as one CP-SAT model: groups, teachers and slots decided together.

Variables exist only where a pairing is possible: ``x[c, s, t, d, p]`` says class
``c`` takes subject ``s`` from teacher ``t`` on day ``d`` in the teacher's period
``p``; ``y[t, d, p, s, g]`` says that output lesson exists. A school's output rooms
are one capacity; room numbers are given after solving. Hard rules are
constraints; the soft goals of DESIGN.md §6 are weighted in the objective, unmet
periods heaviest, so unmet demand is allowed and reported with a reason.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from scheduler.greedy import greedy
from scheduler.instance import Instance
from scheduler.model import Directory
from scheduler.plan import Lesson, Parameters, Timetable, Unmet, UnmetReason, from_lessons
from scheduler.timing import DAYS

logger = logging.getLogger(__name__)

COVER_SHARE = 0.7  # of the time limit, at most, for the first phase; it stops once proven

XKey = tuple[str, str, str, int, int]  # class, subject, teacher, day, period
YKey = tuple[str, int, int, str, int]  # teacher, day, period, subject, grade


def _sum(terms: Sequence[cp_model.LinearExprT]) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.sum(terms)


@dataclass(frozen=True)
class _Options:
    time_limit: float
    workers: int


def _candidates(inst: Instance) -> dict[XKey, int]:
    """Every possible (class, subject, teacher, day, period) → the class's local period."""
    possible: dict[XKey, int] = {}
    for need in inst.directory.needs:
        if need.class_id not in inst.classes or need.periods_per_week <= 0:
            continue
        for teacher_id in inst.candidates(need.class_id, need.subject):
            for period in inst.output_periods(teacher_id):
                local = inst.local_period(teacher_id, need.class_id, period)
                if local is None:
                    continue
                for day in DAYS:
                    if (teacher_id, day, period) in inst.busy:
                        continue
                    if (need.class_id, day, local) in inst.busy:
                        continue
                    possible[(need.class_id, need.subject, teacher_id, day, period)] = local
    return possible


def solve(
    directory: Directory,
    params: Parameters | None = None,
    *,
    time_limit: float = 30.0,
    workers: int | None = None,
) -> Timetable:
    """Plan the week; never raises for an unsatisfiable need (it is reported unmet)."""
    inst = Instance(directory, params or Parameters())
    options = _Options(time_limit, workers or os.cpu_count() or 1)
    return _Model(inst, options).run(greedy(inst))


def repair(
    directory: Directory,
    current: Timetable,
    absent: frozenset[str],
    params: Parameters | None = None,
    *,
    time_limit: float = 10.0,
    workers: int | None = None,
) -> Timetable:
    """Re-plan around absent teachers, changing as few lessons as possible.

    First only the classes the absent teachers taught may move (everything else is
    fixed, so the model is small); if that covers less than before, every class may
    move, each change still penalised (minimal perturbation).
    """
    params = params or Parameters()
    present = replace(
        directory, teachers=tuple(t for t in directory.teachers if t.id not in absent)
    )
    kept = tuple(le for le in current.lessons if le.teacher_id not in absent)
    start = replace(current, lessons=kept)
    affected = {c for le in current.lessons if le.teacher_id in absent for c in le.class_ids}
    options = _Options(time_limit / 2, workers or os.cpu_count() or 1)
    inst = Instance(present, params)
    plan = _Model(inst, options, current=start, free=affected).run(start)
    if plan.scheduled >= current.scheduled:
        return plan
    wider = _Model(Instance(present, params), options, current=start, free=None).run(start)
    return wider if wider.scheduled > plan.scheduled else plan


class _Model:
    def __init__(
        self,
        inst: Instance,
        options: _Options,
        *,
        current: Timetable | None = None,
        free: set[str] | None = None,
    ) -> None:
        self.inst = inst
        self.options = options
        self.current = current
        self.m = cp_model.CpModel()
        self.local = _candidates(inst)
        p = inst.params
        self.x = {key: self.m.new_bool_var(f"x{n}") for n, key in enumerate(self.local)}
        self.y: dict[YKey, cp_model.IntVar] = {}
        members: dict[YKey, list[cp_model.IntVar]] = defaultdict(list)
        for key, var in self.x.items():
            class_id, subject, teacher_id, day, period = key
            grade = inst.classes[class_id].grade
            members[(teacher_id, day, period, subject, grade)].append(var)
        for n, (ykey, xs) in enumerate(members.items()):
            y = self.y[ykey] = self.m.new_bool_var(f"y{n}")
            for var in xs:
                self.m.add_implication(var, y)
            self.m.add(_sum(xs) <= p.max_receivers * y)
        self.needs = {
            (n.class_id, n.subject): n.periods_per_week
            for n in inst.directory.needs
            if n.class_id in inst.classes and n.periods_per_week > 0
        }
        self.unmet = {
            key: self.m.new_int_var(0, periods, f"u{n}")
            for n, (key, periods) in enumerate(self.needs.items())
        }
        self.objective: list[cp_model.LinearExprT] = []
        self._hard_rules()
        self._soft_goals()
        if current is not None:
            self._stay_close(current, free)

    def _hard_rules(self) -> None:
        inst, m = self.inst, self.m
        by_need: dict[tuple[str, str], list[cp_model.IntVar]] = defaultdict(list)
        by_receiving_room: dict[tuple[str, int, int], list[cp_model.IntVar]] = defaultdict(list)
        by_point: dict[tuple[str, int, int], list[cp_model.IntVar]] = defaultdict(list)
        for key, var in self.x.items():
            class_id, subject, _, day, _ = key
            klass = inst.classes[class_id]
            local = self.local[key]
            by_need[(class_id, subject)].append(var)
            by_receiving_room[(klass.classroom_id, day, local)].append(var)
            by_point[(klass.school_id, day, local)].append(var)
        for need, periods in self.needs.items():
            m.add(_sum(by_need.get(need, [])) + self.unmet[need] == periods)
        for xs in by_receiving_room.values():
            if len(xs) > 1:
                m.add_at_most_one(xs)
        for (school_id, _, _), xs in by_point.items():
            limit = inst.down_lessons(school_id)
            if len(xs) > limit:
                m.add(_sum(xs) <= limit)

        by_teacher_slot: dict[tuple[str, int, int], list[cp_model.IntVar]] = defaultdict(list)
        by_school_slot: dict[tuple[str, int, int], list[cp_model.IntVar]] = defaultdict(list)
        by_teacher: dict[str, list[cp_model.IntVar]] = defaultdict(list)
        for (teacher_id, day, period, _, _), y in self.y.items():
            school_id = inst.teachers[teacher_id].school_id
            by_teacher_slot[(teacher_id, day, period)].append(y)
            by_school_slot[(school_id, day, period)].append(y)
            by_teacher[teacher_id].append(y)
        for ys in by_teacher_slot.values():
            if len(ys) > 1:
                m.add_at_most_one(ys)
        for (school_id, _, _), ys in by_school_slot.items():
            limit = min(len(inst.output_rooms[school_id]), inst.up_lessons(school_id))
            if len(ys) > limit:
                m.add(_sum(ys) <= limit)
        self.load = {}
        for teacher_id, ys in by_teacher.items():
            cap = inst.teachers[teacher_id].weekly_cap
            load = self.load[teacher_id] = m.new_int_var(0, max(cap, 0), f"load_{teacher_id}")
            m.add(load == _sum(ys))

    def _soft_goals(self) -> None:
        inst, m, p = self.inst, self.m, self.inst.params
        self.objective.append(p.weight_unmet * _sum(list(self.unmet.values())))
        # one teacher per class and subject all term; keep last term's pairing
        per_pair: dict[tuple[str, str, str], list[cp_model.IntVar]] = defaultdict(list)
        per_day: dict[tuple[str, str, int], list[cp_model.IntVar]] = defaultdict(list)
        for key, var in self.x.items():
            class_id, subject, teacher_id, day, _ = key
            per_pair[(class_id, subject, teacher_id)].append(var)
            per_day[(class_id, subject, day)].append(var)
            far = inst.distance(teacher_id, class_id)
            if far:
                weight = p.weight_township if far == 1 else p.weight_county
                self.objective.append(weight * var)
        teachers_of: dict[tuple[str, str], list[cp_model.IntVar]] = defaultdict(list)
        for (class_id, subject, teacher_id), xs in per_pair.items():
            z = m.new_bool_var(f"z_{class_id}_{subject}_{teacher_id}")
            for var in xs:
                m.add_implication(var, z)
            teachers_of[(class_id, subject)].append(z)
            if inst.previous.get((class_id, subject)) == teacher_id:
                self.objective.append(p.weight_previous * (1 - z))
        for zs in teachers_of.values():
            if len(zs) > 1:
                self.objective.append(p.weight_teacher_change * _sum(zs))
        for (class_id, subject, day), xs in per_day.items():
            if len(xs) > 1:
                extra = m.new_int_var(0, len(xs), f"e_{class_id}_{subject}_{day}")
                m.add(_sum(xs) <= 1 + extra)
                self.objective.append(p.weight_same_day * extra)
        self.objective.append(p.weight_lesson * _sum(list(self.y.values())))
        if self.load:
            busiest = m.new_int_var(0, max(t.weekly_cap for t in inst.teachers.values()), "max")
            for load in self.load.values():
                m.add(busiest >= load)
            self.objective.append(p.weight_load * busiest)

    def _stay_close(self, current: Timetable, free: set[str] | None) -> None:
        """Repair: fix the classes that need not move; charge every change of the others."""
        before = {
            (class_id, le.subject, le.teacher_id, le.day, le.period)
            for le in current.lessons
            for class_id in le.class_ids
        }
        weight = self.inst.params.weight_change
        for key, var in self.x.items():
            if free is not None and key[0] not in free:
                self.m.add(var == (key in before))
            elif key in before:
                self.objective.append(weight * (1 - var))
            else:
                self.objective.append(weight * var)

    def run(self, first: Timetable) -> Timetable:
        """Two phases: cover as much demand as possible, then the soft goals at that cover.

        One weighted objective left CP-SAT wandering among good-looking plans that
        missed a period or two. The greedy plan is the first hint; if it covers every
        need the cover is already optimal, else phase one proves the best cover. The
        second phase optimises the soft goals with the cover fixed.
        """
        unmet = _sum(list(self.unmet.values()))
        started = time.monotonic()
        self._hint(first)
        solver: cp_model.CpSolver | None = None
        if first.scheduled < first.demand or self.current is not None:
            self.m.minimize(unmet)
            solver = self._solver(self.options.time_limit * COVER_SHARE)
            status = solver.solve(self.m)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                self.m.add(unmet <= round(solver.objective_value))
                self.m.clear_hints()  # type: ignore[no-untyped-call]
                for var in (*self.x.values(), *self.y.values()):
                    self.m.add_hint(var, solver.value(var))
        else:  # the greedy plan covers everything: no cover can be better
            self.m.add(unmet == 0)
        self.m.minimize(_sum(self.objective))
        left = self.options.time_limit - (time.monotonic() - started)
        second = self._solver(max(left, 1.0))
        second_status = second.solve(self.m)
        if solver is None or second_status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solver, status = second, second_status
        seconds = time.monotonic() - started
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return self._fallback(first, solver, seconds)  # out of time: the greedy plan
        return self._result(solver, status, seconds)

    def _fallback(self, plan: Timetable, solver: cp_model.CpSolver, seconds: float) -> Timetable:
        """The starting plan (greedy, or the current plan in a repair), its cover recounted."""
        status = "GREEDY" if self.current is None else "UNCHANGED"
        counted = from_lessons(self.inst.directory.needs, plan.lessons, status)
        unmet = tuple(
            replace(u, reason=self._reason(solver, u.class_id, u.subject, solved=False))
            for u in counted.unmet
            if (u.class_id, u.subject) in self.needs
        )
        return replace(counted, unmet=unmet, seconds=seconds)

    def _hint(self, plan: Timetable) -> None:
        """Start from a plan (the greedy one): every x and y hinted, so the hint is whole."""
        chosen = {
            (class_id, le.subject, le.teacher_id, le.day, le.period)
            for le in plan.lessons
            for class_id in le.class_ids
        }
        lessons = {(le.teacher_id, le.day, le.period, le.subject, le.grade) for le in plan.lessons}
        for key, var in self.x.items():
            self.m.add_hint(var, key in chosen)
        for ykey, y in self.y.items():
            self.m.add_hint(y, ykey in lessons)

    def _solver(self, seconds: float) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = self.options.workers
        return solver

    def _result(
        self, solver: cp_model.CpSolver, status: cp_model.CpSolverStatus, seconds: float
    ) -> Timetable:
        demand = sum(self.needs.values())
        lessons = self._lessons(solver)
        unmet = tuple(
            Unmet(c, s, solver.value(u), self._reason(solver, c, s, solved=True))
            for (c, s), u in sorted(self.unmet.items())
            if solver.value(u) > 0
        )
        return Timetable(
            status=solver.status_name(status),
            lessons=lessons,
            unmet=unmet,
            objective=solver.objective_value,
            bound=solver.best_objective_bound,
            seconds=seconds,
            demand=demand,
            scheduled=demand - sum(u.periods for u in unmet),
            stats={"x_vars": len(self.x), "y_vars": len(self.y)},
        )

    def _lessons(self, solver: cp_model.CpSolver) -> tuple[Lesson, ...]:
        classes_of: dict[YKey, list[str]] = defaultdict(list)
        for key, var in self.x.items():
            if solver.value(var):
                class_id, subject, teacher_id, day, period = key
                grade = self.inst.classes[class_id].grade
                classes_of[(teacher_id, day, period, subject, grade)].append(class_id)
        rooms_used: dict[tuple[str, int, int], int] = defaultdict(int)
        lessons = []
        for n, ykey in enumerate(sorted(classes_of, key=lambda k: (k[1], k[2], k[0]))):
            teacher_id, day, period, subject, grade = ykey
            school_id = self.inst.teachers[teacher_id].school_id
            index = rooms_used[(school_id, day, period)]
            rooms_used[(school_id, day, period)] += 1
            lessons.append(
                Lesson(
                    id=f"L{n + 1:05d}",
                    day=day,
                    period=period,
                    teacher_id=teacher_id,
                    output_classroom_id=self.inst.output_rooms[school_id][index],
                    subject=subject,
                    grade=grade,
                    class_ids=tuple(sorted(classes_of[ykey])),
                )
            )
        return tuple(lessons)

    def _reason(
        self, solver: cp_model.CpSolver, class_id: str, subject: str, *, solved: bool
    ) -> UnmetReason:
        teachers = self.inst.candidates(class_id, subject)
        if not teachers:
            return UnmetReason.NO_TEACHER
        options = [k for k in self.x if k[0] == class_id and k[1] == subject]
        if not options:
            return UnmetReason.NO_COMMON_SLOT
        if not solved:
            return UnmetReason.CAPACITY
        if all(
            solver.value(self.load[t]) >= self.inst.teachers[t].weekly_cap
            for t in teachers
            if t in self.load
        ):
            return UnmetReason.CAP_REACHED
        for key in options:
            _, _, teacher_id, day, period = key
            school_id = self.inst.teachers[teacher_id].school_id
            if self.inst.up_lessons(school_id) == 0:
                continue
            if self.inst.down_lessons(self.inst.classes[class_id].school_id) == 0:
                continue
            return UnmetReason.CAPACITY
        return UnmetReason.BANDWIDTH
