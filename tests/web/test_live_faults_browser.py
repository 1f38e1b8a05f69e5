"""Faults in a live lesson, in real headless Chromium against ``sanke serve``.

A second device for one classroom, a media token that stops working, a teacher who
closes the tab, the server restarted mid-lesson, the lesson ended: each page comes
back by itself where it can, and says what is wrong in Chinese where it cannot.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.web.processes import sanke_env, sanke_server
from tests.web.test_live_browser import frames, prepare, signed_in, wait_playing
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def still_playing(page: Any, selector: str, seconds: float = 20) -> None:
    """Decoded frames rise again from now on (after a fault)."""
    before = frames(page, selector)["decoded"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if frames(page, selector)["decoded"] > before + 10:
            return
        page.wait_for_timeout(300)
    pytest.fail(f"{selector} stopped at {before} frames")


def test_faults_in_a_live_lesson(browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    lesson = prepare(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port), SANKE_ENV="development",
                    SANKE_MEDIA_LOOPBACK="1")  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    figures: dict[str, float] = {}
    with sanke_server("serve", env=env, port=port):
        teacher = signed_in(browser, url, "wang.xiaoyan")
        teacher.goto(f"{url}/teach/{lesson}")
        expect(teacher.locator("#state")).to_have_text("直播中", timeout=20_000)
        kiosk = signed_in(browser, url, "yangshuwan.room1")
        kiosk.goto(f"{url}/receive/tp-yangshuwan-r1")
        wait_playing(kiosk, "#teacher")

        # a second device for the same classroom takes over; the first says so and stops
        second = signed_in(browser, url, "yangshuwan.room1")
        second.goto(f"{url}/receive/tp-yangshuwan-r1")
        wait_playing(second, "#teacher")
        expect(kiosk.locator("#notice")).to_contain_text("本教室已在另一台设备上进入课堂",
                                                         timeout=10_000)  # fmt: skip
        expect(kiosk.locator("#notice button")).to_have_text("在本机继续上课")
        kiosk.screenshot(path=ARTIFACTS / "live-kiosk-replaced-1366.png")
        kiosk.wait_for_timeout(3000)  # it does not fight back for the seat
        still_playing(second, "#teacher")
        kiosk.context.close()
        kiosk = second

        # its media token stops working: the page gets a new one and plays on
        kiosk.evaluate("window.sankeMedia.token = 'e30.e30.forged'; window.sankeMedia.ws.close()")
        still_playing(kiosk, "#teacher")

        # the teacher closes the tab: the room stays open and the classroom is told
        teacher.context.close()
        expect(kiosk.locator("#notice")).to_contain_text("主讲教师还没有进入", timeout=25_000)
        teacher = signed_in(browser, url, "wang.xiaoyan")
        began = time.monotonic()
        teacher.goto(f"{url}/teach/{lesson}")
        expect(teacher.locator("#state")).to_have_text("直播中", timeout=20_000)
        still_playing(kiosk, "#teacher")
        figures["teacher_back_s"] = time.monotonic() - began
        expect(kiosk.locator("#notice")).to_be_hidden(timeout=10_000)

    # the server restarts mid-lesson: every page rejoins by itself
    with sanke_server("serve", env=env, port=port):
        began = time.monotonic()
        still_playing(kiosk, "#teacher", seconds=30)
        figures["after_restart_s"] = time.monotonic() - began
        tile = teacher.locator('.tile.receiver[data-identity="classroom:tp-yangshuwan-r1"]')
        expect(tile.locator(".status")).to_contain_text("已进入", timeout=20_000)
        still_playing(teacher, '.tile.receiver[data-identity="classroom:tp-yangshuwan-r1"] video')

        # the teacher ends the lesson: every page says so, and nobody can join it again
        teacher.once("dialog", lambda dialog: dialog.accept())
        teacher.click("#end")
        expect(kiosk.locator("#notice")).to_contain_text("本节课已结束", timeout=10_000)
        expect(teacher.locator("#message")).to_contain_text("本节课已结束", timeout=10_000)
        kiosk.screenshot(path=ARTIFACTS / "live-kiosk-ended-1366.png")
        answer = kiosk.evaluate(
            """async (lesson) => {
              const r = await fetch(`/api/v1/lessons/${lesson}/token?classroom=tp-yangshuwan-r1`,
                                    {method: "POST"});
              return {status: r.status, body: await r.json()};
            }""",
            lesson,
        )
        assert answer["status"] == 409 and answer["body"]["message"] == "这节课已经结束。"
        kiosk.reload()
        expect(kiosk.locator("#notice")).to_contain_text("今天没有更多的课了", timeout=10_000)
        with urllib.request.urlopen(f"{url}/health", timeout=5) as health:
            assert health.status == 200
    (ARTIFACTS / "live-fault-times.json").write_text(json.dumps(figures, indent=2))
