"""A live lesson through a real LiveKit server, in real headless Chromium: the teacher
console publishes, a classroom kiosk plays the teacher, the teacher sees the classroom,
and a classroom called on gets its microphone from LiveKit's permission.

Runs when ``SANKE_LIVEKIT_URL``, ``SANKE_LIVEKIT_API_KEY`` and ``SANKE_LIVEKIT_API_SECRET``
name one that this machine's browser reaches, e.g. ``livekit-server --dev`` (key
``devkey``, secret ``secret``)::

    SANKE_LIVEKIT_URL=ws://127.0.0.1:7880 SANKE_LIVEKIT_API_KEY=devkey \\
    SANKE_LIVEKIT_API_SECRET=secret .venv/bin/pytest tests/web/test_livekit_server_browser.py

Otherwise the module is skipped, also in CI: no LiveKit server is installed there
(as ``tests/media/test_livekit_server.py``). Without one, ``test_livekit_browser.py``
checks that the pages pick livekit-client and try LiveKit with the right token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from rooms.quality_report import parse_report
from tests.web.test_live_browser import signed_in, wait_playing
from tests.web.test_livekit_browser import lesson_server
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium

URL = os.environ.get("SANKE_LIVEKIT_URL", "")
KEY = os.environ.get("SANKE_LIVEKIT_API_KEY", "")
SECRET = os.environ.get("SANKE_LIVEKIT_API_SECRET", "")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (URL and KEY and SECRET),
        reason="no LiveKit server: set SANKE_LIVEKIT_URL, SANKE_LIVEKIT_API_KEY and "
        "SANKE_LIVEKIT_API_SECRET to run these (not required in CI)",
    ),
]

TEACHER = "teacher:cs-qingxi-shiyan-t1"
CLASSROOM = "tp-yangshuwan-r1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with lesson_server(tmp_path_factory.mktemp("livekit-live"), SANKE_MEDIA_BACKEND="livekit",
                       SANKE_LIVEKIT_URL=URL, SANKE_LIVEKIT_API_KEY=KEY,
                       SANKE_LIVEKIT_API_SECRET=SECRET) as (url, lesson, _):  # fmt: skip
        yield url, lesson


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def joined(page: Any) -> None:
    page.wait_for_function(
        "window.sankeMedia instanceof LiveKitMedia && window.sankeMedia.state === 'joined'",
        timeout=30_000,
    )


def test_a_lesson_through_livekit(browser: Any, server: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    url, lesson = server
    ARTIFACTS.mkdir(exist_ok=True)
    teacher = signed_in(browser, url, "wang.xiaoyan")
    teacher.goto(f"{url}/teach/{lesson}")
    joined(teacher)
    assert teacher.evaluate("window.sankeMedia.identity") == TEACHER

    kiosk = signed_in(browser, url, "yangshuwan.room1")
    kiosk.goto(f"{url}/receive/{CLASSROOM}")
    joined(kiosk)
    wait_playing(kiosk, "#teacher", seconds=30)  # videoWidth > 0 and frames rising
    roles = kiosk.evaluate("window.sankeMedia.participants.map((p) => [p.identity, p.role])")
    assert [TEACHER, "teacher"] in roles
    tile = f'.tile.receiver[data-identity="classroom:{CLASSROOM}"]'
    wait_playing(teacher, f"{tile} video", seconds=30)

    # what the pages report is what the quality monitor reads
    report = kiosk.evaluate("window.sankeMedia.stats()")
    parsed = parse_report(report)
    teacher_camera = [s for s in parsed.inbound if s.source == f"{TEACHER}/camera"]
    assert teacher_camera and teacher_camera[0].packets_received > 0 and not teacher_camera[0].muted
    assert any(s.source == "camera" and s.packets_sent > 0 for s in parsed.outbound)
    assert kiosk.evaluate("window.sankeMedia.canPublish") == ["camera"]

    # called on: LiveKit's permission gives the classroom its microphone
    teacher.locator(f"{tile} button.call").click()
    expect(kiosk.locator("#speaking")).to_be_visible(timeout=20_000)
    kiosk.wait_for_function(
        "window.sankeMedia.canPublish.includes('microphone')"
        " && window.sankeMedia._published.some((p) => p.source === 'microphone')",
        timeout=20_000,
    )
    teacher.wait_for_function(
        f"window.sankeMedia.tracks.some((t) => t.id === 'classroom:{CLASSROOM}/microphone')",
        timeout=20_000,
    )
    kiosk.screenshot(path=ARTIFACTS / "livekit-receive-live-1366.png")
    teacher.screenshot(path=ARTIFACTS / "livekit-teach-live-1366.png")
