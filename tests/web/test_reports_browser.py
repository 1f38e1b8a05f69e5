"""The report pages in real headless Chromium against ``sanke serve``, on known lesson facts
(tests/web/report_fixtures.py): the county admin opens the dashboard from the menu, reads
the figures, drills down from the county to a township, a school and its lessons, opens the
printable progress report, and sees the dashboard in English."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from reports.store import FactStore
from scheduler.store import DirectoryStore
from tests.conftest import free_port
from tests.web.processes import sanke_env, sanke_server
from tests.web.report_fixtures import install_facts, today_in_beijing
from tests.web.test_live_browser import signed_in
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium
from web import demo
from web.database import make_engine, upgrade

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def prepare(data: Path) -> None:
    """The demo county and the known facts, in the database ``sanke serve`` will open."""
    engine = make_engine(f"sqlite:///{data / 'sanke.db'}")
    upgrade(engine)
    identity = IdentityService(IdentityStore(engine), PasswordHasher())
    demo.install(DirectoryStore(engine), identity, datetime.now(UTC))
    install_facts(FactStore(engine), today_in_beijing())
    engine.dispose()


def fits(page: Any) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling of the page."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_an_admin_reads_the_indicators_and_drills_down_to_the_lessons(
    browser: object, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    prepare(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port), SANKE_ENV="development")
    ARTIFACTS.mkdir(exist_ok=True)
    with sanke_server("serve", env=env, port=port):
        page = signed_in(browser, url, "admin")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.get_by_role("link", name="报表", exact=True).click()
        page.wait_for_url(f"{url}/reports")

        # the county: the figures worked out in report_fixtures
        expect(page.locator("h1")).to_have_text("三个课堂应用指标")
        expect(page.locator("#figure-rate .figure-label")).to_have_text("开课率")
        expect(page.locator("#figure-rate .figure-value")).to_have_text("75.0%")
        expect(page.locator("#figure-rate .figure-detail")).to_have_text("实开 6 节 / 应开 8 节")
        expect(page.locator("#figure-on_time .figure-value")).to_have_text("84.6%")
        expect(page.locator("#figure-patrol .figure-value")).to_have_text("25.0%")
        expect(page.locator("#figure-research .figure-detail")).to_contain_text("平均分 4.5")
        trend = page.locator("#trend svg")
        expect(trend).to_be_visible()
        expect(trend.locator("text", has_text="100.0%").first).to_be_visible()
        expect(trend.locator("text", has_text="50.0%").first).to_be_visible()
        rows = page.locator("#group-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("石门镇")
        expect(rows.nth(0)).to_contain_text("100.0%")
        expect(rows.nth(1)).to_contain_text("柳河乡")
        expect(rows.nth(1)).to_contain_text("33.3%")
        expect(page.locator("#reasons")).to_contain_text("主讲教师缺席")
        expect(page.locator("#reasons")).to_contain_text("平台未开课")
        longtan = page.locator('#points-table tr[data-school="tp-longtan"]')
        expect(longtan.locator(".badge.chronic")).to_have_text("长期问题")
        expect(page.locator("#workload")).to_contain_text("刘芳")
        assert fits(page)
        page.screenshot(path=ARTIFACTS / "reports-dashboard.png", full_page=True)
        page.locator("#trend").screenshot(path=ARTIFACTS / "reports-trend.png")

        # county → township
        page.locator("#group-table a.drill", has_text="石门镇").click()
        page.wait_for_url("**/reports?*region=349921101*")
        expect(page.locator(".trail strong")).to_have_text("石门镇")
        expect(page.locator("#figure-rate .figure-value")).to_have_text("100.0%")
        expect(page.locator("#group-table")).to_contain_text("石门镇中心小学")
        assert fits(page)
        page.screenshot(path=ARTIFACTS / "reports-township.png", full_page=True)

        # township → school
        page.locator("#group-table a.drill", has_text="石门镇中心小学").click()
        page.wait_for_url("**/reports?*school=cs-shimen*")
        expect(page.locator(".trail strong")).to_have_text("石门镇中心小学")
        expect(page.locator("#group-table tbody tr")).to_have_count(1)
        expect(page.locator("#group-table")).to_contain_text("刘芳")
        assert fits(page)
        page.screenshot(path=ARTIFACTS / "reports-school.png", full_page=True)

        # school → its lessons, the recorded one linked to its review page
        page.click("#lessons-link")
        page.wait_for_url("**/reports/lessons?*school=cs-shimen*")
        lessons = page.locator("#lessons tbody tr")
        expect(lessons).to_have_count(5)
        expect(lessons.first).to_contain_text("08:00")
        expect(lessons.first).to_contain_text("已开课")
        expect(page.locator('#lessons a[href="/review/S1"]')).to_have_text("回看")
        expect(page.locator('#lessons tr[data-lesson="S4"]')).to_contain_text("1 / 2")
        assert fits(page)
        page.screenshot(path=ARTIFACTS / "reports-lessons.png", full_page=True)

        # the lessons not held, from the county's reasons
        page.goto(f"{url}/reports")
        page.click("#not-held-link")
        expect(page.locator("#lessons tbody tr")).to_have_count(2)
        expect(page.locator("#lessons")).to_contain_text("未开课：主讲教师缺席")
        expect(page.locator("#lessons")).to_contain_text("未开课：平台未开课")

        # the progress report, as it prints
        page.goto(f"{url}/reports")
        page.click("#progress-link")
        page.wait_for_url("**/reports/progress?*")
        expect(page.locator("h1")).to_have_text("青溪县三个课堂应用进展报告")
        expect(page.locator("#figure-rate")).to_contain_text("75.0%")
        expect(page.locator("#problems")).to_contain_text("未开课的课（2 节）")
        expect(page.locator("#problems")).to_contain_text("长期接收质量问题的教学点（1 个）")
        expect(page.locator("#problems-chronic")).to_contain_text("龙潭教学点")
        expect(page.locator("#problems-inspections")).to_contain_text("音视频质量 2")
        page.screenshot(path=ARTIFACTS / "reports-progress.png", full_page=True)
        page.emulate_media(media="print")
        expect(page.locator(".toolbar")).to_be_hidden()
        page.emulate_media(media="screen")

        # in English, the same figures
        page.goto(f"{url}/reports?lang=en")
        expect(page.locator("h1")).to_have_text("Three-classrooms indicators")
        expect(page.locator("#figure-rate .figure-label")).to_have_text("Lessons held")
        expect(page.locator("#figure-rate .figure-value")).to_have_text("75.0%")
        expect(page.locator("#reasons")).to_contain_text("Teacher absent")
        assert fits(page)
        page.screenshot(path=ARTIFACTS / "reports-dashboard-en.png", full_page=True)
        page.goto(f"{url}/reports?lang=zh-CN")
        assert errors == []
