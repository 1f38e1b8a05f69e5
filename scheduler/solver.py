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
import math
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from ortools.sat.python import cp_model

from scheduler.greedy import greedy
from scheduler.instance import Instance, county_of
from scheduler.model import Directory, Need
from scheduler.occupancy import Occupancy
from scheduler.plan import Lesson, Parameters, Timetable, UnmetReason, from_lessons
from scheduler.progress import OnProgress, Progress
from scheduler.relaxation import Relaxation, lower_bound, relax
from scheduler.timing import DAYS

logger = logging.getLogger(__name__)

COVER_SHARE = 0.7  # of the time limit, at most, for the first phase; it stops once proven
FLOOR_SHARE = 0.5  # of the first phase, at most, for looking for a plan that reaches the LP floor
ONE_TEACHER_SHARE = 0.5  # of that, at most, for such a plan with one teacher per need
LP_EPSILON = 1e-6  # an LP value above this is a choice the LP relaxation makes
GOALS_LP_SHARE = 0.3  # of the time left, at most, for the LP relaxation's bound on the goals
GUIDED_FROM = 6.0  # seconds of limit from which the goals' LP guides the first phase's plan
LNS_ONLY_FROM = 5000  # x variables from which the second phase only improves (bound: the LP's)
GOALS_LP_UP_TO = 30_000  # x variables up to which GLOP bounds the goals (M 11k: 1 s, L 72k: 30+)
MIN_RING_SECONDS = 0.2  # a repair widens only with at least this much time left
READ_SHARE = 0.9  # of a repair's limit, for its solving; the rest reads the plan out
# a new plan keeps 1% of its limit, 0.1 s at least, for reading the plan out (without it
# M took 10.02 s of 10 and L 60.37 s of 60)
READ_SHARE_NEW = 0.01
READ_SECONDS = 0.1

XKey = tuple[str, str, str, int, int]  # class, subject, teacher, day, period
YKey = tuple[str, int, int, str, int]  # teacher, day, period, subject, grade


def _sum(terms: Sequence[cp_model.LinearExprT]) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.sum(terms)


@dataclass(frozen=True)
class _Options:
    time_limit: float
    workers: int
    progress: OnProgress | None = None
    deadline: float | None = None  # time.monotonic() by which to be done, model built or not
    guided: bool = True  # the goals' LP may guide the first phase (with GUIDED_FROM seconds)


def _candidates(
    inst: Instance, taken: Occupancy, free: set[tuple[str, str]] | None
) -> dict[XKey, int]:
    """Every possible (class, subject, teacher, day, period) → the class's local period,
    for the ``free`` needs only when given, around what fixed lessons take."""
    possible: dict[XKey, int] = {}
    for need in inst.directory.needs:
        if need.class_id not in inst.classes or need.periods_per_week <= 0:
            continue
        if free is not None and (need.class_id, need.subject) not in free:
            continue
        grade = inst.classes[need.class_id].grade
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
                    ykey = (teacher_id, day, period, need.subject, grade)
                    if not taken.allows(inst, ykey, need.class_id, local):
                        continue
                    possible[(need.class_id, need.subject, teacher_id, day, period)] = local
    return possible


def solve(
    directory: Directory,
    params: Parameters | None = None,
    *,
    time_limit: float = 30.0,
    workers: int | None = None,
    progress: OnProgress | None = None,
) -> Timetable:
    """Plan the week; never raises for an unsatisfiable need (it is reported unmet).

    ``time_limit`` is the whole wall time: reading the directory and building the model
    count, and a little of it is kept for reading the plan out."""
    started = time.monotonic()
    inst = Instance(directory, params or Parameters())
    kept = min(max(READ_SECONDS, time_limit * READ_SHARE_NEW), time_limit * (1 - READ_SHARE))
    deadline = started + time_limit - kept
    options = _Options(time_limit, workers or os.cpu_count() or 1, progress, deadline=deadline)
    plan = _Model(inst, options).run(greedy(inst))
    return replace(plan, seconds=time.monotonic() - started)


def repair(
    directory: Directory,
    current: Timetable,
    absent: frozenset[str],
    params: Parameters | None = None,
    *,
    time_limit: float = 1.0,
    workers: int | None = None,
) -> Timetable:
    """Re-plan around absent teachers, changing as few lessons as possible.

    Widening rings, each tried only if the one before covers less than the plan did
    before the absence: (1) only the needs the absent teachers taught may move;
    (2) every need of the teaching points they taught; (3) every need of those points'
    counties (a county: everything; a province: never the whole of it). Every other
    lesson stays and is read as reduced capacity, so the model is small even in a
    large region; every change is penalised (minimal
    perturbation) and the current plan is the hint. The rings share ``time_limit``
    (a repair is interactive): a wider ring starts only while time is left, and the
    best cover found is kept. An absent teacher's periods are not always replaceable,
    so a repair may cover less than the plan did.
    """
    started = time.monotonic()  # the limit is the repair's whole wall time
    params = params or Parameters()
    present = replace(
        directory, teachers=tuple(t for t in directory.teachers if t.id not in absent)
    )
    inst = Instance(present, params)
    kept = tuple(le for le in current.lessons if le.teacher_id not in absent)
    start = replace(current, lessons=kept)
    lost = {(c, le.subject) for le in current.lessons if le.teacher_id in absent
            for c in le.class_ids if c in inst.classes}  # fmt: skip
    points = {inst.classes[c].school_id for c, _ in lost}
    around = {
        (n.class_id, n.subject)
        for n in present.needs
        if n.class_id in inst.classes and inst.classes[n.class_id].school_id in points
    }
    counties = {county_of(inst.schools[p].region) for p in points}
    wide = {
        (n.class_id, n.subject)
        for n in present.needs
        if n.class_id in inst.classes
        and county_of(inst.schools[inst.classes[n.class_id].school_id].region) in counties
    }
    workers = workers or os.cpu_count() or 1
    best: Timetable | None = None
    tried: list[set[tuple[str, str]]] = []
    for free in (lost, around, wide):
        if free in tried:  # no wider than the ring before
            continue
        tried.append(free)
        left = time_limit - (time.monotonic() - started)
        if best is not None and left < MIN_RING_SECONDS:
            break
        # ``current`` still names the absent teachers' lessons: their ids are not reused
        # keep a little of the limit for reading the result
        deadline = max(started + READ_SHARE * time_limit, time.monotonic() + MIN_RING_SECONDS)
        options = _Options(time_limit, workers, deadline=deadline)
        plan = _Model(inst, options, current=current, free=free).run(start)
        if best is None or plan.scheduled > best.scheduled:
            best = plan
        if best.scheduled >= current.scheduled:
            break
    assert best is not None
    return replace(best, seconds=time.monotonic() - started)


def settle(
    directory: Directory,
    fixed: Timetable,
    teachers: frozenset[str],
    params: Parameters | None = None,
    *,
    time_limit: float = 30.0,
    workers: int | None = None,
) -> Timetable:
    """Plan the periods ``fixed`` leaves unmet, with ``teachers`` only, around its lessons.

    The second stage of a region solved county by county: famous schools teach across
    counties. ``fixed`` stays as it is and is read as what it occupies (receiving rooms,
    the points' downlinks); the model holds only the unmet periods and the given
    teachers, planned like a new plan (cover first, then the soft goals). Returns the
    new lessons alone, counted against the unmet periods (ids are the caller's to
    give); never raises for a period nobody can take.
    """
    params = params or Parameters()
    if any(le.teacher_id in teachers for le in fixed.lessons):
        raise ValueError("settle plans for teachers who have no lessons in the fixed plan")
    taken = Occupancy.of(Instance(directory, params), fixed.lessons, set())
    needs = tuple(Need(u.class_id, u.subject, u.periods) for u in fixed.unmet if u.periods > 0)
    part = replace(
        directory, teachers=tuple(t for t in directory.teachers if t.id in teachers), needs=needs
    )
    inst = Instance(part, params)
    # not guided by the goals' LP: the leftovers' LP floor is seldom reached, and each
    # restricted trial then spends its share for nothing (XL's ten famous groups at 8 s
    # each: 4,479 periods unguided against 3,691 guided)
    options = _Options(time_limit, workers or os.cpu_count() or 1, guided=False)
    nothing = from_lessons(needs, (), "GREEDY")  # no greedy start: it would not see ``fixed``
    plan = _Model(inst, options, taken=taken).run(nothing)
    counted = from_lessons(needs, plan.lessons, plan.status)
    earlier = {(u.class_id, u.subject): u.reason for u in fixed.unmet}
    unmet = tuple(replace(u, reason=earlier[(u.class_id, u.subject)]) for u in counted.unmet)
    return replace(plan, unmet=unmet, demand=counted.demand, scheduled=counted.scheduled)


class _Progress(cp_model.CpSolverSolutionCallback):
    """Hands each improving solution to the caller's progress function, if any, and
    stops the search once the unmet periods reach ``floor``, a proven lower bound, or
    the objective reaches ``known``, a bound proven by the LP relaxation.

    The floor is not a constraint: told it, one CP-SAT worker covered less within the
    same time (three of L's counties: 1,672 periods against 1,727).
    """

    def __init__(self, report: OnProgress | None, phase: str, began: float, limit: float,
                 demand: int, unmet: cp_model.LinearExprT, floor: int | None,
                 known: int | None = None, trusted: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.report, self.phase, self.began, self.limit = report, phase, began, limit
        self.demand, self.unmet, self.floor, self.known = demand, unmet, floor, known
        self.trusted = trusted  # CP-SAT's bound holds for the plan (not a restricted model)

    def on_solution_callback(self) -> None:
        unmet = round(self.value(self.unmet))
        objective = self.objective_value
        bound = self.best_objective_bound if self.trusted else -math.inf
        if self.known is not None:
            bound = max(bound, self.known)
            if objective <= self.known:  # proven optimal by the LP relaxation
                self.stop_search()
        if self.floor is not None:  # the objective is unmet periods, or none at all
            objective, bound = unmet, max(self.floor, bound)
        if self.report is not None:
            self.report(
                Progress(self.phase, time.monotonic() - self.began, self.limit, objective, bound,
                         self.demand, unmet)
            )  # fmt: skip
        if self.floor is not None and unmet <= self.floor:
            self.stop_search()


class _Model:
    def __init__(
        self,
        inst: Instance,
        options: _Options,
        *,
        current: Timetable | None = None,
        free: set[tuple[str, str]] | None = None,
        taken: Occupancy | None = None,
    ) -> None:
        self.inst = inst
        self.options = options
        self.current = current
        self.free = free
        self.m = cp_model.CpModel()
        if taken is None:
            taken = (
                Occupancy.of(inst, current.lessons, free)
                if current is not None and free is not None
                else Occupancy()
            )
        self.taken = taken
        self.local = _candidates(inst, self.taken, free)
        p = inst.params
        self.x = {key: self.m.new_bool_var(f"x{n}") for n, key in enumerate(self.local)}
        self.y: dict[YKey, cp_model.IntVar] = {}
        members: dict[YKey, list[cp_model.IntVar]] = defaultdict(list)
        # the receiving rooms each point could open to a lesson, by the classes' local period
        rooms: dict[YKey, dict[tuple[str, int], set[str]]] = defaultdict(lambda: defaultdict(set))
        for key, var in self.x.items():
            class_id, subject, teacher_id, day, period = key
            klass = inst.classes[class_id]
            ykey = (teacher_id, day, period, subject, klass.grade)
            members[ykey].append(var)
            rooms[ykey][(klass.school_id, self.local[key])].add(klass.classroom_id)
        self.alone: set[YKey] = set()  # lessons only one class can take: y is that x
        self.members: dict[YKey, list[cp_model.IntVar]] = {}  # the other lessons' xs
        for n, (ykey, xs) in enumerate(members.items()):
            if len(xs) == 1 and ykey not in self.taken.groups and p.max_receivers >= 1:
                # y ⇔ x: one variable, so the LP counts the lesson whole rather than as
                # a quarter (M: 1,329 of 2,880 lessons; the goals' LP bound +400)
                self.y[ykey] = xs[0]
                self.alone.add(ykey)
                continue
            y = self.y[ykey] = self.m.new_bool_var(f"y{n}")
            self.members[ykey] = xs
            for var in xs:
                self.m.add_implication(var, y)
            if ykey in self.taken.groups:  # a kept lesson: free classes may join its group
                self.m.add(y == 1)
            # at most as many classes as can be there at once: fewer than max_receivers
            # tightens the LP relaxation (a lesson is charged whole for fewer classes)
            seats = sum(min(len(open_), inst.down_lessons(school_id))
                        for (school_id, _), open_ in rooms[ykey].items())  # fmt: skip
            seats = min(seats, p.max_receivers - self.taken.seats[ykey])
            self.m.add(_sum(xs) <= max(seats, 0) * y)
        self.needs = {
            (n.class_id, n.subject): n.periods_per_week
            for n in inst.directory.needs
            if n.class_id in inst.classes
            and n.periods_per_week > 0
            and (free is None or (n.class_id, n.subject) in free)
        }
        self.unmet = {
            key: self.m.new_int_var(0, periods, f"u{n}")
            for n, (key, periods) in enumerate(self.needs.items())
        }
        self.objective: list[cp_model.LinearExprT] = []
        self.cover: tuple[int, int] | None = None  # unmet periods: found, proven minimum
        self.goals_lp: int | None = None  # the LP relaxation's bound on the second phase
        self.goals_lp_floor = -1  # the unmet periods ``goals_lp`` was computed at, at least
        # the first phase's plan keeps these (one teacher per need); the second keeps them too
        # when only its LNS workers run, and its own bound then proves nothing
        self.kept: list[tuple[cp_model.LinearExprT, int]] = []
        self.restricted = False
        self.teachers_of: dict[tuple[str, str], list[cp_model.IntVar]] = defaultdict(list)
        self.same_day: list[cp_model.IntVar] = []  # a need's extra periods on one day
        self._hard_rules()
        self._soft_goals()
        if current is not None:
            self._stay_close(current)

    def _hard_rules(self) -> None:
        inst, m, taken = self.inst, self.m, self.taken
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
        for slot, xs in by_point.items():
            limit = inst.down_lessons(slot[0]) - taken.point_slots[slot]
            if len(xs) > limit:
                m.add(_sum(xs) <= max(limit, 0))

        by_teacher_slot: dict[tuple[str, int, int], list[cp_model.IntVar]] = defaultdict(list)
        by_school_slot: dict[tuple[str, int, int], list[cp_model.IntVar]] = defaultdict(list)
        by_teacher: dict[str, list[cp_model.IntVar]] = defaultdict(list)
        fixed_here: dict[tuple[str, int, int], int] = defaultdict(int)  # kept lessons in ys
        fixed_of: dict[str, int] = defaultdict(int)
        for ykey, y in self.y.items():
            teacher_id, day, period, _, _ = ykey
            school_id = inst.teachers[teacher_id].school_id
            by_teacher_slot[(teacher_id, day, period)].append(y)
            by_school_slot[(school_id, day, period)].append(y)
            by_teacher[teacher_id].append(y)
            if ykey in taken.groups:
                fixed_here[(school_id, day, period)] += 1
                fixed_of[teacher_id] += 1
        for ys in by_teacher_slot.values():
            if len(ys) > 1:
                m.add_at_most_one(ys)
        for slot, ys in by_school_slot.items():
            school_id = slot[0]
            limit = min(len(inst.output_rooms[school_id]), inst.up_lessons(school_id))
            limit -= taken.school_slots[slot] - fixed_here[slot]
            if len(ys) > limit:
                m.add(_sum(ys) <= max(limit, 0))
        self.load = {}
        for teacher_id, ys in by_teacher.items():
            cap = inst.teachers[teacher_id].weekly_cap
            already = taken.load[teacher_id] - fixed_of[teacher_id]
            load = self.load[teacher_id] = m.new_int_var(0, max(cap, 0), f"load_{teacher_id}")
            m.add(load == already + _sum(ys))

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
        teachers_of = self.teachers_of  # every need's z, one per candidate teacher
        for (class_id, subject, teacher_id), xs in per_pair.items():
            z = m.new_bool_var(f"z_{class_id}_{subject}_{teacher_id}")
            for var in xs:
                m.add_implication(var, z)
            # the relaxation learns that a need's periods come from at least one teacher
            m.add(self.needs[(class_id, subject)] * z >= _sum(xs))
            teachers_of[(class_id, subject)].append(z)
            if inst.previous.get((class_id, subject)) == teacher_id:
                self.objective.append(p.weight_previous * (1 - z))
        for zs in teachers_of.values():
            # every teacher a need has is charged, the first too: nearly a constant, but
            # its relaxation is tight where charging only the extra ones is not (M: the
            # proven gap rose from 2.3k to 3.7k); see the scheduler issue's note
            if len(zs) > 1:
                self.objective.append(p.weight_teacher_change * _sum(zs))
        for (class_id, subject, day), xs in per_day.items():
            if len(xs) > 1:
                extra = m.new_int_var(0, len(xs), f"e_{class_id}_{subject}_{day}")
                self.same_day.append(extra)
                m.add(_sum(xs) <= 1 + extra)
                self.objective.append(p.weight_same_day * extra)
        self.objective.append(p.weight_lesson * _sum(list(self.y.values())))
        if self.load:
            busiest = m.new_int_var(0, max(t.weekly_cap for t in inst.teachers.values()), "max")
            for load in self.load.values():
                m.add(busiest >= load)
            self.objective.append(p.weight_load * busiest)

    def _stay_close(self, current: Timetable) -> None:
        """Repair: charge every change to a free class's lessons (minimal perturbation)."""
        before = {
            (class_id, le.subject, le.teacher_id, le.day, le.period)
            for le in current.lessons
            for class_id in le.class_ids
        }
        self.changes = _sum([(1 - var) if key in before else var for key, var in self.x.items()])
        self.objective.append(self.inst.params.weight_change * self.changes)

    def run(self, first: Timetable) -> Timetable:
        """Two phases: cover as much demand as possible, then the soft goals at that cover.

        One weighted objective left CP-SAT wandering among good-looking plans that
        missed a period or two. The greedy plan is the first hint; phase one finds the
        best cover (``_cover``) and the second optimises the soft goals with the cover
        fixed: at the proven fewest unmet periods, so that the second phase's bound
        counts them exactly instead of proving the cover again. In a repair the first
        phase also keeps changes few (fewest unmet first, then fewest changes), so a
        plan cut short by the time limit stays close to the current one.
        """
        unmet = _sum(list(self.unmet.values()))
        started = time.monotonic()
        limit = self.options.time_limit
        if self.options.deadline is not None:
            limit = max(min(limit, self.options.deadline - started), 0.05)
        self._hint(first)
        solver: cp_model.CpSolver | None = None
        status = cp_model.UNKNOWN
        if self.current is None:
            solver, status, floor = self._cover(first, unmet, started, limit)
        else:
            self.m.minimize((len(self.x) + 1) * unmet + self.changes)
            solver = self._solver(limit * COVER_SHARE, "cover", started, limit, unmet)
            status = solver.solve(self.m, self._callback)
            ok = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            floor = self._unmet_bound(solver) if ok else 0
        # the second phase knows both ends of the cover, so its bound is about the soft goals
        self.m.add(unmet >= floor)
        found = floor if solver is None and status == cp_model.OPTIMAL else -1  # greedy's
        if solver is not None and status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = round(solver.value(unmet))
            self.m.add(unmet <= found)
            # every variable, the soft goals' too: a whole hint is the goals' first solution
            self.m.clear_hints()  # type: ignore[no-untyped-call]
            for index in range(len(self.m.proto.variables)):
                var = self.m.get_int_var_from_proto_index(index)
                self.m.add_hint(var, solver.value(var))
        self.cover = (found, floor)
        self.m.minimize(_sum(self.objective))
        if self.current is None and found >= 0 and self.goals_lp_floor != floor:
            # CP-SAT's LP works on its presolved model, weaker than the model as written
            # (M: 24,956 against GLOP's 25,618, for seconds); the better bound is kept
            self._goals_relaxation(unmet, floor, started, limit)
        lns_only = self.goals_lp is not None and len(self.x) >= LNS_ONLY_FROM
        if lns_only:
            # its neighbourhoods within the first phase's restrictions: a smaller model, so
            # more of them in the time (M, two runs each: 26,266 and 26,272 -> 26,179 and
            # 26,133); the bound is the LP's, so it stays valid for the whole model
            for expression, most in self.kept:
                self.m.add_linear_constraint(expression, 0, most)
            self.restricted = bool(self.kept)
        left = limit - (time.monotonic() - started)
        second = self._solver(max(left, 0.05), "goals", started, limit, unmet, known=self.goals_lp)
        if lns_only:
            # the bound is the LP's; both workers improve the plan (M, three runs each:
            # 1-4% lower objectives than CP-SAT's own LP worker beside one LNS worker)
            second.parameters.use_lns_only = True
        second_status = second.solve(self.m, self._callback)
        if solver is None or second_status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solver, status = second, second_status
        if solver is not second:  # the first phase's plan: its objective is another one
            self.goals_lp, self.restricted = None, False
        seconds = time.monotonic() - started
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return self._fallback(first, solver, seconds)  # out of time: the starting plan
        return self._result(solver, status, seconds)

    def _cover(
        self, first: Timetable, unmet: cp_model.LinearExpr, started: float, limit: float
    ) -> tuple[cp_model.CpSolver | None, cp_model.CpSolverStatus, int]:
        """Phase one of a new plan: the best cover found, and a proven floor on unmet periods.

        The floor comes from the LP relaxation (``relaxation.lower_bound``); on the
        synthetic regions it is the optimum. A plan with that many unmet periods is then
        looked for without an objective, which CP-SAT does several times faster than it
        minimises (M: about 1.5 s against 4-7 s, when its first-solution and LNS workers
        run; a single worker is better off minimising), and finding one proves the
        cover. Failing that, unmet periods are minimised, stopping as soon as a plan
        reaches the floor. No solver when the greedy plan (the hint) already reaches
        the floor, or when no plan is found in time.
        """
        budget = limit * COVER_SHARE
        self.m.minimize(unmet)
        relaxed = lower_bound(self.m, budget)
        floor = relaxed or 0
        if first.demand - first.scheduled <= floor:  # the greedy plan is optimal already
            self.m.add(unmet <= floor)
            return None, cp_model.OPTIMAL, floor
        if relaxed is not None and self.options.workers > 1:  # one worker searches too slowly
            # each need taught by one teacher, as the goals want, first among the teachers
            # the goals' LP relaxation uses: a plan found so is as quick to find and a far
            # better start for the second phase (M: objective 26,461 against 81,079 with
            # no restriction); finding none proves nothing, so the next is less restricted.
            # Without the LP (too large a model) no restriction: on L one teacher per need
            # found no plan in 9.6 s, where none found one in 7
            # with less time, the LP and the restricted trials leave too little for a
            # plan at the floor (XL's counties, about 4 s each: 46 of 100 covers proven
            # guided, 100 of 100 without): the goals' LP then waits for the second phase
            guide = (
                self._goals_relaxation(unmet, floor, started, limit)
                if limit >= GUIDED_FROM and self.options.guided
                else None
            )
            restrictions: list[list[tuple[cp_model.LinearExprT, int]]] = [[]]
            if guide is not None:
                # first also one period a day where the LP has it so (M: 26,122 -> 26,085)
                one = self._one_teacher(guide)
                days: list[tuple[cp_model.LinearExprT, int]] = [
                    (e, 0) for e in self.same_day if guide.values[e.index] <= LP_EPSILON
                ]
                # and before that, periods left unmet only in the needs the LP leaves short:
                # a need left wholly unmet has no teacher to charge (40), and the second
                # phase seldom finds which ones (M at 10 s, four runs: 26,026-26,034
                # against 26,073-26,083; seeds 2-4: 36,353 against 36,473, 82,587 against
                # 82,693, 86,493 against 86,511)
                short: list[tuple[cp_model.LinearExprT, int]] = [
                    (u, 0) for u in self.unmet.values() if guide.values[u.index] <= LP_EPSILON
                ]
                restrictions[:0] = [one + days + short, one + days, one, self._one_teacher(None)]
            for restriction in restrictions:
                trial = self.m.clone()
                trial.clear_objective()  # type: ignore[no-untyped-call]
                trial.add(unmet <= floor)
                for expression, most in restriction:
                    trial.add_linear_constraint(expression, 0, most)
                left = budget - (time.monotonic() - started)
                share = ONE_TEACHER_SHARE if restriction else 1.0
                solver = self._solver(left * FLOOR_SHARE * share, "cover", started, limit, unmet,
                                      floor)  # fmt: skip
                status = solver.solve(trial, self._callback)
                if status == cp_model.OPTIMAL:  # a plan at the floor: the best cover
                    self.kept = restriction
                    return solver, cp_model.FEASIBLE, floor  # feasible: goals not optimised
            if status == cp_model.INFEASIBLE:  # without restrictions: the floor is too low
                floor += 1
        left = budget - (time.monotonic() - started)
        solver = self._solver(max(left, 0.05), "cover", started, limit, unmet, floor)
        status = solver.solve(self.m, self._callback)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, status, floor
        return solver, status, max(floor, math.ceil(solver.best_objective_bound))

    def _goals_relaxation(
        self, unmet: cp_model.LinearExpr, floor: int, started: float, limit: float
    ) -> Relaxation | None:
        """The soft goals' LP relaxation at ``floor`` or more unmet periods, its bound kept
        for the second phase (valid at any cover it reaches); None for a model too large."""
        if len(self.x) > GOALS_LP_UP_TO:
            return None
        goals = self.m.clone()
        goals.add(unmet >= floor)
        goals.minimize(_sum(self.objective))
        # a class in a lesson means the lesson is held: x <= y, an implication CP-SAT's
        # model states but the relaxation leaves out as enforced (M: bound 25,734 -> 25,928,
        # the LP 0.2 -> 0.9 s); not x <= z: +4 for many times the time
        for ykey, xs in self.members.items():
            for var in xs:
                goals.add(var <= self.y[ykey])
        left = limit - (time.monotonic() - started)
        relaxation = relax(goals, left * GOALS_LP_SHARE)
        if relaxation is not None:
            self.goals_lp, self.goals_lp_floor = relaxation.bound, floor
        return relaxation

    def _one_teacher(self, guide: Relaxation | None) -> list[tuple[cp_model.LinearExprT, int]]:
        """At most one teacher per need, as (expression, its most) pairs; with a ``guide``,
        one the LP relaxation uses (any one for a need it leaves unmet)."""
        constraints: list[tuple[cp_model.LinearExprT, int]] = []
        for zs in self.teachers_of.values():
            if guide is not None and any(guide.values[z.index] > LP_EPSILON for z in zs):
                constraints.extend((z, 0) for z in zs if guide.values[z.index] <= LP_EPSILON)
            if len(zs) > 1:
                constraints.append((_sum(zs), 1))
        return constraints

    def _unmet_bound(self, solver: cp_model.CpSolver) -> int:
        """A repair's proven fewest unmet periods (fewest unmet first, then fewest changes)."""
        return max(0, int(solver.best_objective_bound // (len(self.x) + 1)))

    def _fallback(self, plan: Timetable, solver: cp_model.CpSolver, seconds: float) -> Timetable:
        """The starting plan (greedy, or the current plan in a repair), its cover recounted."""
        status = "GREEDY" if self.current is None else "UNCHANGED"
        counted = from_lessons(self.inst.directory.needs, plan.lessons, status)
        unmet = tuple(
            replace(u, reason=self._reason(solver, u.class_id, u.subject, solved=False))
            if (u.class_id, u.subject) in self.needs
            else u
            for u in counted.unmet
            if (u.class_id, u.subject) in self.needs or self.free is not None
        )
        return replace(counted, unmet=unmet, seconds=seconds)

    def _hint(self, plan: Timetable) -> None:
        """Start from a plan: every x and y hinted, so the hint is whole."""
        chosen = {
            (class_id, le.subject, le.teacher_id, le.day, le.period)
            for le in plan.lessons
            for class_id in le.class_ids
        }
        lessons = {(le.teacher_id, le.day, le.period, le.subject, le.grade) for le in plan.lessons}
        for key, var in self.x.items():
            self.m.add_hint(var, key in chosen)
        for ykey, y in self.y.items():
            if ykey not in self.alone:  # else hinted as its x
                self.m.add_hint(y, ykey in lessons or ykey in self.taken.groups)

    def _solver(
        self,
        seconds: float,
        phase: str,
        began: float,
        limit: float,
        unmet: cp_model.LinearExprT,
        floor: int | None = None,
        *,
        known: int | None = None,
    ) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = self.options.workers
        self._callback: Any = None
        if self.options.progress is not None or floor is not None or known is not None:
            demand = sum(self.needs.values())
            self._callback = _Progress(self.options.progress, phase, began, limit, demand,
                                       unmet, floor, known, not self.restricted)  # fmt: skip
        return solver

    def _result(
        self, solver: cp_model.CpSolver, status: cp_model.CpSolverStatus, seconds: float
    ) -> Timetable:
        lessons = self._lessons(solver)
        own = solver.best_objective_bound
        if self.restricted:  # CP-SAT's bound and proof hold for the restricted model only
            own = -math.inf
            if status == cp_model.OPTIMAL:
                status = cp_model.FEASIBLE
        bound = own
        if self.goals_lp is not None:
            bound = max(bound, self.goals_lp)
        # every weight is an integer; CP-SAT's double can be a hair off (8002.999999999999)
        objective = round(solver.objective_value)
        if status == cp_model.FEASIBLE and bound >= objective:
            status = cp_model.OPTIMAL  # the LP relaxation proves the plan optimal
        counted = from_lessons(self.inst.directory.needs, lessons, solver.status_name(status))
        earlier = {(u.class_id, u.subject): u.reason for u in (self.current or counted).unmet}
        unmet = tuple(
            replace(u, reason=self._reason(solver, u.class_id, u.subject, solved=True))
            if (u.class_id, u.subject) in self.needs
            else replace(u, reason=earlier.get((u.class_id, u.subject), u.reason))
            for u in counted.unmet
        )
        return replace(
            counted,
            unmet=unmet,
            objective=objective,
            bound=bound,
            seconds=seconds,
            stats={
                "x_vars": len(self.x),
                "y_vars": len(self.y),
                # the two proofs of ``bound``, the better one kept (-1: not computed)
                "bound_cp_sat": math.floor(own) if own > -math.inf else -1,
                "bound_lp": self.goals_lp if self.goals_lp is not None else -1,
                "cover_unmet": self.cover[0] if self.cover else -1,
                "cover_unmet_bound": self.cover[1] if self.cover else -1,  # proven minimum
            },
        )

    def _lessons(self, solver: cp_model.CpSolver) -> tuple[Lesson, ...]:
        """Groups from the solution; kept lessons keep their id and room, new ones get
        fresh ids and a room of their school free at that time."""
        classes_of: dict[YKey, list[str]] = defaultdict(list)
        for ykey, held in self.taken.groups.items():
            if self.current is not None:  # a repair's kept lessons; else another plan's
                classes_of[ykey].extend(held.class_ids)
        for key, var in self.x.items():
            if solver.value(var):
                class_id, subject, teacher_id, day, period = key
                grade = self.inst.classes[class_id].grade
                classes_of[(teacher_id, day, period, subject, grade)].append(class_id)
        before = {
            (le.teacher_id, le.day, le.period, le.subject, le.grade): le
            for le in (self.current.lessons if self.current is not None else ())
        }
        rooms_used: dict[tuple[str, int, int], set[str]] = defaultdict(set)
        for ykey in classes_of:
            if ykey in before:  # a lesson that stays where it was keeps its id and room
                school_id = self.inst.teachers[ykey[0]].school_id
                rooms_used[(school_id, ykey[1], ykey[2])].add(before[ykey].output_classroom_id)
        numbers = [int(i[1:]) for i in (le.id for le in before.values()) if i[1:].isdigit()]
        next_number = max(numbers, default=0) + 1
        lessons = []
        for ykey in sorted(classes_of, key=lambda k: (k[1], k[2], k[0], k[3], k[4])):
            teacher_id, day, period, subject, grade = ykey
            was = before.get(ykey)
            if was is not None:
                lesson_id, room = was.id, was.output_classroom_id
            else:
                school_id = self.inst.teachers[teacher_id].school_id
                used = rooms_used[(school_id, day, period)]
                room = next(r for r in self.inst.output_rooms[school_id] if r not in used)
                used.add(room)
                lesson_id, next_number = f"L{next_number:05d}", next_number + 1
            lessons.append(
                Lesson(lesson_id, day, period, teacher_id, room, subject, grade,
                       tuple(sorted(classes_of[ykey])))
            )  # fmt: skip
        return tuple(lessons)

    @cached_property
    def _options_of(self) -> dict[tuple[str, str], list[XKey]]:
        """Each need's possible (class, subject, teacher, day, period), for its reason (a
        scan of every x per unmet need took 0.3 s of L's 60)."""
        options: dict[tuple[str, str], list[XKey]] = defaultdict(list)
        for key in self.x:
            options[(key[0], key[1])].append(key)
        return options

    def _reason(
        self, solver: cp_model.CpSolver, class_id: str, subject: str, *, solved: bool
    ) -> UnmetReason:
        if not self.inst.qualified(class_id, subject):
            return UnmetReason.NO_TEACHER
        teachers = self.inst.candidates(class_id, subject)  # none: no bells align
        options = self._options_of.get((class_id, subject), [])
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
