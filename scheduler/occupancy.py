"""What fixed lessons already take: the residual capacity a repair plans within.

A repair frees only the needs (class, subject) that must move; every other need
keeps its lessons. Rather than putting the whole region into the model with most of it
pinned, the kept lessons are read once into what they occupy (a teacher's slot, a
receiving room's period, seats in a group, a line's concurrent lessons, a
teacher's weekly load) and the model is built for the free needs alone. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from scheduler.instance import Instance
from scheduler.plan import Lesson

YKey = tuple[str, int, int, str, int]  # teacher, day, period, subject, grade


@dataclass
class Occupancy:
    """Taken by fixed lessons; empty for a plan made from scratch."""

    groups: dict[YKey, Lesson] = field(default_factory=dict)  # the lesson as it stays
    seats: Counter[YKey] = field(default_factory=Counter)
    teacher_slots: dict[tuple[str, int, int], YKey] = field(default_factory=dict)
    rooms: set[tuple[str, int, int]] = field(default_factory=set)  # receiving room, day, local
    school_slots: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    point_slots: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    load: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, inst: Instance, lessons: Iterable[Lesson], free: set[tuple[str, str]]) -> Occupancy:
        """What ``lessons`` take once the ``free`` needs (class, subject) have left them."""
        taken = cls()
        for lesson in lessons:
            staying = tuple(
                c for c in lesson.class_ids if (c, lesson.subject) not in free and c in inst.classes
            )
            teacher = inst.teachers.get(lesson.teacher_id)
            if not staying or teacher is None:
                continue
            key = (lesson.teacher_id, lesson.day, lesson.period, lesson.subject, lesson.grade)
            taken.groups[key] = Lesson(
                lesson.id, lesson.day, lesson.period, lesson.teacher_id,
                lesson.output_classroom_id, lesson.subject, lesson.grade, staying,
            )  # fmt: skip
            taken.seats[key] = len(staying)
            taken.teacher_slots[(lesson.teacher_id, lesson.day, lesson.period)] = key
            taken.school_slots[(teacher.school_id, lesson.day, lesson.period)] += 1
            taken.load[lesson.teacher_id] += 1
            for class_id in staying:
                klass = inst.classes[class_id]
                local = inst.local_period(lesson.teacher_id, class_id, lesson.period)
                if local is None:
                    continue
                taken.rooms.add((klass.classroom_id, lesson.day, local))
                taken.point_slots[(klass.school_id, lesson.day, local)] += 1
        return taken

    def allows(self, inst: Instance, key: YKey, class_id: str, local: int) -> bool:
        """May ``class_id`` take the lesson ``key`` (in its own period ``local``)?"""
        teacher_id, day, period, _, _ = key
        held = self.teacher_slots.get((teacher_id, day, period))
        if held is not None and (held != key or self.seats[key] >= inst.params.max_receivers):
            return False
        return (inst.classes[class_id].classroom_id, day, local) not in self.rooms
