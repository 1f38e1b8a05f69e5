"""SQL storage of plans (weekly lessons, unmet needs) and of their dated occurrences.

Publishing lays a plan over the term: occurrences from the first day still to come
replace the previous plan's, in one transaction. A repair changes occurrences only
between its dates. Both return what changed, so the caller can announce it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, insert, select, update

from scheduler.occurrence import CANCELLED, SCHEDULED, Occurrence
from scheduler.plan import Lesson, Parameters, Timetable, Unmet, UnmetReason
from scheduler.tables import dated_lessons, plan_lessons, plan_unmet, plans


@dataclass(frozen=True)
class StoredPlan:
    id: int
    kind: str  # solve | repair
    parent_id: int | None
    note: str
    params: Parameters
    term_start: date | None
    term_end: date | None
    timetable: Timetable

    @property
    def published(self) -> bool:
        return self.term_start is not None


@dataclass(frozen=True)
class Changes:
    added: list[Occurrence]
    cancelled: list[Occurrence]


def _lesson(row: Row[Any]) -> Lesson:
    return Lesson(
        row.lesson_id, row.day, row.period,
        row.teacher_id, row.output_classroom_id, row.subject, row.grade,
        tuple(c for c in row.class_ids.split(";") if c),
    )  # fmt: skip


def _occurrence(row: Row[Any]) -> Occurrence:
    lesson = Lesson(
        row.lesson_id, row.day.isoweekday(), row.period, row.teacher_id,
        row.output_classroom_id, row.subject, row.grade,
        tuple(c for c in row.class_ids.split(";") if c),
    )  # fmt: skip
    return Occurrence(row.id, row.plan_id, lesson, row.day, row.start, row.end, row.state,
                      row.reason)  # fmt: skip


def _occurrence_row(o: Occurrence) -> dict[str, Any]:
    le = o.lesson
    return {
        "id": o.id, "plan_id": o.plan_id, "lesson_id": le.id, "day": o.day,
        "period": le.period, "start": o.start, "end": o.end, "teacher_id": le.teacher_id,
        "output_classroom_id": le.output_classroom_id, "subject": le.subject,
        "grade": le.grade, "class_ids": ";".join(le.class_ids), "state": o.state,
        "reason": o.reason,
    }  # fmt: skip


class PlanStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # plans ------------------------------------------------------------------------
    def save(
        self,
        plan: Timetable,
        params: Parameters,
        *,
        kind: str = "solve",
        parent_id: int | None = None,
        note: str = "",
    ) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(
                insert(plans).values(
                    kind=kind, parent_id=parent_id, status=plan.status, demand=plan.demand,
                    scheduled=plan.scheduled, objective=plan.objective, bound=plan.bound,
                    seconds=plan.seconds, params=json.dumps(asdict(params)), note=note,
                )
            )  # fmt: skip
            assert result.inserted_primary_key is not None
            plan_id = result.inserted_primary_key[0]
            if plan.lessons:
                conn.execute(
                    insert(plan_lessons),
                    [
                        {"plan_id": plan_id, "lesson_id": le.id, "day": le.day,
                         "period": le.period, "teacher_id": le.teacher_id,
                         "output_classroom_id": le.output_classroom_id, "subject": le.subject,
                         "grade": le.grade, "class_ids": ";".join(le.class_ids)}
                        for le in plan.lessons
                    ],
                )  # fmt: skip
            if plan.unmet:
                conn.execute(
                    insert(plan_unmet),
                    [
                        {"plan_id": plan_id, "class_id": u.class_id, "subject": u.subject,
                         "periods": u.periods, "reason": u.reason.value}
                        for u in plan.unmet
                    ],
                )  # fmt: skip
        return int(plan_id)

    def get(self, plan_id: int) -> StoredPlan | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(plans).where(plans.c.id == plan_id)).first()
            if row is None:
                return None
            lessons = conn.execute(
                select(plan_lessons)
                .where(plan_lessons.c.plan_id == plan_id)
                .order_by(plan_lessons.c.lesson_id)
            )
            unmet = conn.execute(
                select(plan_unmet)
                .where(plan_unmet.c.plan_id == plan_id)
                .order_by(plan_unmet.c.class_id, plan_unmet.c.subject)
            )
            return self._stored(
                row,
                tuple(_lesson(r) for r in lessons),
                tuple(
                    Unmet(u.class_id, u.subject, u.periods, UnmetReason(u.reason)) for u in unmet
                ),
            )

    def summaries(self, limit: int = 50) -> list[StoredPlan]:
        """The latest plans, newest first, without their lessons."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(plans).order_by(plans.c.id.desc()).limit(limit))
            return [self._stored(row, (), ()) for row in rows]

    def published(self) -> StoredPlan | None:
        """The plan the term's occurrences come from (the last one published)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(plans.c.id)
                .where(plans.c.term_start.is_not(None))
                .order_by(plans.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else self.get(row.id)

    @staticmethod
    def _stored(row: Row[Any], lessons: tuple[Lesson, ...], unmet: tuple[Unmet, ...]) -> StoredPlan:
        timetable = Timetable(
            row.status, lessons, unmet, row.objective, row.bound, row.seconds, row.demand,
            row.scheduled,
        )  # fmt: skip
        return StoredPlan(
            row.id, row.kind, row.parent_id, row.note, Parameters(**json.loads(row.params)),
            row.term_start, row.term_end, timetable,
        )  # fmt: skip

    # occurrences ------------------------------------------------------------------
    def publish(
        self, plan_id: int, first: date, last: date, laid_out: Iterable[Occurrence], since: date
    ) -> Changes:
        """Make ``plan_id`` the term's plan from ``since`` on (earlier days are history)."""
        new = {o.id: o for o in laid_out if o.day >= since}
        with self._engine.begin() as conn:
            conn.execute(
                update(plans).where(plans.c.id == plan_id).values(term_start=first, term_end=last)
            )
            upcoming = self._scheduled(conn, dated_lessons.c.day >= since)
            gone = [o for o in upcoming if o.id not in new]
            known = {o.id for o in upcoming}
            added = [o for o in new.values() if o.id not in known]
            self._cancel(conn, gone, "superseded")
            self._insert(conn, added)
        return Changes(added, [replace(o, state=CANCELLED, reason="superseded") for o in gone])

    def apply_repair(
        self,
        first: date,
        last: date,
        removed: Sequence[tuple[str, int, int]],  # (teacher, weekday, period) that go
        laid_out: Iterable[Occurrence],
    ) -> Changes:
        """Between ``first`` and ``last``: cancel occurrences of the removed lessons, add the
        repair's new ones."""
        going = set(removed)
        with self._engine.begin() as conn:
            window = self._scheduled(
                conn, and_(dated_lessons.c.day >= first, dated_lessons.c.day <= last)
            )
            gone = [
                o for o in window
                if (o.lesson.teacher_id, o.day.isoweekday(), o.lesson.period) in going
            ]  # fmt: skip
            known = {o.id for o in window}
            added = [o for o in laid_out if first <= o.day <= last and o.id not in known]
            self._cancel(conn, gone, "repair")
            self._insert(conn, added)
        return Changes(added, [replace(o, state=CANCELLED, reason="repair") for o in gone])

    def occurrences(
        self, first: date, last: date, *, include_cancelled: bool = False
    ) -> list[Occurrence]:
        query = select(dated_lessons).where(
            dated_lessons.c.day >= first, dated_lessons.c.day <= last
        )
        if not include_cancelled:
            query = query.where(dated_lessons.c.state == SCHEDULED)
        query = query.order_by(dated_lessons.c.day, dated_lessons.c.start, dated_lessons.c.id)
        with self._engine.connect() as conn:
            return [_occurrence(r) for r in conn.execute(query)]

    def occurrences_by_id(self, ids: Sequence[str]) -> list[Occurrence]:
        """The stored occurrences among ``ids`` (scheduled or cancelled), in no order."""
        found: list[Occurrence] = []
        with self._engine.connect() as conn:
            for start in range(0, len(ids), 500):
                query = select(dated_lessons).where(
                    dated_lessons.c.id.in_(ids[start : start + 500])
                )
                found += [_occurrence(r) for r in conn.execute(query)]
        return found

    def repair_plans(self) -> set[int]:
        """The ids of the plans made by repairing another around an absent teacher."""
        with self._engine.connect() as conn:
            return set(conn.scalars(select(plans.c.id).where(plans.c.kind == "repair")))

    @staticmethod
    def _scheduled(conn: Connection, where: Any) -> list[Occurrence]:
        query = select(dated_lessons).where(dated_lessons.c.state == SCHEDULED, where)
        return [_occurrence(r) for r in conn.execute(query)]

    @staticmethod
    def _cancel(conn: Connection, gone: list[Occurrence], reason: str) -> None:
        ids = [o.id for o in gone]
        for start in range(0, len(ids), 500):
            conn.execute(
                update(dated_lessons)
                .where(dated_lessons.c.id.in_(ids[start : start + 500]))
                .values(state=CANCELLED, reason=reason)
            )

    @staticmethod
    def _insert(conn: Connection, added: list[Occurrence]) -> None:
        """Insert ``added``, replacing cancelled rows of the same id (a plan published again)."""
        ids = [o.id for o in added]
        for start in range(0, len(ids), 500):
            conn.execute(
                delete(dated_lessons).where(dated_lessons.c.id.in_(ids[start : start + 500]))
            )
        if added:
            conn.execute(insert(dated_lessons), [_occurrence_row(o) for o in added])

    def add_occurrences(self, occurrences: list[Occurrence]) -> list[Occurrence]:
        """Store occurrences made outside a publication (the demo's lessons happening now).

        Those whose id is stored already are left as they are; returns the ones added.
        """
        unique = list({o.id: o for o in occurrences}.values())
        with self._engine.begin() as conn:
            known: set[str] = set()
            for start in range(0, len(unique), 500):
                ids = [o.id for o in unique[start : start + 500]]
                known.update(
                    conn.scalars(select(dated_lessons.c.id).where(dated_lessons.c.id.in_(ids)))
                )
            added = [o for o in unique if o.id not in known]
            if added:
                conn.execute(insert(dated_lessons), [_occurrence_row(o) for o in added])
        return added
