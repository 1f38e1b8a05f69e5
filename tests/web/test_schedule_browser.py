"""The schedule pages in real headless Chromium: upload with an error table, solve with a
progress bar, the weekly grids, publish and repair. Screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.export import write_input
from tests.web.test_pages_browser import ARTIFACTS, browser, demo_url, sign_in
from web.demo import county

pytestmark = pytest.mark.browser
__all__ = ["browser", "demo_url"]  # fixtures, shared with the other page tests


def test_an_admin_imports_plans_publishes_and_repairs(
    browser: object, demo_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    good = tmp_path / "good"
    write_input(county(), good)
    bad = tmp_path / "bad"
    write_input(county(), bad)
    teachers = bad / "teachers.csv"
    teachers.write_text(
        teachers.read_text(encoding="utf-8-sig") + "t-x,王老师,cs-nowhere,英语,3,-2\n",
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, demo_url, "admin")
    page.click("header >> text=课表")
    expect(page.locator("h1")).to_have_text("排课与课表")

    page.set_input_files("input[name=files]", sorted(bad.glob("*.csv")))
    page.click("form[action='/schedule/import'] button")
    expect(page.locator(".error")).to_contain_text("未导入任何数据")
    rows = page.locator("#problems tbody tr")
    expect(rows).to_have_count(2)  # the unknown school and the negative cap
    expect(rows.first).to_contain_text("teachers.csv")
    page.screenshot(path=ARTIFACTS / "schedule-import-errors-zh-1366.png", full_page=True)

    page.set_input_files("input[name=files]", sorted(good.glob("*.csv")))
    page.click("form[action='/schedule/import'] button")
    expect(page.locator(".ok")).to_contain_text("导入成功")

    page.fill("input[name=time_limit]", "3")
    page.click("form[action='/schedule/solve'] button")
    expect(page.locator("progress#bar")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "schedule-progress-zh-1366.png")
    page.wait_for_url("**/schedule/plans/*", timeout=30_000)  # the page follows the run
    expect(page.locator("table#week")).to_be_visible()
    expect(page.locator("table#week td .lesson").first).to_be_visible()
    expect(page.locator(".ok").first).to_contain_text("所有需求均已满足")
    page.screenshot(path=ARTIFACTS / "schedule-plan-zh-1366.png", full_page=True)

    page.select_option("select[name=view]", "class")
    page.select_option("select[name=of]", "tp-yangshuwan-g3")
    page.click("form#pick button")
    expect(page.locator("#grid-title")).to_contain_text("杨树湾教学点")

    page.fill("form#publish input[name=term_start]", "2027-03-01")
    page.fill("form#publish input[name=term_end]", "2027-07-02")
    page.click("form#publish button")
    expect(page.locator("[role=status]")).to_contain_text("已发布")

    page.fill("form#repair input[name=from]", "2027-03-08")
    page.fill("form#repair input[name=to]", "2027-03-12")
    page.click("form#repair button")
    expect(page.locator("[role=status]")).to_contain_text("调课完成")
    expect(page.locator("h1")).to_contain_text("调课")
    page.screenshot(path=ARTIFACTS / "schedule-repair-zh-1366.png", full_page=True)

    page.goto(page.url.split("?")[0] + "?lang=en")
    expect(page.locator("h1")).to_contain_text("Repair")
    page.screenshot(path=ARTIFACTS / "schedule-plan-en-1366.png", full_page=True)
    page.goto(f"{demo_url}/schedule?lang=zh-CN")
    page.close()
