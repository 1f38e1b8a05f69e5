"""What the indicators read from the other packages' tables (read only).

The lessons' event log and inspections (``rooms``), the review activity
(``recorder``) and which account stands for which teacher (``identity``). Each
reader takes lessons in chunks so a term's recompute streams instead of loading
everything at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from identity.tables import users
from recorder.review_tables import review_comments, review_scores, review_session_recordings
from reports.facts import Logged
from reports.store import Research
from rooms.tables import inspections, lesson_events

#: The event types the facts fold; the rest of the log (chat, controls) is not read.
FOLDED = (
    "media.joined", "media.left", "quality.sample", "quality.alert", "room.opened",
    "room.live", "room.ended", "recording.ready",
)  # fmt: skip


class Sources:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def logs(self, lessons: Sequence[str]) -> dict[str, list[Logged]]:
        """Each lesson's folded events, oldest first."""
        c = lesson_events.c
        out: dict[str, list[Logged]] = {lesson: [] for lesson in lessons}
        query = (
            select(c.lesson, c.type, c.at, c.data)
            .where(c.lesson.in_(list(lessons)), c.type.in_(FOLDED))
            .order_by(c.lesson, c.id)
        )
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                out[row.lesson].append((row.type, row.at, row.data))
        return out

    def inspections(self, lessons: Sequence[str]) -> dict[str, list[dict[str, int]]]:
        c = inspections.c
        out: dict[str, list[dict[str, int]]] = {}
        query = select(c.lesson, c.scores).where(c.lesson.in_(list(lessons))).order_by(c.id)
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                out.setdefault(row.lesson, []).append(dict(row.scores))
        return out

    def changed_lessons(self, after_id: int) -> tuple[set[str], int]:
        """Lessons with folded events (or inspections' events) logged after ``after_id``,
        and the log's last id."""
        c = lesson_events.c
        with self._engine.connect() as conn:
            last = conn.scalar(select(func.max(c.id))) or 0
            if last <= after_id:
                return set(), after_id
            query = select(c.lesson).where(c.id > after_id, c.id <= last).distinct()
            return set(conn.scalars(query)), int(last)

    def research(self) -> dict[str, Research]:
        """Every recording's review activity (recordings are named by their lesson)."""
        comments = review_comments.c
        scores = review_scores.c
        sessions = review_session_recordings.c
        found: dict[str, dict[str, int]] = {}
        with self._engine.connect() as conn:
            rows: Iterator[Any] = iter(conn.execute(
                select(comments.recording, func.count().label("n")).group_by(comments.recording)
            ))  # fmt: skip
            for row in rows:
                found.setdefault(row.recording, {})["comments"] = int(row.n)
            for row in conn.execute(
                select(scores.recording, func.sum(scores.value).label("s"),
                       func.count().label("n")).group_by(scores.recording)
            ):  # fmt: skip
                found.setdefault(row.recording, {}).update(
                    score_sum=int(row.s), score_count=int(row.n)
                )
            for row in conn.execute(
                select(sessions.recording, func.count().label("n")).group_by(sessions.recording)
            ):
                found.setdefault(row.recording, {})["sessions"] = int(row.n)
        return {recording: Research(**values) for recording, values in found.items()}

    def teachers_activity(self, first: datetime, last: datetime) -> dict[str, dict[str, int]]:
        """Per teacher (by the account that stands for them): review comments written and
        rubric scores given between ``first`` and ``last``."""
        comments = review_comments.c
        scores = review_scores.c
        out: dict[str, dict[str, int]] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(
                select(users.c.teacher_id, func.count().label("n"))
                .join(review_comments, comments.author_id == users.c.id)
                .where(users.c.teacher_id.is_not(None),
                       and_(comments.created_at >= first, comments.created_at <= last))
                .group_by(users.c.teacher_id)
            ):  # fmt: skip
                out.setdefault(row.teacher_id, {})["comments"] = int(row.n)
            for row in conn.execute(
                select(users.c.teacher_id, func.count(func.distinct(scores.recording)).label("n"))
                .join(review_scores, scores.reviewer_id == users.c.id)
                .where(users.c.teacher_id.is_not(None),
                       and_(scores.updated_at >= first, scores.updated_at <= last))
                .group_by(users.c.teacher_id)
            ):  # fmt: skip
                out.setdefault(row.teacher_id, {})["scored"] = int(row.n)
        return out
