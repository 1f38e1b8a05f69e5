"""SQL storage of the school directory.

``replace`` swaps the whole directory in one transaction, so an import that fails
half-way changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, delete, insert, select

from scheduler.calendar import CalendarDay
from scheduler.model import (
    BellPeriod,
    Busy,
    Classroom,
    ClassroomRole,
    Directory,
    Need,
    Previous,
    ReceivingClass,
    Region,
    RegionLevel,
    School,
    SchoolKind,
    Teacher,
)
from scheduler.tables import (
    bell_periods,
    busy_slots,
    calendar_days,
    classrooms,
    needs,
    previous_pairings,
    receiving_classes,
    regions,
    schools,
    teachers,
)

# Insert order respects foreign keys; deletes run in reverse.
_ORDER = (regions, schools, bell_periods, classrooms, teachers, receiving_classes, needs)


def _region_rows(items: tuple[Region, ...]) -> list[dict[str, Any]]:
    # parents first, so the self-reference holds at every insert
    depth = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}
    ordered = sorted(items, key=lambda r: depth.get(r.level, 3))
    return [
        {"code": r.code, "name": r.name, "level": r.level.value, "parent": r.parent}
        for r in ordered
    ]


def _teacher_row(t: Teacher) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "school_id": t.school_id,
        "subjects": ";".join(t.subjects),
        "grades": ";".join(str(g) for g in t.grades),
        "weekly_cap": t.weekly_cap,
        "master": t.master,
    }


def _rows(directory: Directory) -> dict[Table, list[dict[str, Any]]]:
    return {
        regions: _region_rows(directory.regions),
        schools: [vars(s) | {"kind": s.kind.value} for s in directory.schools],
        bell_periods: [vars(b) for b in directory.bells],
        classrooms: [vars(c) | {"role": c.role.value} for c in directory.classrooms],
        teachers: [_teacher_row(t) for t in directory.teachers],
        receiving_classes: [vars(c) for c in directory.classes],
        needs: [vars(n) for n in directory.needs],
        busy_slots: [vars(b) for b in directory.busy],
        previous_pairings: [vars(p) for p in directory.previous],
    }


class DirectoryStore:
    """The school directory in SQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def replace(self, directory: Directory, calendar: Iterable[CalendarDay] = ()) -> None:
        """Swap the stored directory (and the term calendar) for these, all or nothing."""
        rows = _rows(directory)
        rows[calendar_days] = [
            {"day": c.day, "kind": c.kind, "weekday": c.weekday} for c in calendar
        ]
        loose = (busy_slots, previous_pairings, calendar_days)
        with self._engine.begin() as conn:
            for table in (*loose, *reversed(_ORDER)):
                conn.execute(delete(table))
            for table in (*_ORDER, *loose):
                if rows[table]:
                    conn.execute(insert(table), rows[table])

    def calendar(self) -> list[CalendarDay]:
        """The term's holidays and make-up workdays, as imported."""
        with self._engine.connect() as conn:
            return [CalendarDay(r.day, r.kind, r.weekday) for r in _all(conn, calendar_days)]

    def load(self) -> Directory:
        with self._engine.connect() as conn:
            return Directory(
                regions=tuple(_region(r) for r in _all(conn, regions)),
                schools=tuple(_school(r) for r in _all(conn, schools)),
                bells=tuple(BellPeriod(**r._asdict()) for r in _all(conn, bell_periods)),
                classrooms=tuple(_classroom(r) for r in _all(conn, classrooms)),
                teachers=tuple(_teacher(r) for r in _all(conn, teachers)),
                classes=tuple(ReceivingClass(**r._asdict()) for r in _all(conn, receiving_classes)),
                needs=tuple(Need(**r._asdict()) for r in _all(conn, needs)),
                busy=tuple(Busy(**r._asdict()) for r in _all(conn, busy_slots)),
                previous=tuple(Previous(**r._asdict()) for r in _all(conn, previous_pairings)),
            )

    def schools_in(self, region_prefix: str | None, school_id: str | None) -> list[School]:
        """Schools whose township code starts with ``region_prefix``, or just one school."""
        query = select(schools).order_by(schools.c.region, schools.c.id)
        if school_id is not None:
            query = query.where(schools.c.id == school_id)
        elif region_prefix is not None:
            query = query.where(schools.c.region.startswith(region_prefix))
        with self._engine.connect() as conn:
            return [_school(row) for row in conn.execute(query)]

    def regions(self) -> dict[str, Region]:
        """Every region by code (a county has a few dozen; read whole)."""
        with self._engine.connect() as conn:
            return {r.code: _region(r) for r in _all(conn, regions)}

    def school(self, school_id: str) -> School | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(schools).where(schools.c.id == school_id)).first()
        return None if row is None else _school(row)


def _all(conn: Connection, table: Table) -> list[Row[Any]]:
    return list(conn.execute(select(table).order_by(*table.primary_key.columns)))


def _region(row: Row[Any]) -> Region:
    return Region(row.code, row.name, RegionLevel(row.level), row.parent)


def _school(row: Row[Any]) -> School:
    return School(row.id, row.name, SchoolKind(row.kind), row.region, row.bell_schedule_id)


def _classroom(row: Row[Any]) -> Classroom:
    return Classroom(
        row.id, row.school_id, ClassroomRole(row.role), row.uplink_kbps, row.downlink_kbps
    )


def _teacher(row: Row[Any]) -> Teacher:
    return Teacher(
        id=row.id,
        name=row.name,
        school_id=row.school_id,
        subjects=tuple(s for s in row.subjects.split(";") if s),
        grades=tuple(int(g) for g in row.grades.split(";") if g),
        weekly_cap=row.weekly_cap,
        master=row.master,
    )
