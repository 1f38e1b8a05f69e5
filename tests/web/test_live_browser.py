"""A live lesson in real headless Chromium: a teacher console, three classroom kiosks
and an inspector on the patrol wall, against ``sanke serve`` with fake cameras.

Screenshots of each page go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from identity.authorize import scope_target
from identity.passwords import PasswordHasher
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor, IdentityService
from identity.store import IdentityStore
from identity.users import NewUser
from scheduler.store import DirectoryStore
from tests.conftest import free_port
from tests.web.live_fixtures import CLASSROOMS, lessons_now
from tests.web.processes import sanke_env, sanke_server
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium
from web import demo
from web.database import make_engine, upgrade
from web.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

DEVICES = {  # classroom -> its device account
    "tp-yangshuwan-r1": "yangshuwan.room1",
    "tp-taoyuan-r1": "taoyuan.room1",
    "tp-longtan-r1": "longtan.room1",
}


def prepare(data: Path) -> str:
    """The demo county, a device account per classroom, and a lesson started 5 minutes ago."""
    engine = make_engine(f"sqlite:///{data / 'sanke.db'}")
    upgrade(engine)
    identity = IdentityService(IdentityStore(engine), PasswordHasher())
    demo.install(DirectoryStore(engine), identity, datetime.now(UTC))
    for classroom, username in DEVICES.items():
        school = classroom.removesuffix("-r1")
        if username == "yangshuwan.room1":
            continue
        spec = NewUser(username, f"{school} 1 号教室", DEMO_PASSWORD, Role.RECEIVING_CLASSROOM,
                       Scope(school=school))  # fmt: skip
        home = DirectoryStore(engine).school(school)
        assert home is not None
        identity.create_user(Actor.cli(), spec, scope_target(spec.scope, home.region),
                             home.region, datetime.now(UTC))  # fmt: skip
    lesson = lessons_now(engine)[0].id
    engine.dispose()
    return lesson


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("live")
    lesson = prepare(data)
    port = free_port()
    env = sanke_env(SANKE_DATA_DIR=str(data), SANKE_PORT=str(port), SANKE_ENV="development",
                    SANKE_MEDIA_LOOPBACK="1")  # fmt: skip
    with sanke_server("serve", env=env, port=port):
        yield f"http://127.0.0.1:{port}", lesson, env


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def signed_in(browser: Any, url: str, username: str, width: int = 1366, height: int = 768) -> Any:
    """A page in its own browser context (its own cookies), signed in as ``username``."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page


def frames(page: Any, selector: str) -> dict[str, int]:
    return page.evaluate(  # type: ignore[no-any-return]
        """(selector) => {
          const v = document.querySelector(selector);
          if (!v) return {width: 0, decoded: 0};
          const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
          return {width: v.videoWidth, decoded: q.totalVideoFrames};
        }""",
        selector,
    )


def wait_playing(page: Any, selector: str, seconds: float = 30) -> dict[str, int]:
    """Until ``selector`` shows video whose decoded frames keep rising."""
    deadline = time.monotonic() + seconds
    first: dict[str, int] | None = None
    seen: dict[str, int] = {}
    while time.monotonic() < deadline:
        seen = frames(page, selector)
        if seen["width"] > 0:
            if first is None:
                first = seen
            elif seen["decoded"] > first["decoded"] + 5:
                return seen
        page.wait_for_timeout(300)
    pytest.fail(f"{selector} is not playing after {seconds} s: {seen}")


def microphones(page: Any) -> list[dict[str, Any]]:
    """What the page's microphone senders send: enabled, and packets so far."""
    return page.evaluate(  # type: ignore[no-any-return]
        """async () => {
          const out = [];
          if (!window.sankeMedia || !window.sankeMedia.pc) return out;
          for (const s of window.sankeMedia.pc.getSenders()) {
            if (!s.track || s.track.kind !== "audio") continue;
            out.push({enabled: s.track.enabled});
          }
          return out;
        }"""
    )


def snapshot(page: Any) -> dict[str, Any]:
    return page.evaluate("window.sankeLesson && window.sankeLesson.snapshot")  # type: ignore[no-any-return]


def wait_for(page: Any, script: str, seconds: float = 20) -> Any:
    page.wait_for_function(script, timeout=seconds * 1000)


def test_a_live_lesson_teacher_three_kiosks_and_a_hidden_inspector(
    browser: object, server: tuple[str, str, dict[str, str]]
) -> None:
    from playwright.sync_api import expect

    url, lesson, _ = server
    ARTIFACTS.mkdir(exist_ok=True)
    teacher = signed_in(browser, url, "wang.xiaoyan")
    teacher.goto(f"{url}/teach/{lesson}")
    expect(teacher.locator("#state")).to_have_text("直播中", timeout=20_000)

    kiosks: dict[str, Any] = {}
    joined_in: dict[str, float] = {}
    for classroom, username in DEVICES.items():
        page = signed_in(browser, url, username)
        began = time.monotonic()
        page.goto(f"{url}/receive/{classroom}")
        kiosks[classroom] = page
        wait_playing(page, "#teacher")
        joined_in[classroom] = time.monotonic() - began
    for page in kiosks.values():
        wait_playing(page, "#teacher")  # every kiosk plays the teacher's video
    # the teacher sees every classroom joined, with its camera
    for classroom in CLASSROOMS:
        tile = teacher.locator(f'.tile.receiver[data-identity="classroom:{classroom}"]')
        expect(tile.locator(".status")).to_contain_text("已进入", timeout=20_000)
        wait_playing(teacher, f'.tile.receiver[data-identity="classroom:{classroom}"] video')

    # pupils' faces go to the teacher, not to the other classrooms
    classrooms_seen = "window.sankeMedia.tracks.filter((t) => t.identity.startsWith('classroom:'))"
    for page in kiosks.values():
        assert page.evaluate(classrooms_seen) == []

    # a kiosk raises its hand; the teacher sees it and calls on that classroom
    first, second, third = CLASSROOMS
    kiosks[first].click("#hand")
    tile = teacher.locator(f'.tile.receiver[data-identity="classroom:{first}"]')
    expect(tile.locator(".status")).to_contain_text("举手", timeout=10_000)
    tile.locator("button.call").click()
    expect(kiosks[first].locator("#speaking")).to_be_visible(timeout=10_000)
    for other in (second, third):  # its video appears on the other two
        expect(kiosks[other].locator("#called-tile")).to_be_visible(timeout=10_000)
        wait_playing(kiosks[other], "#called-video")
        expect(kiosks[other].locator("#called-name")).to_have_text("杨树湾教学点")
    assert any(m["enabled"] for m in microphones(kiosks[first]))

    # the inspector sees the lesson on the patrol wall and nobody sees the inspector
    inspector = signed_in(browser, url, "li.xunke", 1920, 1080)
    inspector.goto(f"{url}/patrol")
    wall_tile = inspector.locator(f'.lesson-tile[data-lesson="{lesson}"]')
    expect(wall_tile).to_contain_text("青溪县实验小学", timeout=20_000)
    expect(wall_tile).to_contain_text("接收端 3/3", timeout=20_000)
    wait_playing(inspector, f'.lesson-tile[data-lesson="{lesson}"] video')
    teacher.wait_for_timeout(2000)
    for page in (teacher, *kiosks.values()):
        people = page.evaluate("window.sankeMedia.participants.map((p) => p.identity)")
        assert not any(p.startswith("inspector:") for p in people), people
    inspector.screenshot(path=ARTIFACTS / "live-patrol-1920.png")
    wall_tile.click()
    wait_playing(inspector, "#drop-teacher")
    inspector.locator("fieldset.score").first.locator("input[value='4']").check()
    inspector.fill("#notes", "课堂互动充分，接收端参与积极。")
    inspector.click("#inspection button[type=submit]")
    expect(inspector.locator("#inspection-result")).to_contain_text("已记录", timeout=10_000)
    inspector.screenshot(path=ARTIFACTS / "live-patrol-drop-in-1920.png")

    teacher.screenshot(path=ARTIFACTS / "live-teacher-1366.png")
    kiosks[second].screenshot(path=ARTIFACTS / "live-kiosk-called-on-other-1366.png")
    kiosks[first].screenshot(path=ARTIFACTS / "live-kiosk-speaking-1366.png")
    for page, name in ((teacher, "teacher"), (kiosks[second], "kiosk")):
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_timeout(500)
        page.screenshot(path=ARTIFACTS / f"live-{name}-1920.png")
        page.set_viewport_size({"width": 1366, "height": 768})
    teacher.goto(f"{url}/lessons?lang=en")
    expect(teacher.locator("#today")).to_contain_text("Live")
    teacher.screenshot(path=ARTIFACTS / "live-lessons-en-1366.png")
    teacher.goto(f"{url}/teach/{lesson}?lang=zh-CN")
    expect(teacher.locator("#state")).to_have_text("直播中", timeout=20_000)

    # mute all: every classroom microphone is closed
    teacher.click("#mute-all")
    expect(kiosks[first].locator("#speaking")).to_be_hidden(timeout=10_000)
    for page in kiosks.values():
        assert not any(m["enabled"] for m in microphones(page))

    # a kiosk whose page is reloaded rejoins by itself; how fast (target < 5 s) is a
    # figure for the note, written below, not an assertion: this machine is shared
    page = kiosks[third]
    began = time.monotonic()
    page.reload()
    wait_playing(page, "#teacher", seconds=15)
    rejoined = time.monotonic() - began
    (ARTIFACTS / "live-join-times.json").write_text(
        json.dumps({"join_s": joined_in, "reload_rejoin_s": rejoined}, indent=2)
    )
    for page in (teacher, inspector, *kiosks.values()):
        page.context.close()
