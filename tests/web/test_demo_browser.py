"""``sanke demo`` shows a working patrol wall within a minute: lessons live now, their
classrooms simulated, in real headless Chromium."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.web.processes import sanke_env, sanke_server
from tests.web.test_live_browser import signed_in, wait_playing
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def test_a_newcomer_sees_live_lessons_on_the_patrol_wall_within_a_minute(
    browser: object, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port))  # as `make demo` runs it
    with sanke_server("demo", env=env, port=port):
        inspector = signed_in(browser, url, "li.xunke", 1920, 1080)
        inspector.goto(f"{url}/patrol")
        inspector.select_option("#rotate", "0")  # the page stays put while the test looks
        inspector.select_option("#per-page", "16")
        # the two demo lessons are live; in school hours the demo timetable's own lessons
        # of the hour wait for their teachers too, after the live ones
        tiles = inspector.locator(".lesson-tile")
        expect(tiles.filter(has_text="直播中")).to_have_count(2, timeout=60_000)
        for n in range(2):
            expect(tiles.nth(n)).to_contain_text("直播中", timeout=30_000)
            lesson = tiles.nth(n).get_attribute("data-lesson")
            wait_playing(inspector, f'.lesson-tile[data-lesson="{lesson}"] video')
        for n in range(2):  # every simulated classroom is in (the plan decides how many)
            expect(tiles.nth(n)).to_contain_text(re.compile(r"接收端 (\d+)/\1"), timeout=30_000)
        seconds = time.monotonic() - began
        inspector.screenshot(path=ARTIFACTS / "demo-patrol-1920.png")
        (ARTIFACTS / "demo-patrol-time.json").write_text(json.dumps({"seconds": seconds}))
        # the demo teacher takes over the simulated teacher's seat
        teacher = signed_in(browser, url, "wang.xiaoyan")
        teacher.goto(f"{url}/lessons")
        teacher.locator("#today tr.state-live a.button-link").first.click()
        expect(teacher.locator("#state")).to_have_text("直播中", timeout=20_000)
        wait_playing(teacher, ".tile.receiver video")
        teacher.screenshot(path=ARTIFACTS / "demo-teacher-1366.png")
