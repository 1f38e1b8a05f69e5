"""A greedy plan: the baseline the solver is measured against, and its first hint.

Takes the needs hardest-first (fewest possible slots), and gives each period the
first slot that keeps every hard rule, joining an existing lesson of the same
teacher, subject and grade when there is room in its group.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from scheduler.instance import Instance
from scheduler.plan import Lesson, Timetable, Unmet, UnmetReason
from scheduler.timing import DAYS


def greedy(inst: Instance) -> Timetable:
    p = inst.params
    groups: dict[tuple[str, int, int, str, int], list[str]] = {}
    teacher_busy: set[tuple[str, int, int]] = set()
    room_busy: set[tuple[str, int, int]] = set()
    school_load: Counter[tuple[str, int, int]] = Counter()
    point_load: Counter[tuple[str, int, int]] = Counter()
    load: Counter[str] = Counter()
    class_subject_days: dict[tuple[str, str], set[int]] = defaultdict(set)
    needs = [n for n in inst.directory.needs if n.class_id in inst.classes and n.periods_per_week]

    def slots(class_id: str, subject: str) -> list[tuple[str, int, int, int]]:
        found = []
        for teacher_id in inst.candidates(class_id, subject):
            for period in inst.output_periods(teacher_id):
                local = inst.local_period(teacher_id, class_id, period)
                if local is None:
                    continue
                for day in DAYS:
                    if (teacher_id, day, period) in inst.busy or (
                        class_id,
                        day,
                        local,
                    ) in inst.busy:
                        continue
                    found.append((teacher_id, day, period, local))
        return found

    options = {(n.class_id, n.subject): slots(n.class_id, n.subject) for n in needs}
    unmet = []
    for need in sorted(needs, key=lambda n: (len(options[(n.class_id, n.subject)]), n.class_id)):
        klass = inst.classes[need.class_id]
        missing = need.periods_per_week
        teacher_of_pair: str | None = None
        for teacher_id, day, period, local in sorted(
            options[(need.class_id, need.subject)],
            key=lambda o: (o[1] in class_subject_days[(need.class_id, need.subject)], o[1], o[2]),
        ):
            if missing == 0:
                break
            if teacher_of_pair is not None and teacher_id != teacher_of_pair:
                continue  # one teacher per class and subject
            if (klass.classroom_id, day, local) in room_busy:
                continue
            if point_load[(klass.school_id, day, local)] >= inst.down_lessons(klass.school_id):
                continue
            key = (teacher_id, day, period, need.subject, klass.grade)
            group = groups.get(key)
            if group is not None:
                if len(group) >= p.max_receivers:
                    continue
            else:
                school = inst.teachers[teacher_id].school_id
                capacity = min(len(inst.output_rooms[school]), inst.up_lessons(school))
                if (
                    (teacher_id, day, period) in teacher_busy
                    or school_load[(school, day, period)] >= capacity
                    or load[teacher_id] >= inst.teachers[teacher_id].weekly_cap
                ):
                    continue
                group = groups[key] = []
                teacher_busy.add((teacher_id, day, period))
                school_load[(school, day, period)] += 1
                load[teacher_id] += 1
            group.append(need.class_id)
            room_busy.add((klass.classroom_id, day, local))
            point_load[(klass.school_id, day, local)] += 1
            class_subject_days[(need.class_id, need.subject)].add(day)
            teacher_of_pair = teacher_id
            missing -= 1
        if missing:
            unmet.append(Unmet(need.class_id, need.subject, missing, UnmetReason.CAPACITY))
    rooms_used: Counter[tuple[str, int, int]] = Counter()
    lessons = []
    for n, key in enumerate(sorted(groups, key=lambda k: (k[1], k[2], k[0]))):
        teacher_id, day, period, subject, grade = key
        school = inst.teachers[teacher_id].school_id
        room = inst.output_rooms[school][rooms_used[(school, day, period)]]
        rooms_used[(school, day, period)] += 1
        lessons.append(
            Lesson(f"G{n + 1:05d}", day, period, teacher_id, room, subject, grade,
                   tuple(sorted(groups[key])))
        )  # fmt: skip
    demand = sum(n.periods_per_week for n in needs)
    missed = sum(u.periods for u in unmet)
    return Timetable("GREEDY", tuple(lessons), tuple(unmet), 0.0, 0.0, 0.0, demand, demand - missed)
