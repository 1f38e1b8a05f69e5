"""The schedule service: import, background solves, publication, repair, exports.

Wires the scheduler's pure parts to storage and time. Solves run one at a time in a
worker thread (CP-SAT uses every core; two at once would only halve each); their
progress goes to the ``solve_runs`` table so any app instance can report it.
"""

from __future__ import annotations

import io
import logging
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from kernel.events import Event
from rooms.events import LessonCancelled, LessonScheduled
from scheduler.decompose import plan_region
from scheduler.errors import ImportFailed, Problem
from scheduler.export import write_calendars, write_plan
from scheduler.files import MAX_BYTES, NAMES, read_input
from scheduler.importer import build_calendar, build_directory
from scheduler.model import Directory
from scheduler.occurrence import Occurrence, lay_out
from scheduler.plan import Lesson, Parameters, lesson_changes
from scheduler.plan_store import Changes, PlanStore, StoredPlan
from scheduler.progress import Progress
from scheduler.solver import repair
from scheduler.store import DirectoryStore
from web.pages import BEIJING
from web.solve_runs import DONE, FAILED, RUNNING, SolveRuns

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes
HEARTBEAT_SECONDS = 2.0  # the run's clock-driven progress (and sign of life)
EXPORTS = ("timetable.csv", "unmet.csv", "workload.csv", "timetable.xlsx", "calendars.zip")
MAX_TERM_DAYS = 366


class ScheduleRequestInvalid(Exception):
    """A request the schedule service cannot act on; ``code`` names the message."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class Imported:
    schools: int
    teachers: int
    classes: int
    needs: int
    periods: int
    calendar_days: int


@dataclass(frozen=True)
class Repaired:
    plan_id: int
    removed: list[Lesson]
    added: list[Lesson]
    changes: Changes


def repair_note(note: str) -> dict[str, str] | None:
    """The absent teachers and dates a repair plan's note records, if it is one."""
    fields = dict(part.partition("=")[::2] for part in note.split(";") if "=" in part)
    return fields if {"absent", "from", "to"} <= set(fields) else None


def scheduled_event(o: Occurrence, at: datetime, *, repaired: bool = False) -> LessonScheduled:
    le = o.lesson
    starts = datetime.combine(o.day, o.start, BEIJING).astimezone(UTC)
    ends = datetime.combine(o.day, o.end, BEIJING).astimezone(UTC)
    return LessonScheduled(
        at=at, lesson=o.id, plan_id=o.plan_id, day=o.day.isoformat(), starts_at=starts,
        ends_at=ends, teacher_id=le.teacher_id, output_classroom_id=le.output_classroom_id,
        subject=le.subject, grade=le.grade, class_ids=list(le.class_ids), repair=repaired,
    )  # fmt: skip


def change_events(changes: Changes, at: datetime, *, repaired: bool = False) -> list[Event]:
    """``lesson.cancelled`` for what went, then ``lesson.scheduled`` for what came."""
    gone: list[Event] = [LessonCancelled(at=at, lesson=o.id, reason=o.reason)
                         for o in changes.cancelled]  # fmt: skip
    return gone + [scheduled_event(o, at, repaired=repaired) for o in changes.added]


class ScheduleService:
    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.directory = DirectoryStore(engine)
        self.plans = PlanStore(engine)
        self.runs = SolveRuns(engine)
        self._now = now
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sanke-solve")

    # import -----------------------------------------------------------------------
    def import_files(self, files: list[tuple[str, bytes]]) -> Imported:
        """Check everything, then replace the directory; on any problem nothing changes.

        ``files``: CSV files named after the tables (``schools.csv`` …) or one XLSX workbook.
        """
        problems: list[Problem] = []
        named: dict[str, bytes] = {}
        for name, data in files:
            base = Path(name).name
            stem, suffix = base.rsplit(".", 1) if "." in base else (base, "")
            if len(data) > MAX_BYTES:
                problems.append(Problem(base, 0, "", f"文件过大（超过 {MAX_BYTES // 2**20} MB）"))
            elif suffix.lower() == "xlsx" and len(files) == 1:
                named[base] = data
            elif suffix.lower() == "csv" and stem in NAMES:
                named[f"{stem}.csv"] = data
            else:
                allowed = "、".join(f"{n}.csv" for n in NAMES)
                problems.append(
                    Problem(base, 0, "", f"无法识别的文件：应为 {allowed} 之一，或单个 XLSX 工作簿")
                )
        if not files:
            problems.append(Problem("", 0, "", "没有收到文件"))
        if problems:
            raise ImportFailed(problems)
        with tempfile.TemporaryDirectory(prefix="sanke-import-") as folder:
            for base, data in named.items():
                (Path(folder) / base).write_bytes(data)
            only = next(iter(named))
            xlsx = only.lower().endswith(".xlsx")
            source = Path(folder) / only if xlsx else Path(folder)
            tables = read_input(source)
            directory = build_directory(tables, self.directory.regions().values())
            calendar = build_calendar(tables)
        self.directory.replace(directory, calendar)
        return Imported(
            len(directory.schools), len(directory.teachers), len(directory.classes),
            len(directory.needs), sum(n.periods_per_week for n in directory.needs), len(calendar),
        )  # fmt: skip

    # solve ------------------------------------------------------------------------
    def start_solve(self, actor: str, params: Parameters, time_limit: float) -> int:
        directory = self.directory.load()
        if not directory.needs:
            raise ScheduleRequestInvalid("no_directory")
        run_id = self.runs.create(actor, time_limit, self._now())
        self._worker.submit(self._solve, run_id, directory, params, time_limit)
        return run_id

    def _solve(self, run_id: int, directory: Directory, params: Parameters, limit: float) -> None:
        began = time.monotonic()
        finished = threading.Event()

        def heartbeat() -> None:
            """The bar moves with the clock, and the run is seen alive, between solutions."""
            while not finished.wait(HEARTBEAT_SECONDS):
                percent = min(99, int(100 * (time.monotonic() - began) / limit))
                self.runs.update(run_id, self._now(), percent=percent)

        def report(progress: Progress) -> None:
            self.runs.update(
                run_id, self._now(), phase=progress.phase, percent=progress.percent,
                objective=progress.objective, bound=progress.bound, demand=progress.demand,
                unmet=progress.unmet,
            )  # fmt: skip

        beat = threading.Thread(target=heartbeat, name=f"sanke-solve-{run_id}", daemon=True)
        try:
            self.runs.update(run_id, self._now(), state=RUNNING)
            beat.start()
            plan = plan_region(directory, params, time_limit=limit, progress=_throttled(report))
            finished.set()
            beat.join()
            plan_id = self.plans.save(plan, params)
            self.runs.update(
                run_id, self._now(), state=DONE, percent=100, plan_id=plan_id,
                objective=plan.objective, bound=plan.bound, demand=plan.demand,
                unmet=plan.demand - plan.scheduled,
            )  # fmt: skip
        except Exception as exc:  # a failed run must say so, whatever went wrong
            logger.exception("Solve run %d failed", run_id)
            self.runs.update(run_id, self._now(), state=FAILED, error=str(exc)[:500])
        finally:
            finished.set()

    # plans ------------------------------------------------------------------------
    def plan(self, plan_id: int) -> StoredPlan:
        found = self.plans.get(plan_id)
        if found is None:
            raise ScheduleRequestInvalid("no_plan", plan=plan_id)
        return found

    def today(self) -> date:
        return self._now().astimezone(BEIJING).date()

    def publish(self, plan_id: int, first: date, last: date) -> Changes:
        """Lay the plan over the term; from today on it replaces the previous plan."""
        stored = self.plan(plan_id)
        if stored.kind != "solve":
            raise ScheduleRequestInvalid("publish_repair")
        _check_term(first, last)
        directory = self.directory.load()
        laid = lay_out(directory, plan_id, stored.timetable.lessons, first, last,
                       self.directory.calendar())  # fmt: skip
        return self.plans.publish(plan_id, first, last, laid, max(first, self.today()))

    def repair(
        self, plan_id: int, absent: list[str], first: date, last: date, time_limit: float = 1.0
    ) -> Repaired:
        """Re-plan around absent teachers; if the plan is published, change the dated
        lessons between ``first`` and ``last`` only."""
        stored = self.plan(plan_id)
        if last < first:
            raise ScheduleRequestInvalid("dates")
        directory = self.directory.load()
        unknown = sorted(set(absent) - {t.id for t in directory.teachers})
        if not absent or unknown:
            raise ScheduleRequestInvalid("absent", teachers="、".join(unknown))
        current = stored.timetable
        fixed = repair(directory, current, frozenset(absent), stored.params, time_limit=time_limit)
        note = f"absent={','.join(sorted(absent))};from={first.isoformat()};to={last.isoformat()}"
        new_id = self.plans.save(fixed, stored.params, kind="repair", parent_id=plan_id, note=note)
        removed, added = lesson_changes(current.lessons, fixed.lessons)
        changes = Changes([], [])
        if stored.published:
            start = max(first, self.today())
            laid = lay_out(directory, new_id, added, start, last, self.directory.calendar())
            going = [(le.teacher_id, le.day, le.period) for le in removed]
            changes = self.plans.apply_repair(start, last, going, laid)
        return Repaired(new_id, removed, added, changes)

    # exports ----------------------------------------------------------------------
    def export(self, plan_id: int, name: str) -> bytes:
        if name not in EXPORTS:
            raise ScheduleRequestInvalid("export", name=name)
        stored = self.plan(plan_id)
        directory = self.directory.load()
        with tempfile.TemporaryDirectory(prefix="sanke-export-") as folder:
            out = Path(folder)
            if name != "calendars.zip":
                write_plan(directory, stored.timetable, out)
                return (out / name).read_bytes()
            if stored.term_start is None or stored.term_end is None:
                raise ScheduleRequestInvalid("unpublished")
            write_calendars(directory, stored.timetable, stored.term_start,
                            stored.term_end, self.directory.calendar(), out,
                            self._now())  # fmt: skip
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted((out / "ical").glob("*.ics")):
                    archive.write(path, path.name)
            return buffer.getvalue()


def _throttled(report: Callable[[Progress], None]) -> Callable[[Progress], None]:
    """At most one progress write per ``PROGRESS_EVERY`` seconds (CP-SAT may call often)."""
    last = 0.0

    def call(progress: Progress) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            report(progress)

    return call


def _check_term(first: date, last: date) -> None:
    if last < first or (last - first).days > MAX_TERM_DAYS:
        raise ScheduleRequestInvalid("term")
