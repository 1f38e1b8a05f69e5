"""Two ``sanke serve`` processes on one PostgreSQL and one Redis (issue 8).

A lesson's events reach the pages of either instance; the rooms' timers fire once
although both instances run the clock; killing one instance mid-lesson loses nothing:
the other takes the clock over within the lease, and its pages show the lesson as it was.
Everything runs on loopback: the instances, their database, their own Redis.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
import subprocess
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from websockets.asyncio.client import ClientConnection, connect

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from rooms.lifecycle import Timing
from rooms.store import RoomStore
from scheduler.plan import Lesson
from scheduler.store import DirectoryStore
from tests.conftest import free_port
from tests.kernel.redis_process import RedisProcess
from tests.web.conftest import PASSWORD
from tests.web.live_fixtures import CLASSROOMS, OTHER_TEACHER, now_lesson, publish
from tests.web.processes import sanke_env, sanke_process
from web import demo
from web.database import make_engine, upgrade
from web.deps import SESSION_COOKIE
from web.pages import BEIJING

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

KIOSK = "classroom:tp-yangshuwan-r1"
WAIT = 30.0  # seconds a page or the database gets to show what the test waits for
CLOCK_TAKEN = "this instance runs the clock"  # what an instance logs when it takes the lease


@pytest.fixture
def database_url(postgres_admin: Engine) -> Iterator[str]:
    """A fresh PostgreSQL database of the test's own, dropped afterwards."""
    name = f"two_instances_{secrets.token_hex(6)}"
    admin = postgres_admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of the test's own, so the instances share it with nobody else."""
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def publish_lessons(engine: Engine, now: datetime) -> tuple[str, str]:
    """Two lessons: one happening now, and one whose room closes by the clock two minutes
    or so from ``now``. Returns their ids."""
    start = now - timedelta(minutes=5)
    day = start.astimezone(BEIJING).date()
    end = min(start + timedelta(minutes=40), datetime.combine(day, time(23, 59), BEIJING))
    closes = (now + timedelta(seconds=150)).replace(second=0, microsecond=0)
    ends = closes - Timing().end_after
    midnight = datetime.combine(ends.astimezone(BEIJING).date(), time(0, 0), BEIJING)
    starts = max(ends - timedelta(minutes=30), midnight)
    if ends - starts < timedelta(minutes=1):
        pytest.skip("a lesson cannot end just after midnight in Beijing")
    closing = Lesson("SOON", ends.astimezone(BEIJING).isoweekday(), 2, OTHER_TEACHER,
                     "cs-shimen-out1", "音乐", 3, ("tp-hekou-g3",))  # fmt: skip
    occurrences = publish(engine, [(now_lesson(day), start, end), (closing, starts, ends)])
    return occurrences[0].id, occurrences[1].id


def sign_in(port: int, username: str) -> str:
    """The session a browser gets from the login form of the instance on ``port``."""
    body = urllib.parse.urlencode({"username": username, "password": PASSWORD})
    origin = f"http://127.0.0.1:{port}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/login", body, {"Origin": origin,
                     "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        answer = conn.getresponse()
        answer.read()
    finally:
        conn.close()
    assert answer.status == 303, f"{username} could not sign in on {origin}: {answer.status}"
    return SimpleCookie(answer.getheader("set-cookie", ""))[SESSION_COOKIE].value


class Page:
    """A lesson page's live channel: it reads snapshots until one shows what it waits for."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, **message: str) -> None:
        await self.socket.send(json.dumps(message))

    async def until(self, what: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        for _ in range(1000):
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                message = json.loads(await asyncio.wait_for(self.socket.recv(), left))
            except TimeoutError:
                break
            assert message["type"] != "error", message
            if message["type"] == "snapshot" and check(message):
                return message  # type: ignore[no-any-return]
        raise AssertionError(f"no snapshot showed {what} within {WAIT} s")


@asynccontextmanager
async def page(port: int, session: str, lesson: str, classroom: str = "") -> AsyncIterator[Page]:
    query = f"?classroom={classroom}" if classroom else ""
    url = f"ws://127.0.0.1:{port}/api/v1/lessons/{lesson}/live{query}"
    async with connect(url, additional_headers={"Cookie": f"{SESSION_COOKIE}={session}"},
                       open_timeout=WAIT, close_timeout=2) as socket:  # fmt: skip
        yield Page(socket)


async def logged(
    store: RoomStore, lesson: str, kind: str, check: Callable[[list[Any]], bool], what: str,
    seconds: float = WAIT,
) -> list[dict[str, Any]]:  # fmt: skip
    """The lesson's logged events of ``kind``, once ``check`` holds for them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    for _ in range(10_000):
        found = await asyncio.to_thread(store.events, lesson, (kind,))
        if check(found) or loop.time() > deadline:
            assert check(found), f"{what}: {found}"
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(what)


def chat(snapshot: dict[str, Any]) -> list[str]:
    return [line["text"] for line in snapshot["chat"]]


def shared(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What every page of the lesson shows alike, whoever is looking."""
    return {"state": snapshot["state"], "controls": snapshot["controls"],
            "chat": snapshot["chat"],
            "receivers": [(r["identity"], r["hand"], r["called_on"])
                          for r in snapshot["receivers"]]}  # fmt: skip


@dataclass
class Instance:
    """One ``sanke serve`` process: its port, the process and its output so far."""

    port: int
    process: subprocess.Popen[str]
    output: list[str]

    def runs_the_clock(self) -> bool:
        return any(CLOCK_TAKEN in line for line in list(self.output))


async def leader_among(*instances: Instance) -> Instance:
    """The one instance that has taken the clock's lease (it says so in its log)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    for _ in range(1000):
        leading = [i for i in instances if i.process.poll() is None and i.runs_the_clock()]
        if leading or loop.time() > deadline:
            assert len(leading) == 1, f"{len(leading)} instances run the clock"
            return leading[0]
        await asyncio.sleep(0.2)
    raise AssertionError("no instance runs the clock")


async def test_two_instances_share_a_lesson_and_one_survives_the_other(
    database_url: str, redis_server: RedisProcess, hasher: PasswordHasher, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    store = RoomStore(engine)
    upgrade(engine)
    demo.install(DirectoryStore(engine), IdentityService(IdentityStore(engine), hasher),
                 datetime.now(UTC))  # fmt: skip
    secret = secrets.token_urlsafe(48)

    def env(port: int, name: str) -> dict[str, str]:
        return sanke_env(
            SANKE_ENV="production", SANKE_DATA_DIR=str(tmp_path / name), SANKE_HOST="127.0.0.1",
            SANKE_PORT=str(port), SANKE_SECRET_KEY=secret, SANKE_DATABASE_URL=database_url,
            SANKE_REDIS_URL=redis_server.url,
        )  # fmt: skip

    try:
        ports = free_port(), free_port()
        with (
            sanke_process("serve", env=env(ports[0], "one"), port=ports[0]) as one,
            sanke_process("serve", env=env(ports[1], "two"), port=ports[1]) as two,
        ):
            # Both instances are up and run the clock when the lessons appear: both load
            # them at their next turn, the one holding the lease opens each room, once.
            lesson, closing = publish_lessons(engine, datetime.now(UTC))
            for room in (lesson, closing):
                await logged(store, room, "room.opened", lambda e: len(e) == 1, "opened")
            instances = Instance(ports[0], *one), Instance(ports[1], *two)
            a = await leader_among(*instances)
            b = next(i for i in instances if i is not a)
            await across_instances_and_after_a_dies(store, a, b, lesson, closing)
    finally:
        engine.dispose()


async def across_instances_and_after_a_dies(
    store: RoomStore, a: Instance, b: Instance, lesson: str, closing: str
) -> None:
    """A runs the clock, B follows; the teacher is on A, a classroom on B."""
    teacher = sign_in(a.port, "wang.xiaoyan")
    kiosk_session = sign_in(b.port, "yangshuwan.room1")
    async with page(b.port, kiosk_session, lesson, "tp-yangshuwan-r1") as kiosk:
        await kiosk.until("the open room", lambda s: s["state"] == "open")
        async with page(a.port, teacher, lesson) as console:
            await console.until("the open room", lambda s: s["state"] == "open")

            # B to A, A to B: controls and chat cross the instances.
            await kiosk.send(type="control", action="raise_hand")
            await console.until("the raised hand", lambda s: s["controls"]["hands"] == [KIOSK])
            await console.send(type="control", action="call_on", target=KIOSK)
            called = await kiosk.until("the call", lambda s: s["controls"]["called_on"] == KIOSK)
            assert called["controls"]["hands"] == []
            await kiosk.send(type="chat", text="老师好")
            await console.until("the kiosk's chat", lambda s: chat(s) == ["老师好"])
            await console.send(type="chat", text="请翻到第三页")
            before = await kiosk.until(
                "the teacher's chat", lambda s: chat(s) == ["老师好", "请翻到第三页"]
            )
            on_a = await console.until("the teacher's chat", lambda s: len(chat(s)) == 2)
            assert shared(on_a) == shared(before)

            a.process.kill()  # SIGKILL mid-lesson: no goodbye; the lease is left to expire
            a.process.wait(timeout=WAIT)
            killed_at = datetime.now(UTC)

        # B takes the clock over once A's lease has expired.
        assert await leader_among(a, b) is b

        # The lesson as it was, on B: the teacher comes back there, an inspector looks in.
        async with page(b.port, teacher, lesson) as console:
            back = await console.until("a snapshot", lambda s: True)
            assert shared(back) == shared(before)
            inspector = sign_in(b.port, "li.xunke")
            async with page(b.port, inspector, lesson) as watcher:
                assert shared(await watcher.until("a snapshot", lambda s: True)) == shared(before)

            # B runs the clock: the other room closes by the clock, after A died.
            ended = await logged(store, closing, "room.ended", lambda e: len(e) >= 1,
                                 "B closes the room", seconds=240)  # fmt: skip
            assert ended[0]["data"]["reason"] == "time"
            assert ended[0]["at"] > killed_at, "the room closed before A was killed"

            # Pages on B still follow the teacher, and the teacher's end ends the lesson.
            await console.send(type="control", action="end_call")
            await kiosk.until("the end of the call", lambda s: s["controls"]["called_on"] is None)
            await console.send(type="end")
            done = await kiosk.until("the end", lambda s: s["state"] == "ended")
            assert done["end_reason"] == "teacher"

    # Each timer fired once, across both instances and the takeover.
    for room in (lesson, closing):
        for kind in ("room.opened", "room.ended"):
            await logged(store, room, kind, lambda e: len(e) == 1, f"one {kind} of {room}")
    alerts = await logged(store, lesson, "attendance.alert", lambda e: True, "alerts")
    raised = Counter(e["data"]["identity"] for e in alerts if e["data"]["active"])
    assert raised == {f"classroom:{c}": 1 for c in CLASSROOMS}, "missing classrooms alerted twice"
