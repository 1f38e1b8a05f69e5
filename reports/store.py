"""SQL storage of lesson facts and the sums the reports are made of.

Sums are computed by the database (``GROUP BY``) so a city's term (30,000 lessons)
answers within a dashboard's budget; rates are derived from the sums by
:mod:`reports.totals`. Medians of loss and RTT cannot be summed: the rows' medians
come back as lists, and :mod:`reports.totals` takes the median of the lessons'
medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import KeyedColumnElement

from reports.facts import LessonFacts, Reason, Status
from reports.tables import indicator_cursors, indicator_lessons, indicator_receivers

CHUNK = 500
#: PostgreSQL's memory for one grouping query's sorts (a term: some 100,000 rows, a
#: few sorts of them), for this transaction only.
WORK_MEM = "SET LOCAL work_mem = '64MB'"
REASON_PREFIX = "not_held_"  # the column of lessons not held for a reason

#: How rows can be grouped: a name → what it groups on (per table).
GROUPS = ("total", "city", "county", "township", "school", "teacher", "subject", "lesson",
          "day", "week", "month")  # fmt: skip


@dataclass(frozen=True)
class Research:
    """A lesson's review activity, as the review tables hold it."""

    comments: int = 0
    score_sum: int = 0
    score_count: int = 0
    sessions: int = 0


@dataclass(frozen=True)
class Filter:
    """Which lessons a report covers. ``region`` is a division-code prefix."""

    first: date
    last: date
    region: str | None = None
    school_id: str | None = None
    subject: str | None = None
    teacher_id: str | None = None


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _lesson_row(f: LessonFacts, research: Research, now: datetime) -> dict[str, Any]:
    return {
        "lesson": f.lesson, "day": f.day, "week": week_of(f.day), "month": f"{f.day:%Y-%m}",
        "starts_at": f.starts_at, "teacher_id": f.teacher_id, "subject": f.subject,
        "grade": f.grade, "school_id": f.school_id, "region": f.region,
        "status": f.status.value, "reason": f.reason, "repair": f.repair,
        "period_seconds": f.period_seconds, "teacher_seconds": f.teacher_seconds,
        "ended_early": f.ended_early, "receivers": len(f.receivers),
        "receivers_joined": sum(r.joined for r in f.receivers),
        "receivers_on_time": sum(r.on_time for r in f.receivers),
        "inspections": f.inspections, "problems": f.problems,
        "inspection_scores": f.inspection_scores, "recorded": f.recorded,
        "comments": research.comments, "score_sum": research.score_sum,
        "score_count": research.score_count, "sessions": research.sessions, "updated_at": now,
    }  # fmt: skip


def _receiver_rows(f: LessonFacts) -> list[dict[str, Any]]:
    return [
        {
            "lesson": f.lesson,
            "classroom_id": r.classroom_id,
            "day": f.day,
            "week": week_of(f.day),
            "month": f"{f.day:%Y-%m}",
            "subject": f.subject,
            "teacher_id": f.teacher_id,
            "status": f.status.value,
            "school_id": r.school_id,
            "region": r.region,
            "class_ids": ";".join(r.class_ids),
            "joined": r.joined,
            "on_time": r.on_time,
            "join_delay_seconds": r.join_delay_seconds,
            "present_seconds": r.present_seconds,
            "expected_seconds": r.expected_seconds,
            "video_minutes": r.video_minutes,
            "frozen_minutes": r.frozen_minutes,
            "freezes": r.freezes,
            "freeze_seconds": r.freeze_seconds,
            "median_loss": r.median_loss,
            "median_rtt_ms": r.median_rtt_ms,
            "poor": r.poor,
        }  # fmt: skip
        for r in f.receivers
    ]


_COUNTED = (Status.HELD.value, Status.NOT_HELD.value)


def _group_column(table: Any, group: str) -> KeyedColumnElement[Any] | ColumnElement[Any]:
    c = table.c
    column: Any = {
        "total": literal("all"), "city": func.substr(c.region, 1, 4),
        "county": func.substr(c.region, 1, 6), "township": c.region, "school": c.school_id,
        "subject": c.subject, "lesson": c.lesson, "day": c.day, "week": c.week,
        "month": c.month,
    }.get(group)  # fmt: skip
    if group == "teacher":
        column = c.teacher_id
    if column is None:
        raise ValueError(f"cannot group by {group!r}")
    return column  # type: ignore[no-any-return]


def _where(table: Any, flt: Filter) -> ColumnElement[bool]:
    c = table.c
    parts = [c.day >= flt.first, c.day <= flt.last]
    if flt.region:
        parts.append(c.region.startswith(flt.region))
    if flt.school_id:
        # a school's lessons are those it teaches and those it receives: a central school
        # sees its lessons' classrooms, a teaching point the lessons its classes follow
        other = indicator_receivers if table is indicator_lessons else indicator_lessons
        theirs = select(other.c.lesson).where(other.c.school_id == flt.school_id)
        parts.append(or_(c.school_id == flt.school_id, c.lesson.in_(theirs)))
    if flt.subject:
        parts.append(c.subject == flt.subject)
    if flt.teacher_id:
        parts.append(c.teacher_id == flt.teacher_id)
    return and_(*parts)


def _sum_if(condition: ColumnElement[bool], value: Any = 1) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


class FactStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # writing -------------------------------------------------------------------------
    def save(
        self, facts: Sequence[LessonFacts], research: dict[str, Research], now: datetime
    ) -> None:
        """Replace the rows of these lessons, in one transaction per chunk."""
        for start in range(0, len(facts), CHUNK):
            chunk = facts[start : start + CHUNK]
            names = [f.lesson for f in chunk]
            lessons = [_lesson_row(f, research.get(f.lesson, Research()), now) for f in chunk]
            receivers = [row for f in chunk for row in _receiver_rows(f)]
            with self._engine.begin() as conn:
                conn.execute(delete(indicator_receivers).where(
                    indicator_receivers.c.lesson.in_(names)))  # fmt: skip
                conn.execute(delete(indicator_lessons).where(
                    indicator_lessons.c.lesson.in_(names)))  # fmt: skip
                conn.execute(insert(indicator_lessons), lessons)
                if receivers:
                    conn.execute(insert(indicator_receivers), receivers)

    def set_research(self, research: dict[str, Research]) -> None:
        """Update the review columns of lessons already stored."""
        with self._engine.begin() as conn:
            for lesson, r in research.items():
                conn.execute(
                    update(indicator_lessons)
                    .where(indicator_lessons.c.lesson == lesson)
                    .values(comments=r.comments, score_sum=r.score_sum,
                            score_count=r.score_count, sessions=r.sessions)
                )  # fmt: skip

    def clear(self, first: date, last: date) -> None:
        with self._engine.begin() as conn:
            for table in (indicator_receivers, indicator_lessons):
                conn.execute(delete(table).where(table.c.day >= first, table.c.day <= last))

    def analyze(self) -> None:
        """Have PostgreSQL count the rows again after a bulk rewrite (a recompute), so the
        reports' plans fit a term's rows and not the empty tables it started from."""
        if self._engine.dialect.name != "postgresql":
            return
        with self._engine.connect() as conn:
            for table in (indicator_lessons, indicator_receivers):
                conn.exec_driver_sql(f"ANALYZE {table.name}")
            conn.commit()

    def cursor(self, name: str) -> tuple[int, datetime | None]:
        query = select(indicator_cursors).where(indicator_cursors.c.name == name)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return (0, None) if row is None else (row.value, row.at)

    def set_cursor(self, name: str, value: int, at: datetime | None = None) -> None:
        with self._engine.begin() as conn:
            done = conn.execute(
                update(indicator_cursors)
                .where(indicator_cursors.c.name == name)
                .values(value=value, at=at)
            )
            if not done.rowcount:
                conn.execute(insert(indicator_cursors).values(name=name, value=value, at=at))

    def stored(self, lessons: Iterable[str]) -> dict[str, str]:
        """The status stored for each of ``lessons`` that has a row."""
        names = list(lessons)
        found: dict[str, str] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(names), CHUNK):
                query = select(indicator_lessons.c.lesson, indicator_lessons.c.status).where(
                    indicator_lessons.c.lesson.in_(names[start : start + CHUNK])
                )
                found.update({r.lesson: r.status for r in conn.execute(query)})
        return found

    # reading ---------------------------------------------------------------------------
    def lesson_sums_by(self, flt: Filter, groups: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """``lesson_sums`` for several groups, from one scan of the table on PostgreSQL
        (``GROUPING SETS``): a report page asks for five groupings at once."""
        c = indicator_lessons.c
        counted = c.status.in_(_COUNTED)
        not_held = c.status == Status.NOT_HELD.value
        sums = [
            _sum_if(counted).label("scheduled"),
            _sum_if(c.status == Status.HELD.value).label("held"),
            _sum_if(c.status == Status.REPAIRED.value).label("repaired"),
            _sum_if(c.repair & counted).label("repair_lessons"),
            _sum_if(c.status == Status.UPCOMING.value).label("upcoming"),
            _sum_if(counted, c.teacher_seconds).label("teacher_seconds"),
            _sum_if(counted, c.period_seconds).label("period_seconds"),
            _sum_if(counted & (c.inspections > 0)).label("inspected"),
            _sum_if(counted, c.inspections).label("inspections"),
            _sum_if(counted, c.problems).label("problems"),
            _sum_if(counted & c.recorded).label("recorded"),
            _sum_if((c.comments > 0) | (c.score_count > 0)).label("reviewed"),
            func.coalesce(func.sum(c.comments), 0).label("comments"),
            func.coalesce(func.sum(c.score_sum), 0).label("score_sum"),
            func.coalesce(func.sum(c.score_count), 0).label("score_count"),
            func.coalesce(func.sum(c.sessions), 0).label("sessions"),
            *(_sum_if(not_held & (c.reason == r.value)).label(f"{REASON_PREFIX}{r.value}")
              for r in Reason),
        ]  # fmt: skip
        found = self._grouped(indicator_lessons, flt, groups, sums)
        for rows in found.values():
            for row in rows:
                row["not_held"] = {
                    r.value: n for r in Reason if (n := int(row.pop(REASON_PREFIX + r.value)))
                }
        return found

    def receiver_sums_by(
        self, flt: Filter, groups: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Per key of each of ``groups``: attendance and quality sums over the receiving
        classrooms of lessons over (see ``lesson_sums_by``)."""
        c = indicator_receivers.c
        sums: list[Any] = [
            func.count().label("expected"),
            _sum_if(c.joined).label("joined"),
            _sum_if(c.on_time).label("on_time"),
            func.sum(c.present_seconds).label("present_seconds"),
            func.sum(c.expected_seconds).label("expected_seconds"),
            func.sum(c.video_minutes).label("video_minutes"),
            func.sum(c.frozen_minutes).label("frozen_minutes"),
            func.sum(c.freezes).label("freezes"),
            func.sum(c.freeze_seconds).label("freeze_seconds"),
            _sum_if(c.poor).label("poor"),
            _sum_if(c.video_minutes > 0).label("measured"),
        ]
        return self._grouped(indicator_receivers, flt, groups, sums, c.status.in_(_COUNTED))

    def medians_by(
        self, flt: Filter, groups: Sequence[str]
    ) -> dict[str, dict[str, tuple[float | None, float | None]]]:
        """Per group and key: the median of the classroom-lessons' median loss and of
        their median RTT. Kept apart from the sums, which take only hashing: medians take
        sorting every row.

        PostgreSQL computes them (``percentile_cont(0.5)``, the middle value or the mean
        of the middle two, as ``statistics.median``); elsewhere the rows' medians come
        back joined and Python takes theirs."""
        c = indicator_receivers.c
        postgres = self._engine.dialect.name == "postgresql"
        if postgres:
            middle = [
                func.percentile_cont(0.5).within_group(c.median_loss).label("loss"),
                func.percentile_cont(0.5).within_group(c.median_rtt_ms).label("rtt"),
            ]
        else:
            middle = [
                func.group_concat(c.median_loss, ";").label("loss"),
                func.group_concat(c.median_rtt_ms, ";").label("rtt"),
            ]
        found = self._grouped(indicator_receivers, flt, groups, middle, c.status.in_(_COUNTED))

        def value(raw: Any) -> float | None:
            if raw is None:
                return None
            if postgres:
                return float(raw)
            return statistics.median(float(v) for v in str(raw).split(";"))

        return {
            group: {str(r["key"]): (value(r["loss"]), value(r["rtt"])) for r in rows}
            for group, rows in found.items()
        }

    def _grouped(
        self,
        table: Any,
        flt: Filter,
        groups: Sequence[str],
        sums: Sequence[Any],
        *where: ColumnElement[bool],
    ) -> dict[str, list[dict[str, Any]]]:
        """``sums`` per key of each of ``groups`` (rows by key), over ``table``'s rows in
        the filter: one query with ``GROUPING SETS`` on PostgreSQL, one per group elsewhere."""
        wanted = list(dict.fromkeys(groups))
        if not wanted:
            return {}
        for group in wanted:
            _group_column(table, group)  # refuses an unknown group
        condition = and_(_where(table, flt), *where)
        out: dict[str, list[dict[str, Any]]] = {}
        if self._engine.dialect.name != "postgresql" or len(wanted) == 1:
            with self._engine.connect() as conn:
                for group in wanted:
                    key = _group_column(table, group).label("key")
                    query = select(key, *sums).where(condition).group_by(key).order_by(key)
                    out[group] = [dict(r._mapping) for r in conn.execute(query)]
            return out
        # the total is the empty grouping set; any other row is its group's whose key
        # GROUPING() says was grouped on
        keyed = [g for g in wanted if g != "total"]
        keys = [_group_column(table, g).label(f"key_{i}") for i, g in enumerate(keyed)]
        flags = [func.grouping(k.element).label(f"grouped_{i}") for i, k in enumerate(keys)]
        sets = [k.element for k in keys] + ([text("()")] if "total" in wanted else [])
        query = select(*keys, *flags, *sums).where(condition).group_by(func.grouping_sets(*sets))
        out = {g: [] for g in wanted}
        with self._engine.connect() as conn:
            conn.exec_driver_sql(WORK_MEM)  # the sorts of a term's rows, in memory
            for r in conn.execute(query):
                row = dict(r._mapping)
                index = next((i for i in range(len(keyed)) if row[f"grouped_{i}"] == 0), None)
                row["key"] = "all" if index is None else row[f"key_{index}"]
                for i in range(len(keyed)):
                    del row[f"key_{i}"], row[f"grouped_{i}"]
                out["total" if index is None else keyed[index]].append(row)
        for rows in out.values():
            rows.sort(key=lambda row: str(row["key"]))
        return out

    def inspection_scores(self, flt: Filter) -> list[dict[str, float]]:
        """Each inspected lesson's mean score per checklist item."""
        c = indicator_lessons.c
        query = select(c.inspection_scores).where(_where(indicator_lessons, flt), c.inspections > 0)
        with self._engine.connect() as conn:
            return [dict(r.inspection_scores) for r in conn.execute(query)]

    def lessons(
        self,
        flt: Filter,
        *,
        status: str | None = None,
        problems_only: bool = False,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """The lessons themselves (drill-down), by bell time; ``problems_only``: those an
        inspection found problems in."""
        c = indicator_lessons.c
        query = select(indicator_lessons).where(_where(indicator_lessons, flt))
        if status:
            query = query.where(c.status == status)
        if problems_only:
            query = query.where(c.problems > 0)
        query = query.order_by(c.starts_at, c.lesson).limit(limit)
        with self._engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def lessons_with_research(self) -> list[dict[str, Any]]:
        c = indicator_lessons.c
        query = select(c.lesson, c.comments, c.score_sum, c.score_count, c.sessions).where(
            (c.comments > 0) | (c.score_count > 0) | (c.sessions > 0)
        )
        with self._engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def receivers(self, lessons: Sequence[str]) -> list[dict[str, Any]]:
        c = indicator_receivers.c
        rows: list[dict[str, Any]] = []
        with self._engine.connect() as conn:
            for start in range(0, len(lessons), CHUNK):
                query = select(indicator_receivers).where(
                    c.lesson.in_(list(lessons[start : start + CHUNK]))
                )
                rows += [dict(r._mapping) for r in conn.execute(query.order_by(c.lesson))]
        return rows

    def deliveries(self, flt: Filter) -> list[tuple[str, str, int, int]]:
        """``(class_ids, subject, scheduled, delivered)``: the receiving classrooms'
        lessons counted, summed per classroom's classes and subject, for coverage of needs."""
        c = indicator_receivers.c
        query = (
            select(c.class_ids, c.subject, func.count().label("scheduled"),
                   _sum_if(c.status == Status.HELD.value).label("delivered"))
            .where(_where(indicator_receivers, flt), c.status.in_(_COUNTED))
            .group_by(c.class_ids, c.subject)
        )  # fmt: skip
        with self._engine.connect() as conn:
            return [
                (r.class_ids, r.subject, int(r.scheduled), int(r.delivered))
                for r in conn.execute(query)
            ]

    def weeks(self, flt: Filter) -> int:
        """Teaching weeks in the filter: weeks with a lesson counted."""
        c = indicator_lessons.c
        query = select(func.count(func.distinct(c.week))).where(
            _where(indicator_lessons, flt), c.status.in_(_COUNTED)
        )
        with self._engine.connect() as conn:
            return int(conn.scalar(query) or 0)
