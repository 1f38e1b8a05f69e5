"""A real HTTP server on 127.0.0.1 that records the Twirp calls a LiveKit client sends.

It understands nothing but LiveKit's own protocol definitions (``livekit-protocol``): the
path ``/twirp/livekit.<Service>/<Method>`` names a method of a service descriptor, whose
input type decodes the body and whose output type answers. The answer is always the
empty message of that type: a transport-level capture, not a LiveKit stand-in (the
server suite, ``test_livekit_server.py``, talks to a real LiveKit). It runs on its own
thread and loop, so a synchronous ``TestClient`` app can call it too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from livekit.api import TokenVerifier
from livekit.api.access_token import Claims

KEY = "APIsanketest"
SECRET = "a-test-secret-of-at-least-32-characters-for-livekit"


@dataclass(frozen=True)
class Recorded:
    method: MethodDescriptor  # from LiveKit's protocol definitions
    request: Message  # the body, decoded with the method's input type
    authorization: str
    content_type: str

    @property
    def name(self) -> str:
        return self.method.name

    def claims(self, key: str = KEY, secret: str = SECRET) -> Claims:
        """The bearer token's claims, verified with ``key`` and ``secret``."""
        token = self.authorization.removeprefix("Bearer ")
        return TokenVerifier(key, secret, leeway=timedelta(0)).verify(token)


class TwirpRecorder:
    def __init__(self) -> None:
        self.calls: list[Recorded] = []
        self.unknown: list[str] = []  # paths that are no method of the protocol
        self.url = ""
        self._lock = threading.Lock()

    def named(self, name: str) -> list[Recorded]:
        with self._lock:
            return [c for c in self.calls if c.name == name]

    def names(self) -> list[str]:
        with self._lock:
            return [c.name for c in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    async def _handle(self, request: web.Request) -> web.Response:
        service, method_name = request.match_info["service"], request.match_info["method"]
        try:
            method = (
                descriptor_pool.Default().FindServiceByName(service).methods_by_name[method_name]
            )
        except KeyError:
            self.unknown.append(request.path)
            return web.json_response({"code": "bad_route", "msg": request.path}, status=404)
        body = await request.read()
        decoded = message_factory.GetMessageClass(method.input_type).FromString(body)
        with self._lock:
            self.calls.append(
                Recorded(method, decoded, request.headers.get("Authorization", ""),
                         request.headers.get("Content-Type", ""))
            )  # fmt: skip
        answer = message_factory.GetMessageClass(method.output_type)()
        return web.Response(body=answer.SerializeToString(), content_type="application/protobuf")


@contextmanager
def twirp_recorder() -> Iterator[TwirpRecorder]:
    recorder = TwirpRecorder()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/twirp/{service}/{method}", recorder._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        recorder.url = f"http://127.0.0.1:{port}"
        ready.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(5), "the recorder did not start"
    try:
        yield recorder
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
        loop.close()
