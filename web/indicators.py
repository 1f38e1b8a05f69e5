"""The indicators service: lesson facts kept up to date from the events, and the reports.

``refresh(now)`` is the incremental path, run every minute by ``run``: it folds the
lessons that ended since its last run and the finished lessons whose log grew (an
inspection, a recording), and it brings the review columns up to date. ``recompute``
rebuilds a period from the event log alone; both call the same pure fold
(:func:`reports.facts.lesson_facts`), so they agree row for row.

Lesson figures (开课率, patrol, research) are grouped by the output school's region;
attendance and quality by the teaching point's.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import repeat
from time import monotonic
from typing import Any

from sqlalchemy import Engine

from kernel.errors import LiveStateUnavailable
from kernel.locks import Locks
from reports.expected import Layout
from reports.facts import Expected, LessonFacts, Policy, Status, lesson_facts
from reports.sources import Sources
from reports.store import GROUPS, FactStore, Filter, Research
from reports.totals import (
    Chronic,
    Coverage,
    PatrolItems,
    coverage,
    lesson_totals,
    patrol_items,
    receiver_totals,
)
from scheduler.model import Directory
from scheduler.occurrence import SCHEDULED
from scheduler.plan_store import PlanStore
from scheduler.store import DirectoryStore
from web.database import make_engine
from web.pages import BEIJING

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 60.0
DIRECTORY_TTL = 60.0
WORKERS = 2  # processes folding a long recompute
READERS = 4  # threads reading one report page's figures at once
PART = 1000  # lessons a worker folds and stores at a time
LOCK = "indicators-refresh"
CHUNK = 200
FINAL = frozenset({Status.HELD, Status.NOT_HELD, Status.CANCELLED, Status.REPAIRED})


@dataclass(frozen=True)
class Row:
    """One line of a report: a group's key, its name and its figures."""

    key: str
    name: str
    lessons: dict[str, Any]
    receivers: dict[str, Any]


class Indicators:
    def __init__(
        self,
        engine: Engine,
        now: Callable[[], datetime],
        policy: Policy | None = None,
        chronic: Chronic | None = None,
    ) -> None:
        self._engine = engine
        self.store = FactStore(engine)
        self.sources = Sources(engine)
        self.plans = PlanStore(engine)
        self.directory_store = DirectoryStore(engine)
        self.policy = policy or Policy()
        self.chronic = chronic or Chronic()
        self.locks: Locks | None = None
        self._now = now
        self._directory: tuple[float, Directory] | None = None
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="indicators")

    def background(self, call: Callable[[], Any]) -> Future[Any]:
        """Start ``call`` (a read of the reports) beside the caller's own: a page's queries
        run at once, each on its own connection, so the database answers them on every
        core. Never wait on a future from within one of these calls."""
        return self._readers.submit(call)

    def together(self, first: Callable[[], Any], *rest: Callable[[], Any]) -> list[Any]:
        """Each call's result, ``first`` run here and the others in the background."""
        started = [self.background(call) for call in rest]
        return [first(), *(future.result() for future in started)]

    # keeping the facts ---------------------------------------------------------------
    def _layout(self) -> tuple[Layout, Directory]:
        directory = self.directory_store.load()
        return Layout(directory, BEIJING, self.plans.repair_plans()), directory

    def _fold(
        self, expected: Sequence[Expected], now: datetime, summaries: bool = True
    ) -> list[LessonFacts]:
        names = [e.lesson for e in expected]
        logs = self.sources.logs(names, summaries=summaries)
        inspected = self.sources.inspections(names)
        return [
            lesson_facts(e, logs[e.lesson], now, inspections=inspected.get(e.lesson, ()),
                         policy=self.policy)
            for e in expected
        ]  # fmt: skip

    def _save(
        self,
        expected: Sequence[Expected],
        now: datetime,
        research: dict[str, Research] | None = None,
        summaries: bool = True,
    ) -> int:
        """Fold and store the lessons of ``expected`` that are over (or cancelled)."""
        research = self.sources.research() if research is None else research
        saved = 0
        for start in range(0, len(expected), CHUNK):
            facts = [f for f in self._fold(expected[start : start + CHUNK], now, summaries)
                     if f.status in FINAL]  # fmt: skip
            self.store.save(facts, research, now)
            saved += len(facts)
        return saved

    def recompute(
        self,
        first: date,
        last: date,
        *,
        workers: int = WORKERS,
        part: int = PART,
        from_samples: bool = False,
    ) -> int:
        """Rebuild every lesson of ``first``..``last`` from the event log; the number stored.

        A lesson whose room ended is folded from its participants' quality summaries;
        ``from_samples`` folds every lesson's samples instead (slower; it gives the same
        figures, which checks the summaries).

        On PostgreSQL a period of more than ``part`` lessons is folded by ``workers``
        processes, ``part`` lessons at a time (a term's 10 M samples keep both cores of
        a small server busy for a minute or two); with SQLite, or fewer lessons, here.
        """
        now = self._now()
        layout, _ = self._layout()
        expected = layout.all(self.plans.occurrences(first, last, include_cancelled=True))
        self.store.clear(first, last)
        research = self.sources.research()
        if workers < 2 or len(expected) <= part or self._engine.dialect.name != "postgresql":
            saved = self._save(expected, now, research, not from_samples)
        else:
            url = self._engine.url.render_as_string(hide_password=False)
            parts = [expected[start : start + part] for start in range(0, len(expected), part)]
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                saved = sum(pool.map(
                    _recompute_part, repeat(url), parts, repeat(now), repeat(research),
                    repeat(self.policy), repeat(not from_samples),
                ))  # fmt: skip
        self.store.analyze()  # the tables were rewritten: the planner must know their size
        return saved

    def refresh(self) -> int:
        """The incremental step: lessons over since the last run, finished lessons whose
        log grew, and the review columns. Returns the number of lessons (re)stored.

        A lesson still running is not folded (its samples grow every few seconds) until
        its bell or its ``room.ended``."""
        now = self._now()
        events_seen, _ = self.store.cursor("events")
        clock_value, clock_at = self.store.cursor("clock")
        grew, ended, last_id = self.sources.changed_lessons(events_seen)
        today = now.astimezone(BEIJING).date()
        since = (clock_at.astimezone(BEIJING).date() - timedelta(days=1)) if clock_at else None
        first = since or self._first_day(today)
        layout, _ = self._layout()
        candidates = self.plans.occurrences(first, today, include_cancelled=True)
        stored = self.store.stored(o.id for o in candidates)
        known = {o.id for o in candidates}
        late = self.plans.occurrences_by_id(sorted(grew - known))
        todo = [
            e for e in layout.all([*candidates, *late])
            if (e.ends_at <= now or e.state != SCHEDULED or e.lesson in ended)
            and (stored.get(e.lesson) not in FINAL or e.lesson in grew)
        ]  # fmt: skip
        saved = self._save(todo, now)
        self.store.set_research(self._research_changes())
        self.store.set_cursor("events", last_id)
        self.store.set_cursor("clock", clock_value + 1, now)
        return saved

    def _first_day(self, today: date) -> date:
        known = self.plans.occurrences(date(2000, 1, 1), today, include_cancelled=True)
        return known[0].day if known else today

    def _research_changes(self) -> dict[str, Research]:
        research = self.sources.research()
        stored = {
            r["lesson"]: Research(r["comments"], r["score_sum"], r["score_count"], r["sessions"])
            for r in self.store.lessons_with_research()
        }
        changed = {k: v for k, v in research.items() if stored.get(k, Research()) != v}
        changed.update({k: Research() for k in stored if k not in research})
        return changed

    async def run(self, interval: float = REFRESH_SECONDS) -> None:
        """Refresh every ``interval`` seconds; with shared locks, one app instance at a
        time. The first run waits too: a refresh cut short by a quick restart would leave
        its thread holding a connection."""
        while True:
            await asyncio.sleep(interval)
            lease = None
            try:
                if self.locks is not None:
                    with suppress(LiveStateUnavailable):  # no lock service: run alone
                        lease = await self.locks.acquire(LOCK, max(interval * 2, 120.0))
                        if lease is None:  # another instance is refreshing
                            continue
                await asyncio.to_thread(self.refresh)
            except Exception:  # keep the loop alive; the next minute tries again
                logger.exception("Indicators refresh failed")
            finally:
                if lease is not None and self.locks is not None:
                    with suppress(LiveStateUnavailable):
                        await self.locks.release(lease)

    # reading -------------------------------------------------------------------------
    def rows(self, flt: Filter, group: str) -> list[Row]:
        """The report's lines grouped by ``group`` (one of ``reports.store.GROUPS``)."""
        return self.rows_by(flt, (group,))[group]

    def rows_by(
        self, flt: Filter, groups: Sequence[str], medians: Collection[str] | None = None
    ) -> dict[str, list[Row]]:
        """``rows`` for several groups, asked of the database at once; the median loss
        and RTT only for the groups in ``medians`` (all if ``None``; others: None)."""
        for group in groups:
            if group not in GROUPS:
                raise ValueError(f"group must be one of {', '.join(GROUPS)}")
        wanted = [g for g in groups if medians is None or g in medians]
        lesson_sums, receiver_sums, middles = self.together(
            lambda: self.store.lesson_sums_by(flt, groups),
            lambda: self.store.receiver_sums_by(flt, groups),
            lambda: self.store.medians_by(flt, wanted),
        )
        out: dict[str, list[Row]] = {}
        for group in groups:
            lessons = {str(r["key"]): r for r in lesson_sums[group]}
            receivers = {str(r["key"]): r for r in receiver_sums[group]}
            group_medians = middles.get(group, {})
            names = self.names(group)
            rows = []
            for key in sorted(set(lessons) | set(receivers)):
                lesson = lessons.get(key)
                lt = lesson_totals(lesson, lesson["not_held"]) if lesson else None
                middle = group_medians.get(key, (None, None))
                rt = receiver_totals(receivers.get(key), middle, self.chronic)
                rows.append(Row(key, names(key), dict(vars(lt)) if lt else {}, dict(vars(rt))))
            out[group] = rows
        return out

    def directory(self) -> Directory:
        """The directory, read at most once a minute: every report page asks for names,
        and a city's directory takes a noticeable time to read."""
        now = monotonic()
        if self._directory is None or now - self._directory[0] > DIRECTORY_TTL:
            self._directory = (now, self.directory_store.load())
        return self._directory[1]

    def names(self, group: str) -> Callable[[str], str]:
        directory = self.directory()
        if group in ("city", "county", "township"):
            regions = {r.code: r.name for r in directory.regions}

            def region(key: str) -> str:
                return regions.get(key.ljust(6, "0") if len(key) < 6 else key, key)

            return region
        if group == "school":
            schools = {s.id: s.name for s in directory.schools}
            return lambda key: schools.get(key, key)
        if group == "teacher":
            teachers = {t.id: t.name for t in directory.teachers}
            return lambda key: teachers.get(key, key)
        return lambda key: "全部" if group == "total" else key

    def coverage(self, flt: Filter) -> list[Coverage]:
        directory = self.directory()
        classes = {c.id: c for c in directory.classes}
        schools = {s.id: s for s in directory.schools}

        def wanted(class_id: str) -> bool:
            cls = classes.get(class_id)
            school = schools.get(cls.school_id) if cls else None
            if school is None:
                return False
            if flt.school_id and school.id != flt.school_id:
                return False
            return not flt.region or school.region.startswith(flt.region)

        needs = {
            (n.class_id, n.subject): n.periods_per_week
            for n in directory.needs
            if wanted(n.class_id) and (not flt.subject or n.subject == flt.subject)
        }
        return coverage(needs, self.store.deliveries(flt), self.store.weeks(flt))

    def patrol(self, flt: Filter) -> PatrolItems:
        return patrol_items(self.store.inspection_scores(flt))

    def workload(self, flt: Filter, rows: Sequence[Row] | None = None) -> list[dict[str, Any]]:
        """Per teacher: periods scheduled and taught, hours live, research activity
        (``rows``: the filter's rows by teacher, if already asked for)."""
        activity = self.sources.teachers_activity(
            datetime.combine(flt.first, time(0), BEIJING).astimezone(UTC),
            datetime.combine(flt.last, time(23, 59, 59), BEIJING).astimezone(UTC),
        )
        out = []
        for row in self.rows(flt, "teacher") if rows is None else rows:
            done = activity.get(row.key, {})
            out.append({
                "teacher_id": row.key, "name": row.name,
                "scheduled": row.lessons.get("scheduled", 0),
                "taught": row.lessons.get("held", 0),
                "hours": row.lessons.get("teacher_hours", 0.0),
                "review_comments": done.get("comments", 0),
                "recordings_scored": done.get("scored", 0),
            })  # fmt: skip
        return out

    def lessons(
        self,
        flt: Filter,
        status: str | None = None,
        *,
        problems_only: bool = False,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """The lessons of the filter with their classrooms, by bell time."""
        rows = self.store.lessons(flt, status=status, problems_only=problems_only, limit=limit)
        receivers: dict[str, list[dict[str, Any]]] = {}
        for r in self.store.receivers([row["lesson"] for row in rows]):
            receivers.setdefault(r["lesson"], []).append(r)
        for row in rows:
            row["receivers_detail"] = receivers.get(row["lesson"], [])
        return rows


def _recompute_part(
    url: str, expected: list[Expected], now: datetime, research: dict[str, Research],
    policy: Policy, summaries: bool,
) -> int:  # fmt: skip
    """One worker's part of a recompute, with its own engine (connections stay in the
    process that opened them). The fold makes millions of short-lived objects and no
    cycles: the cyclic collector waits until the part is stored."""
    engine = make_engine(url)
    gc.disable()
    try:
        return Indicators(engine, lambda: now, policy)._save(expected, now, research, summaries)
    finally:
        gc.enable()
        engine.dispose()
