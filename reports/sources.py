"""What the indicators read from the other packages' tables (read only).

The lessons' event log and inspections (``rooms``), the review activity
(``recorder``) and which account stands for which teacher (``identity``). Each
reader takes lessons in chunks so a term's recompute streams instead of loading
everything at once.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, and_, func, select

from identity.tables import users
from recorder.review_tables import review_comments, review_scores, review_session_recordings
from reports.facts import Logged
from reports.store import Research
from rooms.tables import inspections, lesson_events

#: The event types the facts fold; the rest of the log (chat, controls) is not read.
FOLDED = (
    "media.joined", "media.left", "quality.sample", "quality.alert", "quality.summary",
    "room.opened", "room.live", "room.ended", "recording.ready",
)  # fmt: skip
SAMPLE = "quality.sample"
SUMMARY = "quality.summary"

# A lesson's folded events but its samples, in log order, through the partial index
# ``ix_lesson_events_kept`` (the condition on type names it): a term's lessons have a
# few dozen of these each and thousands of samples.
_KEPT_SQL = (
    "SELECT id, lesson, type, at, data::text FROM lesson_events"
    " WHERE lesson = ANY(%s) AND type = ANY(%s) AND type <> 'quality.sample' ORDER BY id"
)
# The samples of lessons without summaries, in log order. The teacher's own samples, a
# quarter of them, are left out: the facts count the receiving classrooms' quality.
# Their text starts so (a quote inside a JSON string is escaped, so this cannot match
# elsewhere).
_SAMPLES_SQL = (
    "SELECT id, lesson, type, at, data::text FROM lesson_events"
    " WHERE lesson = ANY(%s) AND type = 'quality.sample' AND NOT"
    """ starts_with(data::text, '{"lesson": "' || lesson || '", "identity": "teacher:')"""
    " ORDER BY id"
)
_LOG_SETTINGS = ("SET LOCAL work_mem = '256MB'", "SET LOCAL TIME ZONE 'UTC'")

# A sample's data as ``RoomStore.append`` stores it (``json.dumps`` of the event's
# fields, in their order) up to its inbound detail. The database has checked that the
# whole is JSON; strings here have no escapes and numbers are written as ``json.dumps``
# writes ints and floats (``repr``), so each value reads back as ``json.loads`` would.
_INT = r"(-?[0-9]+)"
_FLOAT = r"(-?[0-9]+(?:\.[0-9]+(?:e[-+][0-9]+)?|e[-+][0-9]+))"
_OPTIONAL = _FLOAT.replace("(", "(null|", 1)
_SAMPLE = re.compile(
    rf'\{{"lesson": "([^"\\]*)", "identity": "([^"\\]*)", "seconds": {_FLOAT}, '
    rf'"video_kbps": {_FLOAT}, "audio_kbps": {_FLOAT}, "sent_kbps": {_FLOAT}, '
    rf'"packets": {_INT}, "loss": {_FLOAT}, "rtt_ms": {_OPTIONAL}, "jitter_ms": {_FLOAT}, '
    rf'"fps": {_OPTIONAL}, "freezes": {_INT}, "freeze_seconds": {_FLOAT}, "inbound": \['
)


def sample_fields(doc: str) -> dict[str, Any] | None:
    """A ``quality.sample``'s figures read from its stored JSON without decoding the
    inbound detail, or ``None`` if the text is not laid out as ``RoomStore.append``
    writes it (decode it whole then)."""
    found = _SAMPLE.match(doc)
    if found is None:
        return None
    lesson, identity, seconds, video, audio, sent, packets, loss, rtt, jitter, fps, freezes, \
        freeze_seconds = found.groups()  # fmt: skip
    return {
        "lesson": lesson, "identity": identity, "seconds": float(seconds),
        "video_kbps": float(video), "audio_kbps": float(audio), "sent_kbps": float(sent),
        "packets": int(packets), "loss": float(loss),
        "rtt_ms": None if rtt == "null" else float(rtt), "jitter_ms": float(jitter),
        "fps": None if fps == "null" else float(fps), "freezes": int(freezes),
        "freeze_seconds": float(freeze_seconds),
    }  # fmt: skip


#: An event as read: its id (the log's order), type, time and data.
_Row = tuple[int, str, datetime, Mapping[str, Any]]


def _without_summaries(lessons: Sequence[str], kept: Mapping[str, list[_Row]]) -> list[str]:
    """The lessons whose events read so far hold no ``quality.summary``."""
    return [
        lesson
        for lesson in lessons
        if not any(kind == SUMMARY for _, kind, _, _ in kept.get(lesson, ()))
    ]


class Sources:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def logs(self, lessons: Sequence[str], *, summaries: bool = True) -> dict[str, list[Logged]]:
        """Each lesson's folded events, oldest first.

        A lesson whose room ended has each participant's ``quality.summary``: its samples
        are then not read (the fold would pass them over). ``summaries=False`` reads the
        samples of every lesson and no summary, to check the summaries against them.
        On PostgreSQL, of the samples only the receiving classrooms' are read, without
        their ``inbound`` detail (the fold uses neither; see :func:`sample_fields`).
        """
        types = [t for t in FOLDED if summaries or t != SUMMARY]
        if self._engine.dialect.name == "postgresql":
            kept, samples = self._logs_as_text(lessons, types)
        else:
            kept, samples = self._logs_as_rows(lessons, types)
        out: dict[str, list[Logged]] = {}
        for lesson in lessons:
            mine, theirs = kept.get(lesson, []), samples.get(lesson)
            both = heapq.merge(mine, theirs, key=itemgetter(0)) if theirs else mine
            out[lesson] = [(kind, at, data) for _, kind, at, data in both]
        return out

    def _logs_as_rows(
        self, lessons: Sequence[str], types: list[str]
    ) -> tuple[dict[str, list[_Row]], dict[str, list[_Row]]]:
        c = lesson_events.c
        kept: dict[str, list[_Row]] = {}
        samples: dict[str, list[_Row]] = {}
        columns = (c.id, c.lesson, c.type, c.at, c.data)
        with self._engine.connect() as conn:
            query = select(*columns).where(
                c.lesson.in_(list(lessons)), c.type.in_(types), c.type != SAMPLE
            )
            for row in conn.execute(query.order_by(c.id)):
                kept.setdefault(row.lesson, []).append((row.id, row.type, row.at, row.data))
            rest = _without_summaries(lessons, kept)
            if rest:
                query = select(*columns).where(c.lesson.in_(rest), c.type == SAMPLE)
                for row in conn.execute(query.order_by(c.id)):
                    samples.setdefault(row.lesson, []).append((row.id, row.type, row.at, row.data))
        return kept, samples

    def _logs_as_text(
        self, lessons: Sequence[str], types: list[str]
    ) -> tuple[dict[str, list[_Row]], dict[str, list[_Row]]]:
        """``logs`` through the driver: a term holds some 10 M samples, too many to have
        each decoded whole (or made into a row object) on the way."""
        kept: dict[str, list[_Row]] = {}
        samples: dict[str, list[_Row]] = {}
        loads = json.loads
        with self._engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            with driver.cursor(binary=True) as cursor:
                for setting in _LOG_SETTINGS:  # times come back in UTC
                    cursor.execute(setting)
                cursor.execute(_KEPT_SQL, (list(lessons), types))
                for event_id, lesson, kind, at, doc in cursor.fetchall():
                    kept.setdefault(lesson, []).append((event_id, kind, at, loads(doc)))
                rest = _without_summaries(lessons, kept)
                if rest:
                    cursor.execute(_SAMPLES_SQL, (rest,))
                    for event_id, lesson, kind, at, doc in cursor.fetchall():  # in one go
                        data = sample_fields(doc)
                        samples.setdefault(lesson, []).append(
                            (event_id, kind, at, loads(doc) if data is None else data)
                        )
        return kept, samples

    def inspections(self, lessons: Sequence[str]) -> dict[str, list[dict[str, int]]]:
        c = inspections.c
        out: dict[str, list[dict[str, int]]] = {}
        query = select(c.lesson, c.scores).where(c.lesson.in_(list(lessons))).order_by(c.id)
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                out.setdefault(row.lesson, []).append(dict(row.scores))
        return out

    def changed_lessons(self, after_id: int) -> tuple[set[str], set[str], int]:
        """Lessons whose log grew after ``after_id``, those of them that ended (a
        ``room.ended``), and the log's last id."""
        c = lesson_events.c
        with self._engine.connect() as conn:
            last = conn.scalar(select(func.max(c.id))) or 0
            if last <= after_id:
                return set(), set(), after_id
            window = and_(c.id > after_id, c.id <= last)
            grew = set(conn.scalars(select(c.lesson).where(window).distinct()))
            ended = set(conn.scalars(
                select(c.lesson).where(window, c.type == "room.ended").distinct()
            ))  # fmt: skip
            return grew, ended, int(last)

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
