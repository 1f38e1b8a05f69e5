"""The timetable's dated lessons as the indicators expect them (:class:`Expected`).

Pure: occurrences and the directory in. The directory is indexed once, so a term's
30,000 lessons are laid out in well under a second.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime, tzinfo

from reports.facts import Expected, Receiver
from scheduler.model import Directory
from scheduler.occurrence import Occurrence


class Layout:
    """``directory`` indexed for :meth:`expected`."""

    def __init__(self, directory: Directory, zone: tzinfo, repair_plans: Collection[int]) -> None:
        self._zone = zone
        self._repairs = frozenset(repair_plans)
        self._schools = {s.id: s for s in directory.schools}
        self._classes = {c.id: c for c in directory.classes}
        self._teacher_school = {t.id: t.school_id for t in directory.teachers}
        self._rooms = {r.id: r.school_id for r in directory.classrooms}

    def expected(self, o: Occurrence) -> Expected:
        le = o.lesson
        by_room: dict[str, list[str]] = {}
        for class_id in le.class_ids:
            cls = self._classes.get(class_id)
            by_room.setdefault(cls.classroom_id if cls else f"?{class_id}", []).append(class_id)
        receivers = []
        for room, class_ids in by_room.items():
            cls = self._classes.get(class_ids[0])
            school = self._schools.get(cls.school_id) if cls else None
            receivers.append(
                Receiver(room, school.id if school else "", school.region if school else "",
                         tuple(class_ids))
            )  # fmt: skip
        school_id = self._teacher_school.get(le.teacher_id) or self._rooms.get(
            le.output_classroom_id, ""
        )
        output = self._schools.get(school_id)
        return Expected(
            lesson=o.id, day=o.day,
            starts_at=datetime.combine(o.day, o.start, self._zone).astimezone(UTC),
            ends_at=datetime.combine(o.day, o.end, self._zone).astimezone(UTC),
            teacher_id=le.teacher_id, subject=le.subject, grade=le.grade,
            school_id=school_id, region=output.region if output else "",
            receivers=tuple(receivers), state=o.state, cancel_reason=o.reason,
            repair=o.plan_id in self._repairs,
        )  # fmt: skip

    def all(self, occurrences: Iterable[Occurrence]) -> list[Expected]:
        return [self.expected(o) for o in occurrences]
