"""Benchmark: the indicators over a synthetic L-tier term on PostgreSQL; JSON on stdout.

    sanke bench indicators [--lessons N] [--seed N] [--repeat N] [--http-repeat N]
                           [--budget S] [--sample-seconds S] [--server URL]
                           [--no-from-samples] [--json]

Makes a fresh database beside ``--server`` (dropped at the end), migrates it and fills
it (:mod:`tests.benchmarks.synthetic_term`): the L-tier directory, a published plan and
its dated lessons (``N``, default 30,000, over at least 18 weeks), each lesson's event
log loaded with ``COPY`` (a ``quality.sample`` per participant every ``S`` seconds:
about 10 M for 30,000 lessons) and each participant's ``quality.summary`` logged when
the room ended, inspections and some review activity. Then it times:

- ``recompute_seconds``: ``Indicators.recompute`` over the term (target < 60 s), in a
  fresh process: ``peak_rss_mb`` is that process's or its workers', the larger; it
  folds the summaries of ended rooms instead of their samples;
- ``recompute_from_samples``: the same recompute folding every sample instead, and
  whether it wrote the very same tables (``same_figures``: the summaries' check);
- ``dashboard_*_ms``: what one /reports page asks for (``ReportView.dashboard``): the
  rows of its groupings (total, week, county or township, school, teacher) with
  coverage and patrol read beside them, then workload, for the whole region and for
  one county, ``--repeat`` times each (target p95 < 300 ms), and
  ``http_reports_ms``: GET /reports through the app, ``--http-repeat`` times each;
  either stops early (after three) once ``--budget`` seconds have gone;
- ``refresh_seconds``: ``Indicators.refresh`` after one more day of lessons is logged.

``load_average`` tells whether something else was running on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import Engine, Text, create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import media.events  # noqa: E402, F401  (the event types, for decode_event)
import recorder.events  # noqa: E402, F401
import rooms.events  # noqa: E402, F401
import rooms.quality_events  # noqa: E402, F401
from identity.authorize import Principal, scope_target  # noqa: E402
from identity.passwords import PasswordHasher  # noqa: E402
from identity.roles import Role  # noqa: E402
from identity.scope import Scope  # noqa: E402
from identity.service import Actor, IdentityService  # noqa: E402
from identity.store import IdentityStore  # noqa: E402
from identity.users import NewUser  # noqa: E402
from kernel.events import RawEvent, decode_event  # noqa: E402
from recorder.review_tables import (  # noqa: E402
    research_groups,
    review_comments,
    review_scores,
    review_session_recordings,
    review_sessions,
)
from reports.store import Filter  # noqa: E402
from rooms.store import RoomStore  # noqa: E402
from rooms.tables import inspections, lesson_events  # noqa: E402
from scheduler.plan import Parameters, Timetable  # noqa: E402
from scheduler.plan_store import PlanStore  # noqa: E402
from scheduler.store import DirectoryStore  # noqa: E402
from tests.benchmarks.synthetic_term import (  # noqa: E402
    EventRow,
    LogWriter,
    Stamps,
    Term,
    build_term,
    copy_lines,
    expected_lessons,
    moment,
)
from web.database import make_engine, upgrade  # noqa: E402
from web.indicators import WORKERS, Indicators  # noqa: E402
from web.pages import BEIJING  # noqa: E402
from web.report_scope import default_group, report_filter  # noqa: E402
from web.report_views import DASHBOARD_GROUPS, MEDIAN_GROUPS  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGETS = {"recompute_seconds": 60.0, "dashboard_p95_ms": 300.0}
PASSWORD = "bench-indicators-2026"
COPY = "COPY lesson_events (event_id, at, type, lesson, data) FROM STDIN"
REPORTS_PAGES = Path(__file__).resolve().parents[2] / "web" / "routers" / "reports_pages.py"


def _url(server: str, database: str) -> str:
    return make_url(server).set(database=database).render_as_string(hide_password=False)


def _psycopg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- generating (in a child process) ------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    lessons: int
    events: int
    quality_samples: int
    inspections: int
    seconds: float
    shape_checked: int


def _users(engine: Engine, term: Term) -> dict[str, int]:
    """Accounts of the teachers who review (one in three) and an admin; teacher → user id."""
    identity = IdentityService(IdentityStore(engine), PasswordHasher(time_cost=1, memory_cost=1024))
    now = datetime.combine(term.first, clock(0), UTC)
    spec = NewUser("bench-admin", "电教管理员", PASSWORD, Role.ADMIN, Scope(region="340000"))
    identity.create_user(Actor.cli(), spec, scope_target(spec.scope, "340000"), "340000", now)
    school_region = {s.id: s.region for s in term.directory.schools}
    ids = {}
    for teacher in term.directory.teachers[::3]:
        spec = NewUser(f"t-{teacher.id}", teacher.name, PASSWORD, Role.TEACHER,
                       Scope(school=teacher.school_id), teacher_id=teacher.id)  # fmt: skip
        home = school_region[teacher.school_id]
        user = identity.create_user(Actor.cli(), spec, scope_target(spec.scope, home), home, now)
        ids[teacher.id] = user.id
    return ids


def _check_shapes(engine: Engine, url: str, rows: list[EventRow]) -> int:
    """Log one row of each type (and the longest sample) as a real event through
    ``RoomStore.append``, and again through the benchmark's ``COPY``: the stored data
    and times must be the same. The rows are deleted again."""
    import psycopg

    chosen: dict[str, EventRow] = {}
    for row in rows:
        chosen.setdefault(row[1], row)
    chosen["longest"] = max((r for r in rows if r[1] == "quality.sample"), key=lambda r: len(r[3]))
    events = [
        decode_event(json.dumps({"type": kind, "key": lesson, "id": uuid.uuid4().hex,
                                 "at": moment(at).isoformat(), "data": json.loads(doc)}))
        for at, kind, lesson, doc in chosen.values()
    ]  # fmt: skip
    if any(isinstance(e, RawEvent) for e in events):
        raise SystemExit("an event type of the synthetic log is not registered")
    RoomStore(engine).append(events)
    copied = [uuid.uuid4().hex for _ in events]
    with psycopg.connect(_psycopg_dsn(url)) as raw, raw.cursor() as cur:
        with cur.copy(COPY) as cp:
            cp.write(copy_lines(list(chosen.values()), iter(copied), Stamps()))
    c = lesson_events.c
    with engine.begin() as conn:
        stored = {
            r.event_id: (r.at, r.type, r.lesson, r.doc) for r in conn.execute(
                select(c.event_id, c.at, c.type, c.lesson, c.data.cast(Text).label("doc"))
                .where(c.event_id.in_([e.id for e in events] + copied))
            )
        }  # fmt: skip
        for event, other, (at, kind, lesson, doc) in zip(
            events, copied, chosen.values(), strict=True
        ):
            mine = (moment(at), kind, lesson, doc)
            if not stored[event.id] == stored[other] == mine:
                raise SystemExit(f"a {kind} differs: {stored[event.id]} {stored[other]} {mine}")
        conn.execute(lesson_events.delete().where(c.event_id.in_([e.id for e in events] + copied)))
    return len(events)


def _reviews(engine: Engine, term: Term, recorded: list[str], users: dict[str, int]) -> None:
    """Review activity on one recorded lesson in fifty: comments, scores, sessions."""
    import random

    rng = random.Random(7)
    reviewers = sorted(users.items())
    chosen = sorted(rng.sample(recorded, max(1, len(recorded) // 50))) if recorded else []
    base = datetime.combine(term.first, clock(8), BEIJING)
    comments, scores, sessions = [], [], []
    for n, lesson in enumerate(chosen):
        when = base + timedelta(days=rng.randint(1, (term.last - term.first).days))
        for _ in range(rng.randint(1, 5)):
            teacher, user_id = rng.choice(reviewers)
            comments.append({"recording": lesson, "author_id": user_id, "author": teacher,
                             "at": rng.uniform(0, 2400), "until": None, "category": "comment",
                             "text": "导入环节清楚", "visibility": "group", "group_id": 1,
                             "rubric_item": None, "value": None, "created_at": when})  # fmt: skip
        for teacher, user_id in rng.sample(reviewers, 2):
            for item in ("教学目标", "教学过程", "教学效果"):
                scores.append({"recording": lesson, "reviewer_id": user_id, "item": item,
                               "reviewer": teacher, "value": rng.randint(2, 5),
                               "updated_at": when})  # fmt: skip
        if n % 3 == 0:
            sessions.append({"session_id": 1 + n % 4, "recording": lesson})
    with engine.begin() as conn:
        conn.execute(insert(research_groups).values(id=1, name="英语教研组", region="340000",
                                                    created_by=1, created_at=base))  # fmt: skip
        conn.execute(insert(review_sessions), [
            {"id": k, "group_id": 1, "title": f"评课活动{k}", "deadline": base + timedelta(days=90),
             "created_by": 1, "created_at": base} for k in range(1, 5)
        ])  # fmt: skip
        for table, rows in ((review_comments, comments), (review_scores, scores),
                            (review_session_recordings, sessions)):  # fmt: skip
            if rows:
                conn.execute(insert(table), rows)


def _load_days(
    url: str, term: Term, writer: LogWriter, days: list[list[Any]]
) -> tuple[int, int, list[str], list[dict[str, Any]]]:
    """COPY the logs of ``days`` (lists of occurrences); events, samples, recorded, inspections."""
    import psycopg

    events = samples = 0
    recorded: list[str] = []
    found: list[dict[str, Any]] = []
    ids: Iterator[str] = iter(writer.event_id, None)
    stamp = Stamps()
    with psycopg.connect(_psycopg_dsn(url)) as conn, conn.cursor() as cur:
        for occurrences in days:
            rows: list[EventRow] = []
            for expected in expected_lessons(term, occurrences):
                lesson_rows, lesson_inspections = writer.lesson(expected)
                rows += lesson_rows
                found += lesson_inspections
            rows.sort(key=lambda row: row[0])  # the log is written as things happen
            events += len(rows)
            samples += sum(1 for row in rows if row[1] == "quality.sample")
            recorded += [row[2] for row in rows if row[1] == "recording.ready"]
            with cur.copy(COPY) as cp:
                for start in range(0, len(rows), 20_000):
                    cp.write(copy_lines(rows[start : start + 20_000], ids, stamp))
            conn.commit()
    return events, samples, recorded, found


def _by_day(occurrences: list[Any]) -> list[list[Any]]:
    days: dict[date, list[Any]] = {}
    for o in occurrences:
        days.setdefault(o.day, []).append(o)
    return [days[d] for d in sorted(days)]


def generate(url: str, lessons: int, seed: int, sample_seconds: float) -> Loaded:
    """Fill the migrated database at ``url``; the extra day's logs are left out."""
    started = time.perf_counter()
    engine = make_engine(url)
    term = build_term(lessons, seed)
    DirectoryStore(engine).replace(term.directory, term.calendar)
    plans = PlanStore(engine)
    timetable = Timetable("SYNTHETIC", term.weekly, (), 0.0, 0.0, 0.0, len(term.weekly),
                          len(term.weekly))  # fmt: skip
    plan_id = plans.save(timetable, Parameters())
    if plan_id != 1:
        raise SystemExit("expected a fresh database (plan 1)")
    plans.publish(plan_id, term.first, term.extra_day, [*term.lessons, *term.extra], term.first)
    users = _users(engine, term)
    writer = LogWriter(seed, sample_seconds)
    probe = LogWriter(seed + 1, sample_seconds)
    checked = _check_shapes(
        engine, url,
        [r for e in expected_lessons(term, term.lessons[:20]) for r in probe.lesson(e)[0]],
    )  # fmt: skip
    events, samples, recorded, found = _load_days(url, term, writer, _by_day(term.lessons))
    with engine.begin() as conn:
        if found:
            conn.execute(insert(inspections), found)
        conn.execute(text("SELECT setval(pg_get_serial_sequence('inspections', 'id'), :n)"),
                     {"n": max(len(found), 1)})  # fmt: skip
    _reviews(engine, term, recorded, users)
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return Loaded(len(term.lessons), events, samples, len(found),
                  time.perf_counter() - started, checked)  # fmt: skip


def append_extra_day(url: str, lessons: int, seed: int, sample_seconds: float) -> int:
    """Log the extra day's lessons (as the live system would during that day)."""
    term = build_term(lessons, seed)
    writer = LogWriter(seed + 2, sample_seconds)
    writer.next_inspection = 10_000_000
    events, _, _, found = _load_days(url, term, writer, [term.extra])
    engine = make_engine(url)
    with engine.begin() as conn:
        if found:
            conn.execute(insert(inspections), found)
    engine.dispose()
    return events


# -- measuring ----------------------------------------------------------------------------


def _ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p95": round(p95 * 1000, 1),
            "max": round(ordered[-1] * 1000, 1)}  # fmt: skip


def recompute(
    url: str, first: date, last: date, now: datetime, from_samples: bool = False
) -> dict[str, Any]:
    """``Indicators.recompute`` in a fresh process: its time, its own and its worker
    processes' peak memory, and a digest of the tables it wrote."""
    engine = make_engine(url)
    began = time.perf_counter()
    stored = Indicators(engine, lambda: now).recompute(first, last, from_samples=from_samples)
    seconds = time.perf_counter() - began
    with engine.connect() as conn:
        digest = [
            conn.scalar(text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {t} t"))
            for t in ("indicator_lessons", "indicator_receivers")
        ]
    engine.dispose()
    return {
        "stored": stored,
        "seconds": seconds,
        "digest": digest,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def dashboard(indicators: Indicators, flt: Filter) -> dict[str, float]:
    """What one /reports page asks for (``web.report_views.ReportView.dashboard``): the
    rows of its groupings at once, patrol, coverage and workload; seconds per call."""
    groups = list(dict.fromkeys((*DASHBOARD_GROUPS, default_group(flt))))
    rows: dict[str, Any] = {}
    beside: dict[str, Any] = {}

    def together() -> None:  # as ReportView.prefetch: coverage and patrol beside the rows
        beside["coverage"] = indicators.background(partial(indicators.coverage, flt))
        beside["patrol"] = indicators.background(partial(indicators.patrol, flt))
        rows.update(indicators.rows_by(flt, groups, MEDIAN_GROUPS))
        beside["coverage"].result(), beside["patrol"].result()

    calls: dict[str, Callable[[], object]] = {
        "rows_coverage_patrol": together,
        "workload": lambda: indicators.workload(flt, rows["teacher"]),
    }
    spent = {}
    for name, call in calls.items():
        began = time.perf_counter()
        call()
        spent[name] = time.perf_counter() - began
    return spent


def dashboards(
    indicators: Indicators, scopes: dict[str, Filter], repeat: int, budget: float
) -> dict[str, Any]:
    """``repeat`` pages per scope (fewer if ``budget`` seconds run out, at least three)."""
    dashboard(indicators, scopes["region"])  # warm the connection pool and the plans
    pages: list[float] = []
    per_call: dict[str, list[float]] = {}
    per_scope: dict[str, list[float]] = {k: [] for k in scopes}
    began = time.perf_counter()
    for done in range(repeat):
        if done >= 3 and time.perf_counter() - began > budget:
            break
        for scope, flt in scopes.items():
            spent = dashboard(indicators, flt)
            pages.append(sum(spent.values()))
            per_scope[scope].append(sum(spent.values()))
            for call, seconds in spent.items():
                per_call.setdefault(call, []).append(seconds)
    return {
        "pages": len(pages),
        **_ms(pages),
        "by_scope": {k: _ms(v) for k, v in per_scope.items()},
        "calls_p50": {k: _ms(v)["p50"] for k, v in per_call.items()},
    }


def http_pages(
    engine: Engine, first: date, last: date, repeat: int, budget: float
) -> dict[str, Any]:
    """GET /reports through the app (``web.app.create_app``), signed in as the region's
    admin; ``repeat`` requests per scope, fewer if ``budget`` seconds run out."""
    from fastapi.testclient import TestClient

    from web.app import create_app
    from web.settings import load_settings

    settings = load_settings(env="development", data_dir=Path("/tmp") / "bench-indicators-data",
                             database_url=engine.url.render_as_string(hide_password=False),
                             record=False)  # fmt: skip
    app = create_app(settings, engine=engine,
                     hasher=PasswordHasher(time_cost=1, memory_cost=1024))  # fmt: skip
    out: dict[str, Any] = {}
    with TestClient(app, headers={"origin": "http://testserver"}) as client:
        login = client.post("/login", data={"username": "bench-admin", "password": PASSWORD},
                            follow_redirects=False)  # fmt: skip
        if login.status_code != 303:
            return {"error": f"login answered {login.status_code}"}
        for name, query in (("region", ""), ("county", "&region=340001")):
            url = f"/reports?from={first}&to={last}{query}"
            client.get(url)  # warm
            spent: list[float] = []
            statuses = set()
            began = time.perf_counter()
            while len(spent) < repeat and (len(spent) < 3 or time.perf_counter() - began < budget):
                started = time.perf_counter()
                statuses.add(client.get(url).status_code)
                spent.append(time.perf_counter() - started)
            out[name] = {"requests": len(spent), "status": sorted(statuses), **_ms(spent)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lessons", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=50, help="dashboard pages per scope")
    parser.add_argument("--http-repeat", type=int, default=10, help="GET /reports per scope")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="seconds for the dashboard pages (and as much for HTTP)")  # fmt: skip
    parser.add_argument("--sample-seconds", type=float, default=30.0,
                        help="the pages' report interval: a quality.sample each")  # fmt: skip
    parser.add_argument("--server", default=os.environ.get("SANKE_BENCH_DATABASE_URL", SERVER),
                        help="a PostgreSQL URL; a scratch database is made beside it")  # fmt: skip
    parser.add_argument("--no-from-samples", dest="from_samples", action="store_false",
                        help="skip recomputing from the samples")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="(output is always JSON)")
    args = parser.parse_args()
    if not 1 <= args.lessons <= 200_000 or not 1 <= args.repeat <= 1000:
        parser.error("--lessons 1..200000, --repeat 1..1000")
    if not 5 <= args.sample_seconds <= 60 or not 0 <= args.http_repeat <= 1000:
        parser.error("--sample-seconds 5..60, --http-repeat 0..1000")
    name = f"bench_indicators_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(args.server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        result = run(_url(args.server, name), args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(result))


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    load_before = os.getloadavg()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        loaded = pool.submit(generate, url, args.lessons, args.seed, args.sample_seconds).result()
    term_first, term_last, extra_day = _term_days(engine)
    now = datetime.combine(term_last, clock(18), BEIJING).astimezone(UTC)
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        recomputed = pool.submit(recompute, url, term_first, term_last, now).result()
    load_recompute = os.getloadavg()
    samples_recomputed: dict[str, Any] = {"skipped": "--no-from-samples"}
    if args.from_samples:  # the summaries' check: folding every sample gives the same tables
        # (before the app below runs: its own clock may open rooms of the term's days)
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            again = pool.submit(recompute, url, term_first, term_last, now, True).result()
        samples_recomputed = {
            "seconds": round(again["seconds"], 2),
            "same_figures": again["digest"] == recomputed["digest"],
            "peak_rss_mb": round(max(again["rss_mb"], again["workers_rss_mb"])),
        }

    indicators = Indicators(engine, lambda: now)
    principal = Principal(1, "bench-admin", Role.ADMIN, Scope(region="340000"))
    directory = indicators.directory_store
    scopes = {
        "region": report_filter(principal, directory, first=term_first, last=term_last),
        "county": report_filter(
            principal, directory, first=term_first, last=term_last, region="340001"
        ),  # fmt: skip
    }
    pages = dashboards(indicators, scopes, args.repeat, args.budget)
    http = (
        http_pages(engine, term_first, term_last, args.http_repeat, args.budget)
        if REPORTS_PAGES.exists() and args.http_repeat
        else {"skipped": "--http-repeat 0" if not args.http_repeat else "no reports pages"}
    )  # fmt: skip

    indicators.store.set_cursor("events", _last_event_id(engine))  # as a refresh a minute would
    indicators.store.set_cursor("clock", 1, now)
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        extra_events = pool.submit(
            append_extra_day, url, args.lessons, args.seed, args.sample_seconds
        ).result()
    later = datetime.combine(extra_day, clock(18), BEIJING).astimezone(UTC)
    began = time.perf_counter()
    refreshed = Indicators(engine, lambda: later).refresh()
    refresh_seconds = time.perf_counter() - began
    engine.dispose()

    seconds = recomputed["seconds"]
    result = {
        "lessons": loaded.lessons,
        "stored": recomputed["stored"],
        "quality_samples": loaded.quality_samples,
        "events": loaded.events,
        "inspections": loaded.inspections,
        "shape_checked": loaded.shape_checked,
        "sample_seconds": args.sample_seconds,
        "generate_seconds": round(loaded.seconds, 1),
        "recompute_seconds": round(seconds, 2),
        "recompute_lessons_per_second": round(loaded.lessons / seconds, 1),
        "recompute_workers": WORKERS,
        "recompute_from_samples": samples_recomputed,
        "dashboard_pages": pages["pages"],
        "dashboard_p50_ms": pages["p50"],
        "dashboard_p95_ms": pages["p95"],
        "dashboard_max_ms": pages["max"],
        "dashboard_by_scope_ms": pages["by_scope"],
        "dashboard_calls_p50_ms": pages["calls_p50"],
        "http_reports_ms": http,
        "refresh_seconds": round(refresh_seconds, 2),
        "refresh_lessons": refreshed,
        "refresh_events": extra_events,
        "peak_rss_mb": round(max(recomputed["rss_mb"], recomputed["workers_rss_mb"])),
        "peak_rss_by_process_mb": {
            "recompute": round(recomputed["rss_mb"]),
            "workers": round(recomputed["workers_rss_mb"]),
        },  # fmt: skip
        "load_average": {
            "start": load_before[0],
            "after_recompute": load_recompute[0],
            "end": os.getloadavg()[0],
        },  # fmt: skip
        "cpus": os.cpu_count(),
        "targets": TARGETS,
    }
    result["met"] = {
        "recompute_seconds": seconds < TARGETS["recompute_seconds"],
        "dashboard_p95_ms": pages["p95"] < TARGETS["dashboard_p95_ms"],
    }
    return result


def _term_days(engine: Engine) -> tuple[date, date, date]:
    """The term's first and last day of logged lessons, and the extra day after."""
    from scheduler.tables import dated_lessons

    c = dated_lessons.c
    with engine.connect() as conn:
        days = sorted(conn.scalars(select(c.day).distinct()))
    return days[0], days[-2], days[-1]


def _last_event_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.max(lesson_events.c.id))) or 0)


if __name__ == "__main__":
    main()
