"""The live pages pick their media client by the server's backend, in real headless Chromium.

With ``SANKE_MEDIA_BACKEND=livekit`` the app's LiveKit URL points at a loopback listener
this test runs: it notes each request that reaches it and closes the connection without a
word, so it is no LiveKit server and nobody can join. The pages must load livekit-client
and ``livekit-media.js`` (not the embedded SFU's client), try LiveKit's signalling path
``/rtc`` with an ``access_token`` that verifies for the page's role under the configured
key and secret, and say in Chinese that the media server cannot be reached. With the
embedded backend the same pages use ``SankeMedia`` (``test_live_browser.py`` covers its
media). Media through a real LiveKit: ``test_livekit_server_browser.py``.

Screenshots go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import base64
import gzip
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from livekit.api import TokenVerifier
from livekit.api.access_token import Claims
from livekit.protocol.rtc import JoinRequest, WrappedJoinRequest

from media.livekit.tokens import ROLE_ATTRIBUTE
from tests.conftest import free_port, services_required
from tests.media.livekit_twirp import KEY, SECRET
from tests.web.processes import sanke_env, sanke_server
from tests.web.test_live_browser import prepare, signed_in
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium
from web.livekit_client import BUNDLE_URL, find_bundle

pytestmark = pytest.mark.browser

TEACHER = "teacher:cs-qingxi-shiyan-t1"
CLASSROOM = "tp-yangshuwan-r1"
NO_MEDIA_SERVER = "暂时连接不上媒体服务器"
NO_SERVER = "暂时连接不上服务器"
NO_CLIENT = "服务器缺少 LiveKit 浏览器组件"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class _Noting(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = self.request.recv(4096)
                if not chunk:
                    break
                head += chunk
        except OSError:
            pass
        lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        if lines and len(lines[0].split(" ")) == 3:
            method, target, _ = lines[0].split(" ")
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            parts = urlsplit(target)
            self.server.noted.append(  # type: ignore[attr-defined]
                Request(
                    method,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in headers.items()},
                )  # fmt: skip
            )
        self.request.shutdown(socket.SHUT_RDWR)  # no answer: the connection just ends


class Listener(socketserver.ThreadingTCPServer):
    """127.0.0.1:``port``, noting every HTTP request's line and headers, answering none."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Noting)
        self.noted: list[Request] = []

    def signalling(self, identity: str, seconds: float = 20) -> tuple[Request, Claims]:
        """The first WebSocket request to ``/rtc…`` whose access token is ``identity``'s."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for request in list(self.noted):
                if not request.path.startswith("/rtc") or "access_token" not in request.query:
                    continue
                claims = TokenVerifier(KEY, SECRET).verify(request.query["access_token"][0])
                if claims.identity == identity:
                    return request, claims
            time.sleep(0.1)
        pytest.fail(f"no signalling request for {identity}: {self.noted}")


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener(free_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@contextmanager
def lesson_server(data: Path, **settings: str) -> Iterator[tuple[str, str, list[str]]]:
    """``sanke serve`` with ``settings`` on the demo county, its device accounts and a lesson
    that began 5 minutes ago: its URL, the lesson, and (once it stopped) its output."""
    lesson = prepare(data)
    port = free_port()
    env = sanke_env(SANKE_DATA_DIR=str(data), SANKE_PORT=str(port), SANKE_ENV="development",
                    **settings)  # fmt: skip
    with sanke_server("serve", env=env, port=port) as output:
        yield f"http://127.0.0.1:{port}", lesson, output


@pytest.fixture(scope="module")
def livekit_server(
    tmp_path_factory: pytest.TempPathFactory, listener: Listener
) -> Iterator[tuple[str, str]]:
    if find_bundle() is None:
        message = "livekit-client is not installed: run `make node_modules/.installed`"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    livekit = f"ws://127.0.0.1:{listener.server_address[1]}"
    with lesson_server(tmp_path_factory.mktemp("livekit-pages"), SANKE_MEDIA_BACKEND="livekit",
                       SANKE_LIVEKIT_URL=livekit, SANKE_LIVEKIT_API_KEY=KEY,
                       SANKE_LIVEKIT_API_SECRET=SECRET) as (url, lesson, output):  # fmt: skip
        yield url, lesson
    assert any("LiveKit browser client: " in line for line in output), output


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def join_settings(request: Request) -> dict[str, bool]:
    """The connection settings a signalling request asks for: in the ``join_request``
    (``/rtc/v1``: a ``WrappedJoinRequest``, maybe gzipped) or as parameters (``/rtc``)."""
    if "join_request" not in request.query:
        names = ("auto_subscribe", "adaptive_stream")
        return {name: request.query[name] == ["1"] for name in names}
    wrapped = WrappedJoinRequest()
    wrapped.ParseFromString(base64.urlsafe_b64decode(request.query["join_request"][0]))
    raw = wrapped.join_request
    if wrapped.compression == WrappedJoinRequest.GZIP:
        raw = gzip.decompress(raw)
    join = JoinRequest()
    join.ParseFromString(raw)
    settings = join.connection_settings
    return {"auto_subscribe": settings.auto_subscribe, "adaptive_stream": settings.adaptive_stream}


def loaded_scripts(page: Any) -> list[str]:
    return page.evaluate(  # type: ignore[no-any-return]
        "performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'script')"
        ".map((e) => new URL(e.name).pathname)"
    )


def clients(page: Any) -> dict[str, bool]:
    return page.evaluate(  # type: ignore[no-any-return]
        """() => ({livekit: typeof LivekitClient === "object"
                           && typeof LivekitClient.Room === "function",
                  liveKitMedia: typeof LiveKitMedia === "function",
                  sankeMedia: typeof SankeMedia === "function"})"""
    )


def test_the_pages_join_livekit_and_say_when_it_cannot_be_reached(
    browser: Any, livekit_server: tuple[str, str], listener: Listener
) -> None:
    from playwright.sync_api import expect

    url, lesson = livekit_server
    ARTIFACTS.mkdir(exist_ok=True)
    teacher = signed_in(browser, url, "wang.xiaoyan")
    teacher.goto(f"{url}/teach/{lesson}")
    request, claims = listener.signalling(TEACHER)
    assert request.method == "GET" and request.headers.get("upgrade", "").lower() == "websocket"
    assert claims.attributes == {ROLE_ATTRIBUTE: "teacher"}
    assert claims.video is not None and claims.video.room == lesson
    assert claims.video.can_publish_sources == ["camera", "microphone", "screen_share",
                                                "screen_share_audio"]  # fmt: skip
    # the page subscribes itself, and attaches tracks itself: no adaptive stream
    assert join_settings(request) == {"auto_subscribe": False, "adaptive_stream": False}
    expect(teacher.locator("#message")).to_contain_text(NO_MEDIA_SERVER, timeout=20_000)
    assert clients(teacher) == {"livekit": True, "liveKitMedia": True, "sankeMedia": False}
    scripts = loaded_scripts(teacher)
    assert BUNDLE_URL in scripts and "/static/livekit-media.js" in scripts
    assert "/media/client.js" not in scripts
    expect(teacher.locator("#state")).to_have_text("候课中")  # no media: nobody went live
    teacher.screenshot(path=ARTIFACTS / "livekit-teach-unreachable-1366.png")

    kiosk = signed_in(browser, url, "yangshuwan.room1")
    kiosk.goto(f"{url}/receive/{CLASSROOM}")
    request, claims = listener.signalling(f"classroom:{CLASSROOM}")
    assert claims.attributes == {ROLE_ATTRIBUTE: "receiving_classroom"}
    assert claims.video is not None and claims.video.can_publish_sources == ["camera"]
    assert claims.video.can_subscribe and not claims.video.hidden
    expect(kiosk.locator("#notice")).to_contain_text(NO_SERVER, timeout=20_000)
    assert clients(kiosk)["liveKitMedia"] and not clients(kiosk)["sankeMedia"]
    kiosk.screenshot(path=ARTIFACTS / "livekit-receive-unreachable-1366.png")
    # it keeps trying by itself: a second attempt reaches the listener
    first = sum(1 for r in listener.noted if _is(r, f"classroom:{CLASSROOM}"))
    deadline = time.monotonic() + 20
    while sum(1 for r in listener.noted if _is(r, f"classroom:{CLASSROOM}")) <= first:
        assert time.monotonic() < deadline, "the kiosk did not try again"
        kiosk.wait_for_timeout(200)


COUNT_CAMERAS = """(() => {
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.cameraStreams = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await open(constraints);
    window.cameraStreams.push(stream);
    return stream;
  };
})();"""


def test_the_teacher_page_tries_again_with_the_camera_it_opened(
    browser: Any, livekit_server: tuple[str, str], listener: Listener
) -> None:
    """A join that fails is tried again by itself, and the camera opened for the first try
    is the one the next tries publish: not a new camera each time, the old left running."""
    url, _ = livekit_server
    teacher = signed_in(browser, url, "wang.xiaoyan")
    teacher.context.add_init_script(COUNT_CAMERAS)
    tries = sum(1 for r in listener.noted if _is(r, TEACHER))
    teacher.goto(f"{url}/teach/{livekit_server[1]}")
    # livekit-client asks twice per join (its own second attempt): three joins
    deadline = time.monotonic() + 30
    while sum(1 for r in listener.noted if _is(r, TEACHER)) < tries + 6:
        assert time.monotonic() < deadline, "the teacher page did not try again"
        teacher.wait_for_timeout(200)
    streams = teacher.evaluate(
        """() => window.cameraStreams.map((s) =>
             s.getTracks().filter((t) => t.readyState === "live").length)"""
    )
    assert streams == [2]  # one camera (video and audio), still live
    assert (
        teacher.evaluate(
            "() => document.getElementById('preview').srcObject.getVideoTracks()[0].readyState"
        )
        == "live"
    )
    teacher.context.close()


def _is(request: Request, identity: str) -> bool:
    if not request.path.startswith("/rtc") or "access_token" not in request.query:
        return False
    return TokenVerifier(KEY, SECRET).verify(request.query["access_token"][0]).identity == identity


def test_a_page_without_the_livekit_client_says_what_to_install(
    browser: Any, livekit_server: tuple[str, str]
) -> None:
    from playwright.sync_api import expect

    url, lesson = livekit_server
    teacher = signed_in(browser, url, "wang.xiaoyan")
    # as if node_modules had not been installed on the server
    teacher.route(f"**{BUNDLE_URL}", lambda route: route.fulfill(status=404, body="not found"))
    teacher.goto(f"{url}/teach/{lesson}")
    expect(teacher.locator("#message")).to_contain_text(NO_CLIENT, timeout=20_000)
    expect(teacher.locator("#message")).to_contain_text("npm ci")
    teacher.screenshot(path=ARTIFACTS / "livekit-teach-no-client-1366.png")


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("embedded-pages")
    with lesson_server(data, SANKE_MEDIA_LOOPBACK="1") as (url, lesson, _):
        yield url, lesson


def test_with_the_embedded_sfu_the_pages_keep_its_client(
    browser: Any, embedded_server: tuple[str, str]
) -> None:
    url, lesson = embedded_server
    ARTIFACTS.mkdir(exist_ok=True)
    teacher = signed_in(browser, url, "wang.xiaoyan")
    teacher.goto(f"{url}/teach/{lesson}")
    teacher.wait_for_function("window.sankeMedia && window.sankeMedia.state === 'joined'",
                              timeout=20_000)  # fmt: skip
    assert teacher.evaluate("window.sankeMedia instanceof SankeMedia")
    assert clients(teacher) == {"livekit": False, "liveKitMedia": False, "sankeMedia": True}
    scripts = loaded_scripts(teacher)
    assert "/media/client.js" in scripts and BUNDLE_URL not in scripts
    assert "/static/livekit-media.js" not in scripts
    teacher.screenshot(path=ARTIFACTS / "embedded-teach-sankemedia-1366.png")
