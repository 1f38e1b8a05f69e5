"""Headless Chromium publishes and subscribes through the embedded SFU (``sanke demo``).

Fake camera and microphone; host candidates pinned to loopback on both sides (the
server with SANKE_MEDIA_LOOPBACK, Chromium with --allow-loopback-in-peer-connection).
The test reads ``getStats()`` in each page and asserts decoded frames.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from media.grants import sign_grant
from rooms.media_grants import media_grant
from tests.web.processes import ROOT, media_demo
from tests.web.test_pages_browser import CHROMIUM_ARGS, launch_chromium
from web.services import media_secret

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
MEDIA_ARGS = [
    *CHROMIUM_ARGS,
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
SECRET = secrets.token_urlsafe(48)


@pytest.fixture(scope="module")
def media_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with media_demo(tmp_path_factory.mktemp("media"), SECRET) as (url, _env):
        yield url


@pytest.fixture(scope="module")
def media_browser() -> Iterator[object]:
    yield from launch_chromium(MEDIA_ARGS)


def token(room: str, identity: str, role: str, name: str) -> str:
    now = datetime.now(UTC)
    return sign_grant(media_grant(room, identity, role, name, now), media_secret(SECRET), now)


def inbound_video(page: Any) -> list[dict[str, Any]]:
    stats: dict[str, list[dict[str, Any]]] = page.evaluate("sanke.stats()")
    return [s for s in stats["inbound"] if s["kind"] == "video"]


def wait_for_frames(page: Any, frames: int, seconds: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    video: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        video = inbound_video(page)
        if video and max(s["framesDecoded"] for s in video) >= frames:
            return video
        page.wait_for_timeout(500)
    pytest.fail(f"no {frames} decoded frames within {seconds} s: {video}")


def test_chromium_teacher_and_classroom_see_each_other(
    media_browser: object, media_url: str
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(media_browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    teacher = media_browser.new_page(viewport={"width": 1366, "height": 768})
    teacher.goto(
        f"{media_url}/media/lab?publish=1#token="
        + token("lesson-7", "teacher-li", "teacher", "李老师")
    )
    expect(teacher.locator("#status")).to_have_text("已连接", timeout=20_000)
    classroom = media_browser.new_page(viewport={"width": 1366, "height": 768})
    classroom.goto(
        f"{media_url}/media/lab?publish=1#token="
        + token("lesson-7", "room-yangshuwan", "receiving_classroom", "杨树湾教学点")
    )
    expect(classroom.locator("#status")).to_have_text("已连接", timeout=20_000)
    expect(classroom.locator("#tile-teacher-li figcaption")).to_have_text("李老师", timeout=20_000)

    at_classroom = wait_for_frames(classroom, 60)
    at_teacher = wait_for_frames(teacher, 60)  # the classroom camera reaches the teacher
    assert any(s["frameWidth"] > 0 for s in at_classroom + at_teacher)
    # it starts on the low layer; Chromium's REMB shows room for the high one
    deadline = time.monotonic() + 20
    widths: list[int] = []
    while time.monotonic() < deadline:
        widths = [s["frameWidth"] for s in inbound_video(classroom)]
        if 640 in widths:
            break
        classroom.wait_for_timeout(500)
    assert 640 in widths, f"still {widths} after 20 s"
    # the classroom's microphone is not granted until it is called on, and it says so
    expect(classroom.locator("#info")).to_have_text("麦克风将在老师点名发言时开启。")
    assert classroom.locator("#message").inner_text() == ""
    teacher_sees = [t["source"] for t in teacher.evaluate("sanke.tracks")]
    assert sorted(teacher_sees) == ["camera"]
    classroom.screenshot(path=ARTIFACTS / "media-lab-classroom-1366.png")
    teacher.screenshot(path=ARTIFACTS / "media-lab-teacher-1366.png")

    # the classroom's network drops: the page rejoins by itself and video is back at once
    at_teacher_before = max(s["framesDecoded"] for s in inbound_video(teacher))
    classroom.evaluate("sanke.ws.close()")
    expect(classroom.locator("#status")).to_have_text("网络中断，正在重连…", timeout=5_000)
    expect(classroom.locator("#status")).to_have_text("已连接", timeout=15_000)
    rejoined = time.monotonic()
    wait_for_frames(classroom, 1, seconds=10)
    back_after = time.monotonic() - rejoined
    assert back_after < 2.0, f"video back {back_after:.2f} s after rejoining"
    wait_for_frames(teacher, at_teacher_before + 30, seconds=15)  # the classroom is back too
    teacher.close()
    classroom.close()


def test_a_bad_token_shows_a_clear_chinese_message(media_browser: object, media_url: str) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(media_browser, Browser)
    page = media_browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{media_url}/media/lab#token=forged")
    expect(page.locator("#message")).to_have_text(
        "媒体令牌无效或已过期，请重新打开课堂页面。", timeout=10_000
    )
    page.screenshot(path=ARTIFACTS / "media-lab-bad-token.png")
    page.close()
