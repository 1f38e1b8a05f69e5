"""SQL storage of lesson rooms, their event log and inspections."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from kernel.events import Event, encode_event
from rooms.controls import Controls
from rooms.lifecycle import LessonRoom, RoomState
from rooms.tables import inspections, lesson_events, lesson_rooms


@dataclass(frozen=True)
class Inspection:
    id: int
    lesson: str
    inspector_id: int
    inspector: str
    at: datetime
    moment_seconds: int
    scores: dict[str, int]
    notes: str


def _room(row: Row[Any]) -> tuple[LessonRoom, Controls]:
    room = LessonRoom(
        row.lesson, RoomState(row.state), row.starts_at, row.ends_at, row.opened_at,
        row.live_at, row.ended_at, row.archived_at, row.end_reason,
    )  # fmt: skip
    return room, Controls.from_dict(row.controls or {})


def _values(room: LessonRoom) -> dict[str, Any]:
    return {
        "state": room.state.value, "starts_at": room.starts_at, "ends_at": room.ends_at,
        "opened_at": room.opened_at, "live_at": room.live_at, "ended_at": room.ended_at,
        "archived_at": room.archived_at, "end_reason": room.end_reason,
    }  # fmt: skip


class RoomStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, lesson: str) -> tuple[LessonRoom, Controls] | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(lesson_rooms).where(lesson_rooms.c.lesson == lesson)).first()
        return None if row is None else _room(row)

    def many(self, lessons: Sequence[str]) -> dict[str, tuple[LessonRoom, Controls]]:
        found: dict[str, tuple[LessonRoom, Controls]] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(lessons), 500):
                chunk = list(lessons[start : start + 500])
                query = select(lesson_rooms).where(lesson_rooms.c.lesson.in_(chunk))
                for row in conn.execute(query):
                    found[row.lesson] = _room(row)
        return found

    def add(self, room: LessonRoom) -> bool:
        """Store a new room; False if it is stored already (another instance was first)."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(lesson_rooms).values(
                        lesson=room.lesson, controls=Controls().as_dict(), **_values(room)
                    )
                )
        except IntegrityError:
            return False
        return True

    def save(self, room: LessonRoom, controls: Controls | None = None) -> None:
        values = _values(room)
        if controls is not None:
            values["controls"] = controls.as_dict()
        with self._engine.begin() as conn:
            conn.execute(
                update(lesson_rooms).where(lesson_rooms.c.lesson == room.lesson).values(**values)
            )

    def unfinished(self) -> list[tuple[LessonRoom, Controls]]:
        """Every room not archived yet: what a restarted server resumes."""
        query = select(lesson_rooms).where(lesson_rooms.c.state != RoomState.ARCHIVED.value)
        with self._engine.connect() as conn:
            return [_room(row) for row in conn.execute(query)]

    # the event log ------------------------------------------------------------------
    def append(self, events: Iterable[Event]) -> None:
        rows = []
        for event in events:
            doc = json.loads(encode_event(event))
            rows.append(
                {"event_id": event.id, "at": event.at, "type": event.type_name,
                 "lesson": event.key, "data": doc["data"]}
            )  # fmt: skip
        if rows:
            with self._engine.begin() as conn:
                conn.execute(insert(lesson_events), rows)

    def lessons_with(self, kind: str, since: datetime) -> set[str]:
        """The lessons whose log has an event of ``kind`` at or after ``since``."""
        query = select(lesson_events.c.lesson).where(
            lesson_events.c.type == kind, lesson_events.c.at >= since
        )
        with self._engine.connect() as conn:
            return set(conn.scalars(query.distinct()))

    def events(
        self, lesson: str, types: Sequence[str] = (), limit: int = 500
    ) -> list[dict[str, Any]]:
        """The lesson's latest events, oldest first: ``{type, at, data}``."""
        query = select(lesson_events).where(lesson_events.c.lesson == lesson)
        if types:
            query = query.where(lesson_events.c.type.in_(list(types)))
        query = query.order_by(lesson_events.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            rows = list(conn.execute(query))
        return [{"type": r.type, "at": r.at, "data": r.data} for r in reversed(rows)]

    def quality_log(self, lesson: str) -> list[tuple[str, datetime, dict[str, Any]]]:
        """The lesson's quality samples and alerts, oldest first, as stored: what
        :class:`rooms.quality_summary.QualityFold` reads."""
        c = lesson_events.c
        query = (
            select(c.type, c.at, c.data)
            .where(c.lesson == lesson, c.type.in_(("quality.sample", "quality.alert")))
            .order_by(c.id)
        )
        with self._engine.connect() as conn:
            return [(r.type, r.at, r.data) for r in conn.execute(query)]

    # inspections --------------------------------------------------------------------
    def add_inspection(
        self, lesson: str, inspector_id: int, inspector: str, at: datetime,
        moment_seconds: int, scores: dict[str, int], notes: str,
    ) -> int:  # fmt: skip
        with self._engine.begin() as conn:
            result = conn.execute(
                insert(inspections).values(
                    lesson=lesson, inspector_id=inspector_id, inspector=inspector, at=at,
                    moment_seconds=moment_seconds, scores=scores, notes=notes,
                )
            )  # fmt: skip
            assert result.inserted_primary_key is not None
            return int(result.inserted_primary_key[0])

    def inspections(self, lesson: str) -> list[Inspection]:
        query = select(inspections).where(inspections.c.lesson == lesson)
        with self._engine.connect() as conn:
            rows = list(conn.execute(query.order_by(inspections.c.id)))
        return [
            Inspection(r.id, r.lesson, r.inspector_id, r.inspector, r.at, r.moment_seconds,
                       dict(r.scores), r.notes)
            for r in rows
        ]  # fmt: skip
