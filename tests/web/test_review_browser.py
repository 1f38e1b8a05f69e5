"""The review page in real headless Chromium against ``sanke serve``, on a lesson really
recorded through the SFU: the researcher finds it in the list, plays it (every track in
step with the lesson clock), changes speed, seeks on the timeline and by thumbnail, adds
a comment and sees it on the timeline, and script in a comment stays text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from scheduler.store import DirectoryStore
from tests.conftest import free_port
from tests.web.processes import sanke_env, sanke_server
from tests.web.review_fixtures import recorded_lesson
from tests.web.test_live_browser import signed_in
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium
from web import demo
from web.database import make_engine, upgrade

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def prepare(data: Path, assets: Path) -> str:
    """The demo county and a lesson that ended 10 minutes ago, recorded and processed."""
    engine = make_engine(f"sqlite:///{data / 'sanke.db'}")
    upgrade(engine)
    identity = IdentityService(IdentityStore(engine), PasswordHasher())
    demo.install(DirectoryStore(engine), identity, datetime.now(UTC))
    lesson = recorded_lesson(engine, data, assets)
    engine.dispose()
    return lesson


def clock(page: Any) -> float:
    return float(page.evaluate("window.sankeReview.lessonTime()"))


def drift(page: Any) -> dict[str, float]:
    """How far each playing element is from where the lesson clock puts it."""
    doc = page.evaluate(
        """() => {
        const r = window.sankeReview, t = r.lessonTime(), out = {};
        for (const [name, el] of Object.entries(r.media)) {
          const track = (r.tracks || {})[name];
          if (!el || !track || el.paused || el.readyState < 2) continue;
          out[name] = Math.abs(el.currentTime - (t - track.offset));
        }
        return out;
      }"""
    )
    return {str(k): float(v) for k, v in doc.items()}


def test_a_researcher_reviews_a_recorded_lesson(
    browser: object, tmp_path: Path, recorded_assets: Path
) -> None:
    from playwright.sync_api import expect

    lesson = prepare(tmp_path, recorded_assets)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port), SANKE_ENV="development")
    ARTIFACTS.mkdir(exist_ok=True)
    figures: dict[str, Any] = {}
    with sanke_server("serve", env=env, port=port):
        page = signed_in(browser, url, "zhou.jiaoyan")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/recordings")
        expect(page.locator("body")).to_contain_text("英语")
        page.screenshot(path=ARTIFACTS / "review-list-1366.png")
        page.locator(f'a[href="/review/{lesson}"]').first.click()
        page.wait_for_url(f"{url}/review/{lesson}")
        expect(page.locator("#video-teacher")).to_be_visible()
        page.wait_for_function(
            "document.querySelector('#video-teacher').readyState >= 2", timeout=15_000
        )

        # play: the clock runs and every track keeps step with it
        page.click("#play")
        page.wait_for_timeout(2500)
        played = clock(page)
        assert played > 1.0, played
        figures["drift_s_at_1x"] = drift(page)
        assert figures["drift_s_at_1x"] and max(figures["drift_s_at_1x"].values()) < 0.5

        # speed 2x applies to every element
        page.select_option("#speed", "2")
        rates = page.evaluate(
            "Object.values(window.sankeReview.media).filter(Boolean).map(e => e.playbackRate)"
        )
        assert rates and set(rates) == {2}
        page.click("#play")  # pause

        # seek on the timeline: a click at 25 % of its width is 25 % of the lesson
        duration = float(page.evaluate("window.sankeReview.duration || 0")) or 14.0
        box = page.locator("#timeline").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
        expect(page.locator("#hover-thumb")).to_be_visible()
        page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
        page.wait_for_timeout(500)
        assert abs(clock(page) - 0.25 * duration) < 1.0, (clock(page), duration)
        teacher_time = float(page.evaluate("document.querySelector('#video-teacher').currentTime"))
        assert abs(teacher_time - 0.25 * duration) < 1.0

        # a thumbnail seeks too
        thumbs = page.locator("#thumbs .thumb")
        assert thumbs.count() >= 2  # every 10 s
        thumbs.nth(1).click()
        page.wait_for_timeout(300)
        offset = float(page.evaluate("window.sankeReview.tracks.teacher.offset"))
        assert abs(clock(page) - (10.0 + offset)) < 0.3, (clock(page), offset)

        # comment at 4 s: it shows in the list and as a marker on the timeline
        page.evaluate("window.sankeReview.seek(4)")
        page.click("#comment-now")
        page.fill("#comment-text", "<b>板书清晰</b>，远端学生参与充分")
        page.select_option("#comment-category", "strength")
        page.select_option("#comment-visibility", "all")
        page.click("#comment-submit")
        comment = page.locator("#comments .comment").first
        expect(comment).to_contain_text("<b>板书清晰</b>", timeout=5_000)  # text, not markup
        assert page.locator("#comments .comment b").count() == 0
        marker = page.locator("#markers .marker")
        expect(marker).to_have_count(1)
        page.evaluate("window.sankeReview.seek(10)")
        marker.first.click()
        page.wait_for_timeout(300)
        assert abs(clock(page) - 4.0) < 0.6, clock(page)
        # a bad comment says why, in Chinese, and keeps what was typed
        page.fill("#comment-at", "99:00")
        page.fill("#comment-text", "超出范围")
        page.click("#comment-submit")
        expect(page.locator("#form-error")).to_contain_text("录像时长", timeout=5_000)
        expect(page.locator("#comment-text")).to_have_value("超出范围")
        page.screenshot(path=ARTIFACTS / "review-1366.png")

        # side by side, on a large screen
        wide = signed_in(browser, url, "zhou.jiaoyan", 1920, 1080)
        wide.goto(f"{url}/review/{lesson}")
        wide.wait_for_function(
            "document.querySelector('#video-teacher').readyState >= 2", timeout=15_000
        )
        wide.click("#layout")
        wide.click("#play")
        wide.wait_for_timeout(2000)
        expect(wide.locator("#video-screen")).to_be_visible()
        figures["drift_s_side_by_side"] = drift(wide)
        wide.screenshot(path=ARTIFACTS / "review-side-by-side-1920.png")
        wide.click("#play")

        # the printable record has the comment
        page.goto(f"{url}/review/{lesson}/print")
        expect(page.locator("body")).to_contain_text("<b>板书清晰</b>")
        page.screenshot(path=ARTIFACTS / "review-print-1366.png", full_page=True)
        assert errors == []  # no script error on any page
    (ARTIFACTS / "review-figures.json").write_text(json.dumps(figures, indent=2))
