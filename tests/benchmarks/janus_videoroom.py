"""Janus VideoRoom as a reference SFU for benchmarks: the server process and its HTTP API.

``JanusServer`` runs the ``janus`` binary (Debian's 1.1.x package) as a child process with
a generated configuration: HTTP transport only, VideoRoom plugin only, no admin API, no
event handlers, logging to a file. ``JanusSession`` speaks the Janus API over HTTP
(session, handles, long-poll for events, keepalives); ``VideoRoom`` wraps the plugin's
requests (create a room, publish, subscribe, start, leave, destroy).

Janus gathers ICE candidates with libnice, which never uses a loopback interface: run it
(and the aiortc peers, since aioice skips 127.0.0.1 too) inside a network namespace with
a private address, see ``tests.benchmarks.netns``.

    with JanusServer(bind_ip="10.213.0.1") as janus:
        async with httpx2.AsyncClient(trust_env=False) as http:
            async with await JanusSession.create(http, janus.base_url) as session:
                rooms = VideoRoom(session)
                room = await rooms.create_room()
                answer, feed, pub = await rooms.publish(room, offer_sdp)
                offer, sub = await rooms.subscribe(room, feed)
                await rooms.start(sub, answer_sdp)

Errors::

    JanusError
    ├── JanusStartError    the process did not come up (its log tail is in the message)
    ├── JanusApiError      Janus or the plugin answered with an error (code, reason)
    └── JanusTimeoutError  an expected event did not arrive in time
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import glob
import logging
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx2

logger = logging.getLogger(__name__)

VIDEOROOM_PLUGIN = "janus.plugin.videoroom"

_KEEP_PLUGINS = {"libjanus_videoroom.so"}
_KEEP_TRANSPORTS = {"libjanus_http.so"}
_LIB_DIR_GLOBS = (
    "/usr/lib/*/janus",  # Debian multiarch
    "/usr/lib/janus",
    "/usr/local/lib/janus",
    "/opt/janus/lib/janus",
)
# Janus holds a long-poll GET for 30 s before answering with a keepalive.
_LONG_POLL_S = 30.0
_POST_TIMEOUT_S = 10.0
_MAX_EVENTS_PER_POLL = 50
_MAX_POLL_FAILURES = 5
_MAX_EVENTS_PER_HANDLE = 256  # unsolicited events kept for wait_for(); oldest dropped
_PR_SET_PDEATHSIG = 1


class JanusError(Exception):
    """Base class of everything this module raises."""


class JanusStartError(JanusError):
    """The janus process exited or did not answer ``/info`` in time."""


class JanusApiError(JanusError):
    """Janus (``janus: error``) or the plugin (``error_code``) rejected a request."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusTimeoutError(JanusError):
    """An event Janus should have sent did not arrive in time."""


# --------------------------------------------------------------------------- server


class JanusServer:
    """A ``janus`` child process with a generated config folder in a temp dir.

    The temp dir (config, ``janus.log``, ``stderr.log``) is deleted after a clean stop and
    kept when janus failed or had to be killed; pass ``workdir`` to always keep it.

    ``bind_ip`` is where the HTTP API listens; ``ice_ip`` (default: ``bind_ip``) is the
    only address Janus gathers ICE candidates on. Neither may be a loopback address if
    peers should connect: libnice skips loopback interfaces. ``argv_prefix`` runs the
    binary through e.g. ``["ip", "netns", "exec", "sanke-bench"]``. Readiness is checked
    with ``GET /janus/info`` when ``bind_ip`` is an address of this process's namespace,
    and otherwise from Janus's log (the HTTP API is then only reachable from inside).
    """

    def __init__(
        self,
        *,
        bind_ip: str = "127.0.0.1",
        ice_ip: str | None = None,
        port: int | None = None,
        rtp_port_range: tuple[int, int] = (20000, 29999),
        argv_prefix: Sequence[str] = (),
        janus_bin: str = "janus",
        lib_dir: Path | None = None,
        workdir: Path | None = None,
        debug_level: int = 4,
        event_loops: int | None = None,
        session_timeout_s: int = 60,
        startup_timeout_s: float = 15.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.bind_ip = bind_ip
        self.ice_ip = ice_ip or bind_ip
        self.port = port or _free_tcp_port(bind_ip)
        self.rtp_port_range = rtp_port_range
        self.argv_prefix = list(argv_prefix)
        self.janus_bin = janus_bin
        self.lib_dir = lib_dir
        self.debug_level = debug_level
        self.event_loops = event_loops
        self.session_timeout_s = session_timeout_s
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="sanke-janus-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The Janus API root, e.g. ``http://10.213.0.1:18088/janus``."""
        return f"http://{self.bind_ip}:{self.port}/janus"

    @property
    def log_path(self) -> Path:
        """Janus's own log file."""
        return self.workdir / "janus.log"

    @property
    def config_dir(self) -> Path:
        return self.workdir / "conf"

    @property
    def pid(self) -> int:
        """The janus process id (``ip netns exec`` execs, so it is janus itself)."""
        if self._proc is None:
            raise JanusError("JanusServer is not started")
        return self._proc.pid

    def start(self) -> None:
        """Write the config, start janus and wait until ``GET /janus/info`` answers."""
        if self._proc is not None:
            raise JanusError("JanusServer is already started")
        lib_dir = self.lib_dir or find_lib_dir()
        write_config(self.config_dir, self._config_values(lib_dir))
        argv = [*self.argv_prefix, self.janus_bin, *self._cli_args()]
        logger.info("JanusServer(%s) starting: %s", self.port, " ".join(argv))
        with open(self.workdir / "stderr.log", "wb") as stderr:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                preexec_fn=_die_with_parent,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        logger.info("JanusServer(%s) ready, pid %s", self.port, self._proc.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stop_timeout_s`` (both bounded); idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("JanusServer(%s) ignored SIGTERM, killing", self.port)
                proc.kill()
                proc.wait(timeout=5.0)
        if self._own_workdir and proc is not None and proc.returncode == 0:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Janus's log and of its stderr, for error messages."""
        parts = []
        for path in (self.log_path, self.workdir / "stderr.log"):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        """Poll until janus serves ``/info``, or (from outside its namespace) logs that
        its HTTP server is up; fail early if it exits."""
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        reachable = _is_local_address(self.bind_ip)
        with httpx2.Client(trust_env=False, timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise JanusStartError(
                        f"janus exited with {self._proc.returncode}\n{self.log_tail()}"
                    )
                if self._is_up(client) if reachable else self._logged_http_up():
                    return
                time.sleep(0.1)
        raise JanusStartError(
            f"janus did not answer {self.base_url}/info within "
            f"{self.startup_timeout_s} s\n{self.log_tail()}"
        )

    def _is_up(self, client: httpx2.Client) -> bool:
        try:
            return client.get(f"{self.base_url}/info").status_code == 200
        except httpx2.TransportError:
            return False

    def _logged_http_up(self) -> bool:
        if not self.log_path.exists():
            return False
        return f"HTTP webserver started (port {self.port}," in self.log_path.read_text(
            errors="replace"
        )

    def _cli_args(self) -> list[str]:
        return [
            f"--configs-folder={self.config_dir}",
            f"--config={self.config_dir / 'janus.jcfg'}",
            "--disable-stdout",
            f"--log-file={self.log_path}",
        ]

    def _config_values(self, lib_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
        general: dict[str, Any] = {
            "configs_folder": str(self.config_dir),
            "plugins_folder": str(lib_dir / "plugins"),
            "transports_folder": str(lib_dir / "transports"),
            "events_folder": str(lib_dir / "events"),
            "loggers_folder": str(lib_dir / "loggers"),
            "log_to_stdout": False,
            "log_to_file": str(self.log_path),
            "debug_level": self.debug_level,
            "debug_timestamps": True,
            "debug_colors": False,
            "server_name": "sanke-bench-janus",
            "session_timeout": self.session_timeout_s,
            "hide_dependencies": True,
            "interface": self.ice_ip,
        }
        if self.event_loops is not None:
            general["event_loops"] = self.event_loops
        low, high = self.rtp_port_range
        return {
            "janus.jcfg": {
                "general": general,
                "media": {"ipv6": False, "rtp_port_range": f"{low}-{high}"},
                "nat": {
                    "nice_debug": False,
                    "full_trickle": False,
                    # Never send mDNS queries; our peers only offer IP candidates.
                    "ignore_mdns": True,
                    # libnice matches this against interface names and addresses.
                    "ice_enforce_list": self.ice_ip,
                },
                "plugins": {"disable": _disable_all_but(lib_dir / "plugins", _KEEP_PLUGINS)},
                "transports": {
                    "disable": _disable_all_but(lib_dir / "transports", _KEEP_TRANSPORTS)
                },
                "loggers": {"disable": _disable_all_but(lib_dir / "loggers", set())},
                "events": {
                    "broadcast": False,
                    "disable": _disable_all_but(lib_dir / "events", set()),
                },
            },
            "janus.transport.http.jcfg": {
                "general": {
                    "json": "plain",
                    "base_path": "/janus",
                    "http": True,
                    "port": self.port,
                    "ip": self.bind_ip,
                    "https": False,
                    "events": False,
                },
                "admin": {"admin_http": False, "admin_https": False},
            },
            "janus.plugin.videoroom.jcfg": {"general": {"events": False}},
        }


def find_lib_dir() -> Path:
    """The folder holding Janus's ``plugins/`` and ``transports/`` (distro-dependent)."""
    for pattern in _LIB_DIR_GLOBS:
        for found in sorted(glob.glob(pattern)):
            if (Path(found) / "plugins" / "libjanus_videoroom.so").exists():
                return Path(found)
    raise JanusStartError("no Janus library folder with libjanus_videoroom.so found")


def write_config(folder: Path, files: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Write ``{file: {section: {key: value}}}`` as Janus ``.jcfg`` files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, sections in files.items():
        (folder / name).write_text(render_jcfg(sections))


def render_jcfg(sections: dict[str, dict[str, Any]]) -> str:
    """Render sections in Janus's libconfig syntax: ``name: { key = value }``."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"{section}: {{")
        lines.extend(f"\t{key} = {_jcfg_value(value)}" for key, value in values.items())
        lines.append("}")
    return "\n".join(lines) + "\n"


def _jcfg_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _disable_all_but(folder: Path, keep: set[str]) -> str:
    """Janus loads every ``*.so`` in a folder unless named in ``disable``."""
    names = sorted(p.name for p in folder.glob("*.so") if p.name not in keep)
    return ",".join(names)


def _free_tcp_port(ip: str) -> int:
    """A free port on ``ip``, or a random high one when ``ip`` is not local to us."""
    if not _is_local_address(ip):
        # The address lives in another namespace; a fresh namespace has free ports.
        return random.randint(18000, 18999)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ip, 0))
        return int(probe.getsockname()[1])


def _is_local_address(ip: str) -> bool:
    """Whether ``ip`` is an address of this process's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((ip, 0))
        except OSError:
            return False
        return True


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL janus if this Python process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# --------------------------------------------------------------------------- Janus API


@dataclass(frozen=True)
class Handle:
    """A plugin handle: one PeerConnection on the Janus side."""

    session_id: int
    handle_id: int


@dataclass(frozen=True)
class PluginEvent:
    """A plugin's answer: its ``plugindata.data`` and the JSEP, if it carried one."""

    data: dict[str, Any]
    jsep: dict[str, Any] | None


class JanusSession:
    """A Janus API session over HTTP, with a long-poll task and a keepalive task.

    Requests that the plugin answers asynchronously (join, configure, start, leave) get
    an ``ack`` on the POST and their result as an event with the same transaction on the
    long poll; ``message()`` hides the difference. Other events (``webrtcup``, ``media``,
    ``hangup``, ...) are kept per handle for ``wait_for()``.

    ``client`` belongs to the caller, who closes it; create it with ``trust_env=False``
    so no proxy from the environment gets in the way.
    """

    def __init__(
        self,
        client: httpx2.AsyncClient,
        base_url: str,
        session_id: int,
        *,
        event_timeout_s: float = 15.0,
        keepalive_interval_s: float = 25.0,
        max_lifetime_s: float = 6 * 3600.0,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self.id = session_id
        self.event_timeout_s = event_timeout_s
        self._keepalive_interval_s = keepalive_interval_s
        self._deadline = asyncio.get_running_loop().time() + max_lifetime_s
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[int, deque[dict[str, Any]]] = {}
        self._events_changed = asyncio.Condition()
        self._closed = False
        self._tasks = [
            asyncio.create_task(self._poll_loop(), name=f"janus-poll-{session_id}"),
            asyncio.create_task(self._keepalive_loop(), name=f"janus-keepalive-{session_id}"),
        ]

    @classmethod
    async def create(
        cls,
        client: httpx2.AsyncClient,
        base_url: str,
        *,
        event_timeout_s: float = 15.0,
        keepalive_interval_s: float = 25.0,
        max_lifetime_s: float = 6 * 3600.0,
    ) -> JanusSession:
        """Create a Janus session (``janus: create``) and start polling it."""
        reply = await _post(client, base_url.rstrip("/"), {"janus": "create"})
        session = cls(
            client,
            base_url,
            int(reply["data"]["id"]),
            event_timeout_s=event_timeout_s,
            keepalive_interval_s=keepalive_interval_s,
            max_lifetime_s=max_lifetime_s,
        )
        logger.info("JanusSession(%s) created", session.id)
        return session

    @property
    def url(self) -> str:
        return f"{self._base_url}/{self.id}"

    async def attach(self, plugin: str = VIDEOROOM_PLUGIN) -> Handle:
        """Attach a new handle to ``plugin``."""
        reply = await _post(self._client, self.url, {"janus": "attach", "plugin": plugin})
        return Handle(self.id, int(reply["data"]["id"]))

    async def detach(self, handle: Handle) -> None:
        """Detach a handle; Janus hangs up its PeerConnection."""
        await _post(self._client, self._handle_url(handle), {"janus": "detach"})
        self._events.pop(handle.handle_id, None)

    async def message(
        self,
        handle: Handle,
        body: dict[str, Any],
        jsep: dict[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> PluginEvent:
        """Send a plugin request and return its result, sync or async alike."""
        payload: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        transaction = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        self._pending[transaction] = waiter
        try:
            reply = await _post(
                self._client, self._handle_url(handle), payload, transaction=transaction
            )
            if reply["janus"] == "ack":
                reply = await self._await_event(waiter, body, timeout_s)
        finally:
            self._pending.pop(transaction, None)
        return _plugin_event(reply)

    async def wait_for(
        self, handle: Handle, janus: str, *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Wait for an unsolicited event such as ``webrtcup`` or ``media`` on ``handle``."""

        def find() -> dict[str, Any] | None:
            return next(
                (e for e in self._events.get(handle.handle_id, ()) if e["janus"] == janus),
                None,
            )

        timeout = self.event_timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(timeout), self._events_changed:
                await self._events_changed.wait_for(lambda: find() is not None)
        except TimeoutError as exc:
            raise JanusTimeoutError(f"no {janus!r} on handle {handle.handle_id}") from exc
        found = find()
        assert found is not None
        return found

    async def close(self) -> None:
        """Destroy the session (best effort) and stop the background tasks."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(JanusError, httpx2.HTTPError):
            await _post(self._client, self.url, {"janus": "destroy"})
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_pending(JanusError(f"session {self.id} closed"))
        logger.info("JanusSession(%s) closed", self.id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _handle_url(self, handle: Handle) -> str:
        return f"{self.url}/{handle.handle_id}"

    async def _await_event(
        self, waiter: asyncio.Future[dict[str, Any]], body: dict[str, Any], timeout_s: float | None
    ) -> dict[str, Any]:
        timeout = self.event_timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError as exc:
            raise JanusTimeoutError(f"no answer to {body.get('request')!r} in {timeout} s") from exc

    async def _poll_loop(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        # Bounded by the session's lifetime and by consecutive failures.
        while not self._closed and loop.time() < self._deadline:
            try:
                events = await self._poll_once()
            except (httpx2.HTTPError, ValueError) as exc:
                failures += 1
                logger.warning("JanusSession(%s) long poll failed: %s", self.id, exc)
                if failures >= _MAX_POLL_FAILURES:
                    self._fail_pending(JanusError(f"long poll failed {failures} times: {exc}"))
                    return
                await asyncio.sleep(0.2 * failures)
                continue
            failures = 0
            await self._dispatch(events)

    async def _poll_once(self) -> list[dict[str, Any]]:
        response = await self._client.get(
            self.url,
            params={"maxev": _MAX_EVENTS_PER_POLL},
            timeout=_LONG_POLL_S + _POST_TIMEOUT_S,
        )
        response.raise_for_status()
        parsed = response.json()
        return parsed if isinstance(parsed, list) else [parsed]

    async def _dispatch(self, events: list[dict[str, Any]]) -> None:
        unsolicited = False
        for event in events:
            kind = event.get("janus")
            waiter = self._pending.get(event.get("transaction", ""))
            if waiter is not None and kind in ("event", "error") and not waiter.done():
                waiter.set_result(event)
            elif kind != "keepalive" and "sender" in event:
                sender = int(event["sender"])
                self._events.setdefault(sender, deque(maxlen=_MAX_EVENTS_PER_HANDLE)).append(event)
                unsolicited = True
        if unsolicited:
            async with self._events_changed:
                self._events_changed.notify_all()

    async def _keepalive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed and loop.time() < self._deadline:
            await asyncio.sleep(self._keepalive_interval_s)
            with contextlib.suppress(JanusError, httpx2.HTTPError):
                await _post(self._client, self.url, {"janus": "keepalive"})

    def _fail_pending(self, exc: JanusError) -> None:
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(exc)


async def _post(
    client: httpx2.AsyncClient,
    url: str,
    payload: dict[str, Any],
    *,
    transaction: str | None = None,
) -> dict[str, Any]:
    """POST one Janus API request; raise on ``janus: error``."""
    body = {**payload, "transaction": transaction or uuid.uuid4().hex}
    response = await client.post(url, json=body, timeout=_POST_TIMEOUT_S)
    response.raise_for_status()
    reply: dict[str, Any] = response.json()
    _raise_for_janus_error(reply)
    return reply


def _raise_for_janus_error(reply: dict[str, Any]) -> None:
    if reply.get("janus") == "error":
        error = reply.get("error", {})
        raise JanusApiError(int(error.get("code", 0)), str(error.get("reason", "")))


def _plugin_event(reply: dict[str, Any]) -> PluginEvent:
    _raise_for_janus_error(reply)
    data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
    if "error_code" in data:
        raise JanusApiError(int(data["error_code"]), str(data.get("error", "")))
    return PluginEvent(data=data, jsep=reply.get("jsep"))


# --------------------------------------------------------------------------- VideoRoom


class VideoRoom:
    """The VideoRoom plugin's requests, on one ``JanusSession``.

    Each publisher and each subscriber gets its own handle (one PeerConnection each);
    room management uses one extra control handle, attached on first use.
    """

    def __init__(self, session: JanusSession) -> None:
        self.session = session
        self._control: Handle | None = None

    async def create_room(
        self,
        *,
        room: int | None = None,
        publishers: int = 1000,
        bitrate: int = 0,
        videocodec: str = "h264,vp8",
        audiocodec: str = "opus",
        fir_freq: int = 0,
        description: str = "sanke-bench",
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Create a room and return its id (Janus picks one when ``room`` is None).

        ``bitrate=0`` means no REMB cap on publishers; ``videocodec`` lists the codecs
        publishers may use, in order of preference.
        """
        body: dict[str, Any] = {
            "request": "create",
            "description": description,
            "is_private": True,
            "publishers": publishers,
            "bitrate": bitrate,
            "fir_freq": fir_freq,
            "videocodec": videocodec,
            "audiocodec": audiocodec,
            "permanent": False,
            **(extra or {}),
        }
        if room is not None:
            body["room"] = room
        event = await self.session.message(await self._control_handle(), body)
        return int(event.data["room"])

    async def destroy_room(self, room: int) -> None:
        """Destroy a room; its participants are kicked."""
        body = {"request": "destroy", "room": room, "permanent": False}
        await self.session.message(await self._control_handle(), body)

    async def publish(
        self, room: int, offer_sdp: str, *, display: str = "publisher"
    ) -> tuple[str, int, Handle]:
        """Join ``room`` as a publisher and send ``offer_sdp``.

        Returns Janus's answer SDP, the publisher's feed id (what subscribers ask for)
        and the handle. The offer must carry its ICE candidates (aiortc's always does):
        we tell Janus not to wait for trickled ones.
        """
        handle = await self.session.attach()
        joined = await self.session.message(
            handle, {"request": "join", "ptype": "publisher", "room": room, "display": display}
        )
        feed_id = int(joined.data["id"])
        configured = await self.session.message(
            handle, {"request": "configure"}, _jsep("offer", offer_sdp)
        )
        if configured.jsep is None:
            raise JanusApiError(0, f"configure on feed {feed_id} returned no answer")
        return str(configured.jsep["sdp"]), feed_id, handle

    async def subscribe(self, room: int, feed_id: int) -> tuple[str, Handle]:
        """Join ``room`` as a subscriber to ``feed_id``; returns Janus's offer SDP."""
        handle = await self.session.attach()
        body = {
            "request": "join",
            "ptype": "subscriber",
            "room": room,
            "streams": [{"feed": feed_id}],
        }
        attached = await self.session.message(handle, body)
        if attached.jsep is None:
            raise JanusApiError(0, f"subscribing to feed {feed_id} returned no offer")
        return str(attached.jsep["sdp"]), handle

    async def start(self, handle: Handle, answer_sdp: str) -> None:
        """Send the subscriber's answer; Janus then starts forwarding."""
        await self.session.message(handle, {"request": "start"}, _jsep("answer", answer_sdp))

    async def leave(self, handle: Handle, *, timeout_s: float = 5.0) -> None:
        """Leave the room (best effort) and detach the handle."""
        with contextlib.suppress(JanusError):
            await self.session.message(handle, {"request": "leave"}, timeout_s=timeout_s)
        with contextlib.suppress(JanusError, httpx2.HTTPError):
            await self.session.detach(handle)

    async def _control_handle(self) -> Handle:
        if self._control is None:
            self._control = await self.session.attach()
        return self._control


def _jsep(kind: str, sdp: str) -> dict[str, Any]:
    # trickle=false: the SDP already holds every candidate (aiortc gathers before
    # returning its description), so Janus must not wait for trickled ones.
    return {"type": kind, "sdp": sdp, "trickle": False}


__all__ = [
    "VIDEOROOM_PLUGIN",
    "Handle",
    "JanusApiError",
    "JanusError",
    "JanusServer",
    "JanusSession",
    "JanusStartError",
    "JanusTimeoutError",
    "PluginEvent",
    "VideoRoom",
    "find_lib_dir",
    "render_jcfg",
    "write_config",
]
