"""The ``sanke`` command: serve, demo, db upgrade, user create, schedule, media, ingest, bench."""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import quote

import typer
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from identity.authorize import scope_target
from identity.errors import IdentityError
from identity.passwords import PasswordHasher
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor, IdentityService
from identity.store import IdentityStore
from identity.users import NewUser
from media.errors import IngestError
from media.grants import sign_grant
from media.ingest import ingest as run_ingest
from rooms.media_grants import GRANTS, media_grant
from scheduler.decompose import plan_region
from scheduler.errors import ImportFailed
from scheduler.export import write_calendars, write_plan
from scheduler.files import read_input, read_timetable
from scheduler.importer import build_calendar, build_directory
from scheduler.plan import Parameters, from_lessons, lesson_changes
from scheduler.solver import repair
from scheduler.store import DirectoryStore
from web import demo as demo_data
from web.database import DatabaseUnavailable, current_revision, make_engine, upgrade
from web.schedule import ScheduleService
from web.services import media_secret
from web.settings import Environment, SankeSettings, SettingsError, load_settings, secret_key

app = typer.Typer(help="Sanke 三课: three-classroom scheduling, live lessons and review.")
db_app = typer.Typer(help="Database schema.")
user_app = typer.Typer(help="Accounts.")
schedule_app = typer.Typer(help="The weekly plan: pair classrooms, place lessons.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(schedule_app, name="schedule")
media_app = typer.Typer(help="Live media: grants for rooms.")
app.add_typer(media_app, name="media")

BENCHMARKS = Path("tests/benchmarks")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"sanke: {message}", err=True)
    raise typer.Exit(code)


def _settings(**overrides: object) -> SankeSettings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        _fail(str(exc))


def _migrated_engine(settings: SankeSettings) -> Engine:
    try:
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
    except DatabaseUnavailable as exc:
        _fail(f"{exc}. Check SANKE_DATABASE_URL and that the database server is running.", 3)
    except OSError as exc:
        _fail(f"SANKE_DATA_DIR: expected a writable directory ({exc})", 3)
    except CommandError as exc:
        _fail(
            f"the database schema is not one this Sanke knows ({exc}); "
            "is it newer than this version of Sanke?",
            3,
        )
    return engine


def _port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port} ({exc.strerror}); set SANKE_PORT or --port")


def _run(settings: SankeSettings, engine: Engine) -> None:
    import uvicorn

    from web.app import create_app

    try:
        application = create_app(settings, engine=engine)
    except SettingsError as exc:
        _fail(str(exc))
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run Sanke: migrate the database, then serve the pages and the API."""
    _setup_logging()
    settings = _settings(host=host, port=port)
    _port_free(settings.host, settings.port)
    engine = _migrated_engine(settings)
    typer.echo(f"Sanke listening on {settings.base_url}/login")
    _run(settings, engine)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only load the demo data.")] = False,
) -> None:
    """Create the fictional county 青溪县 with an account for every role, and serve it."""
    _setup_logging()
    data_dir = os.environ.get("SANKE_DATA_DIR") or "var/demo"
    # The demo listens on 127.0.0.1, so its media do too (browser and server on one machine).
    loopback = None if "SANKE_MEDIA_LOOPBACK" in os.environ else True
    settings = _settings(
        env=Environment.DEVELOPMENT, data_dir=data_dir, host=host, port=port, demo_live=True,
        media_loopback=loopback,
    )  # fmt: skip
    if not no_serve:
        _port_free(settings.host, settings.port)
    engine = _migrated_engine(settings)
    identity = IdentityService(IdentityStore(engine), PasswordHasher())
    demo_data.install(DirectoryStore(engine), identity, datetime.now(UTC))
    plan = demo_data.install_plan(ScheduleService(engine, lambda: datetime.now(UTC)))
    typer.echo("")
    if plan is not None:
        typer.echo(
            f"Planned and published {len(plan.timetable.lessons)} lessons a week for "
            f"{plan.term_start} to {plan.term_end} ({plan.timetable.scheduled} of "
            f"{plan.timetable.demand} periods needed)"
        )
    typer.echo(f"Sanke demo · 青溪县 · open {settings.base_url}/login")
    typer.echo(
        f"Two lessons are live now with simulated classrooms: sign in as li.xunke and open "
        f"{settings.base_url}/patrol, or as wang.xiaoyan and open {settings.base_url}/lessons"
    )
    typer.echo(f"Every demo account's password is: {demo_data.DEMO_PASSWORD}")
    for account in demo_data.accounts():
        user = account.user
        typer.echo(f"  {user.username:<18} {user.role.value:<20} {account.note}")
    typer.echo("")
    if not no_serve:
        _run(settings, engine)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    settings = _settings()
    engine = _migrated_engine(settings)
    typer.echo(f"database at revision {current_revision(engine)}")


@user_app.command("create")
def user_create(
    username: str,
    name: Annotated[str, typer.Option(help="Display name, e.g. 王晓燕.")],
    role: Annotated[Role, typer.Option(help="One of the roles of DESIGN.md §8.")],
    region: Annotated[str | None, typer.Option(help="Region code, for region roles.")] = None,
    school: Annotated[str | None, typer.Option(help="School id, for school roles.")] = None,
    teacher_id: Annotated[
        str | None, typer.Option(help="For a teacher: the directory's teacher id it stands for.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account (audited as made by the CLI)."""
    settings = _settings()
    engine = _migrated_engine(settings)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            _fail("the two passwords differ")
    home = region
    try:
        scope = Scope(region=region, school=school)
        if school is not None:
            found = DirectoryStore(engine).school(school)
            if found is None:
                _fail(f"no school {school!r}; import the directory first")
            home = found.region
        identity = IdentityService(IdentityStore(engine), PasswordHasher())
        user = identity.create_user(
            Actor.cli(),
            NewUser(username, name, password, role, scope, teacher_id),
            scope_target(scope, home),
            home,
            datetime.now(UTC),
        )
    except IdentityError as exc:
        _fail(str(exc))
    typer.echo(f"created {user.username} ({user.role.value}, {user.scope})")


@schedule_app.command("solve")
def schedule_solve(
    source: Annotated[Path, typer.Argument(help="A folder of CSV files or one XLSX workbook.")],
    out: Annotated[Path, typer.Option(help="Where to write the plan.")],
    time_limit: Annotated[float, typer.Option(help="Seconds the solver may take.")] = 60.0,
    max_receivers: Annotated[int, typer.Option(help="Receiving classes per lesson.")] = 4,
    min_overlap: Annotated[int, typer.Option(help="Minutes two bells must overlap.")] = 35,
    kbps_per_lesson: Annotated[int, typer.Option(help="Bandwidth of one lesson.")] = 1500,
    term_start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day of term.")
    ] = None,
    term_end: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day of term.")
    ] = None,
) -> None:
    """Check the input, plan the week, write timetable/unmet/workload (and iCalendar files
    for the term when its dates are given); print one JSON line."""
    if (term_start is None) != (term_end is None) or (
        term_start and term_end and term_end < term_start
    ):
        _fail("--term-start and --term-end go together, start before end")
    try:
        tables = read_input(source)
        directory = build_directory(tables)
        exceptions = build_calendar(tables)
    except ImportFailed as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{len(exc.problems)} problems in the input; nothing was imported")
    params = Parameters(
        max_receivers=max_receivers,
        min_overlap_minutes=min_overlap,
        kbps_per_lesson=kbps_per_lesson,
    )
    plan = plan_region(directory, params, time_limit=time_limit)
    write_plan(directory, plan, out)
    if term_start is not None and term_end is not None:
        write_calendars(
            directory, plan, term_start.date(), term_end.date(), exceptions, out,
            datetime.now(UTC),
        )  # fmt: skip
    summary = {
        "status": plan.status,
        "demand": plan.demand,
        "scheduled": plan.scheduled,
        "unmet": plan.demand - plan.scheduled,
        "objective": plan.objective,
        "bound": plan.bound,
        "seconds": round(plan.seconds, 3),
        "lessons": len(plan.lessons),
    }
    typer.echo(json.dumps(summary))


@schedule_app.command("repair")
def schedule_repair(
    source: Annotated[Path, typer.Argument(help="The directory input the plan was made from.")],
    plan: Annotated[Path, typer.Option(help="The current timetable.csv.")],
    absent: Annotated[list[str], typer.Option(help="An absent teacher's id (repeatable).")],
    out: Annotated[Path, typer.Option(help="Where to write the repaired plan.")],
    time_limit: Annotated[float, typer.Option(help="Seconds the solver may take.")] = 1.0,
) -> None:
    """Re-plan around absent teachers, moving as little as possible; print the changes."""
    try:
        directory = build_directory(read_input(source))
        current = from_lessons(directory.needs, read_timetable(plan), "CURRENT")
    except ImportFailed as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{len(exc.problems)} problems in the input; nothing was changed")
    unknown = sorted(set(absent) - {t.id for t in directory.teachers})
    if unknown:
        _fail(f"no teacher {', '.join(unknown)} in {source}")
    repaired = repair(directory, current, frozenset(absent), time_limit=time_limit)
    write_plan(directory, repaired, out)

    removed, added = lesson_changes(current.lessons, repaired.lessons)
    for sign, changed in (("-", removed), ("+", added)):
        for le in changed:
            line = f"{sign} day {le.day} period {le.period} {le.teacher_id} {le.subject}"
            typer.echo(f"{line} grade {le.grade} {';'.join(le.class_ids)}")
    summary = {
        "status": repaired.status,
        "demand": repaired.demand,
        "scheduled_before": current.scheduled,
        "scheduled": repaired.scheduled,
        "removed": len(removed),
        "added": len(added),
        "seconds": round(repaired.seconds, 3),
    }
    typer.echo(json.dumps(summary))


@media_app.command("token")
def media_token_command(
    room: Annotated[str, typer.Option(help="Room id (a dated lesson id).")],
    identity: Annotated[str, typer.Option(help="Who joins, e.g. a classroom id.")],
    role: Annotated[
        str, typer.Option(help="teacher, receiving_classroom, inspector, researcher, recorder")
    ],
    name: Annotated[str, typer.Option(help="Name others see.")] = "",
    minutes: Annotated[int, typer.Option(min=1, max=720, help="Lifetime.")] = 120,
) -> None:
    """Print a media grant token for ROOM (operators: classroom encoders, tests)."""
    settings = _settings()
    if role not in GRANTS:
        _fail(f"--role: expected one of {', '.join(sorted(GRANTS))}")
    now = datetime.now(UTC)
    grant = media_grant(
        room, identity, role, name or identity, now, lifetime=timedelta(minutes=minutes)
    )
    typer.echo(sign_grant(grant, media_secret(secret_key(settings)), now))


@app.command()
def ingest(
    url: Annotated[str, typer.Argument(help="rtsp://, rtmp:// or a file of the classroom encoder")],
    room: Annotated[str, typer.Option(help="Room id to publish into.")],
    token: Annotated[str, typer.Option(help="Media grant token (sanke media token).")],
    server: Annotated[str, typer.Option(help="Sanke's base URL.")] = "http://127.0.0.1:8000",
    source: Annotated[str, typer.Option(help="camera or screen")] = "camera",
) -> None:
    """Pull a classroom camera or recorder (RTSP/RTMP) into a room, without transcoding video."""
    if source not in ("camera", "screen"):
        _fail("--source: expected camera or screen")
    _setup_logging()
    whip_url = f"{server.rstrip('/')}/media/whip/{quote(room, safe='')}?source={source}"
    try:
        result = asyncio.run(
            run_ingest(
                url, whip_url, token, on_status=lambda s: typer.echo(f"sanke ingest: {s}", err=True)
            )
        )
    except IngestError as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    typer.echo(json.dumps(dataclasses.asdict(result)))


@app.command()
def record() -> None:
    """Record every open and live lesson, and build each finished recording's assets
    (run beside ``sanke serve``, as its own process)."""
    from web.recording import (
        hourly_retention,
        job_worker,
        recorder_agent,
        recordings_root,
        retention_policy,
    )
    from web.services import build_services

    _setup_logging()
    settings = _settings()
    engine = _migrated_engine(settings)
    agent = recorder_agent(settings, engine)
    worker = job_worker(settings, engine)
    typer.echo(f"sanke record: recording live lessons into {recordings_root(settings)}")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        reviews = build_services(settings, secret_key(settings), engine).reviews
        retention = hourly_retention(reviews, retention_policy(settings), stop)
        await asyncio.gather(agent.run(stop), worker.run(stop), retention)

    asyncio.run(run())


@app.command()
def retention(
    apply: Annotated[bool, typer.Option(help="delete what is due (default: only list it)")] = False,
) -> None:
    """List (or, with --apply, delete and log) the recordings the retention policy no
    longer keeps (setting SANKE_RETENTION); JSON on standard output."""
    from web.archive import run_retention
    from web.recording import retention_policy
    from web.services import build_services

    settings = _settings()
    engine = _migrated_engine(settings)
    services = build_services(settings, secret_key(settings), engine)
    result = run_retention(services.reviews, retention_policy(settings), datetime.now(UTC),
                           apply=apply)  # fmt: skip
    typer.echo(json.dumps(result, ensure_ascii=False))


@app.command()
def indicators(
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD")],
    from_samples: Annotated[
        bool,
        typer.Option(
            "--from-samples", help="fold every quality sample, not the lessons' quality summaries"
        ),
    ] = False,  # fmt: skip
) -> None:
    """Recompute the indicators of a period from the lessons' event log (after a change
    of policy, or to check the incremental figures); JSON on standard output."""
    from web.indicators import Indicators

    try:
        days = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        _fail("--from and --to are dates like 2026-09-01")
    if days[1] < days[0]:
        _fail("--to is before --from")
    engine = _migrated_engine(_settings())
    started = time.perf_counter()
    lessons = Indicators(engine, lambda: datetime.now(UTC)).recompute(
        *days, from_samples=from_samples
    )
    typer.echo(json.dumps({"from": first, "to": last, "lessons": lessons,
                           "seconds": round(time.perf_counter() - started, 2)}))  # fmt: skip


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Benchmark to run; omit to list.")] = None,
) -> None:
    """Run a benchmark from tests/benchmarks (JSON on standard output)."""
    available = sorted(p.stem.removeprefix("bench_") for p in BENCHMARKS.glob("bench_*.py"))
    if name is None:
        typer.echo(json.dumps({"benchmarks": available}))
        return
    if name not in available:
        _fail(f"no benchmark {name!r}; available: {', '.join(available) or 'none'}")
    script = BENCHMARKS / f"bench_{name}.py"
    raise typer.Exit(subprocess.call([sys.executable, str(script), *ctx.args]))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
