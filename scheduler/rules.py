"""The hard rules of DESIGN.md §6, checked on a finished timetable.

The solver is built to respect them; this check is the independent reading used
by the tests (and as a guard before a plan is published). Returns one line per
violation; an empty list means the timetable is valid.
"""

from __future__ import annotations

from collections import Counter

from scheduler.instance import Instance
from scheduler.plan import Timetable


def violations(instance: Instance, timetable: Timetable) -> list[str]:
    found: list[str] = []
    teacher_slots: Counter[tuple[str, int, int]] = Counter()
    room_slots: Counter[tuple[str, int, int]] = Counter()
    school_slots: Counter[tuple[str, int, int]] = Counter()
    receiving: Counter[tuple[str, int, int]] = Counter()
    point_slots: Counter[tuple[str, int, int]] = Counter()
    delivered: Counter[tuple[str, str]] = Counter()
    load: Counter[str] = Counter()
    needs = {(n.class_id, n.subject): n.periods_per_week for n in instance.directory.needs}
    for lesson in timetable.lessons:
        where = f"{lesson.id} ({lesson.teacher_id} day {lesson.day} period {lesson.period})"
        teacher = instance.teachers.get(lesson.teacher_id)
        if teacher is None:
            found.append(f"{where}: unknown teacher")
            continue
        if lesson.subject not in teacher.subjects or lesson.grade not in teacher.grades:
            found.append(f"{where}: teacher does not teach {lesson.subject} grade {lesson.grade}")
        if not 1 <= len(lesson.class_ids) <= instance.params.max_receivers:
            found.append(f"{where}: {len(lesson.class_ids)} receiving classes")
        if (teacher.id, lesson.day, lesson.period) in instance.busy:
            found.append(f"{where}: teacher is busy then")
        if lesson.output_classroom_id not in instance.output_rooms.get(teacher.school_id, []):
            found.append(f"{where}: room {lesson.output_classroom_id} is not its school's")
        teacher_slots[(teacher.id, lesson.day, lesson.period)] += 1
        room_slots[(lesson.output_classroom_id, lesson.day, lesson.period)] += 1
        school_slots[(teacher.school_id, lesson.day, lesson.period)] += 1
        load[teacher.id] += 1
        for class_id in lesson.class_ids:
            klass = instance.classes.get(class_id)
            if klass is None:
                found.append(f"{where}: unknown class {class_id}")
                continue
            if klass.grade != lesson.grade:
                found.append(f"{where}: class {class_id} is grade {klass.grade}")
            local = instance.local_period(teacher.id, class_id, lesson.period)
            if local is None:
                found.append(f"{where}: bells of {class_id} do not overlap enough")
                continue
            if (class_id, lesson.day, local) in instance.busy:
                found.append(f"{where}: class {class_id} is busy in its period {local}")
            receiving[(klass.classroom_id, lesson.day, local)] += 1
            point_slots[(klass.school_id, lesson.day, local)] += 1
            delivered[(class_id, lesson.subject)] += 1
    found += [f"teacher {t} double-booked day {d} period {p}" for (t, d, p), n in
              teacher_slots.items() if n > 1]  # fmt: skip
    found += [f"output room {r} double-booked day {d} period {p}" for (r, d, p), n in
              room_slots.items() if n > 1]  # fmt: skip
    found += [f"receiving room {r} double-booked day {d} local period {q}" for (r, d, q), n in
              receiving.items() if n > 1]  # fmt: skip
    for (school, day, period), n in school_slots.items():
        if n > instance.up_lessons(school):
            found.append(f"uplink of {school} exceeded day {day} period {period} ({n} lessons)")
    for (school, day, period), n in point_slots.items():
        if n > instance.down_lessons(school):
            found.append(f"downlink of {school} exceeded day {day} period {period} ({n})")
    for teacher_id, n in load.items():
        if n > instance.teachers[teacher_id].weekly_cap:
            found.append(f"teacher {teacher_id} teaches {n} > cap")
    for (class_id, subject), n in delivered.items():
        if n > needs.get((class_id, subject), 0):
            found.append(f"class {class_id} gets {n} periods of {subject}, needs fewer")
    return found
