"""The research groups page in real headless Chromium against ``sanke serve``, on a lesson
really recorded through the SFU: the county researcher sets up a group, finds and adds the
teacher, shares the recorded lesson and starts a review session due next week; the teacher
then finds the session on her groups page and follows it to the review page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.web.processes import sanke_env, sanke_server
from tests.web.test_live_browser import signed_in
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM_ARGS, launch_chromium
from tests.web.test_review_browser import prepare
from web.pages import BEIJING

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def test_a_researcher_sets_up_a_group_and_its_member_reviews_the_session(
    browser: object, tmp_path: Path, recorded_assets: Path
) -> None:
    from playwright.sync_api import expect

    lesson = prepare(tmp_path, recorded_assets)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port), SANKE_ENV="development")
    next_week = (datetime.now(BEIJING) + timedelta(days=7)).date().isoformat()
    ARTIFACTS.mkdir(exist_ok=True)
    with sanke_server("serve", env=env, port=port):
        page = signed_in(browser, url, "zhou.jiaoyan")
        page.goto(f"{url}/recordings")
        page.click("#groups-link")
        page.wait_for_url(f"{url}/groups")
        expect(page.locator("#groups")).to_contain_text("还没有研修组")

        # a name of blanks is refused by the server, and the page says why
        page.fill("#group-name", "   ")
        page.click("#create-group button[type=submit]")
        alert = page.locator("#groups-error[role=alert]")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text("请填写名称")
        page.screenshot(path=ARTIFACTS / "groups-refused-1366.png")
        page.fill("#group-name", "青溪县小学英语研修组")
        page.click("#create-group button[type=submit]")
        card = page.locator("section.group", has_text="青溪县小学英语研修组")
        expect(card).to_be_visible()
        expect(alert).to_be_hidden()
        expect(card.locator(".group-head")).to_contain_text("您是组长")
        expect(card.locator(".members li")).to_have_count(1)
        expect(card.locator(".members li").first).to_contain_text("组长")
        assert card.locator(".members .remove").count() == 0  # not the lead herself

        # find the teacher by her name, add her
        card.locator(".candidate-search").fill("晓燕")
        found = card.locator(".candidates li", has_text="王晓燕")
        expect(found).to_be_visible()
        expect(found).to_contain_text("wang.xiaoyan")
        found.get_by_role("button", name="添加王晓燕").click()
        expect(card.locator(".members li", has_text="王晓燕")).to_be_visible()
        expect(page.locator("#groups-status")).to_contain_text("已添加王晓燕")
        expect(card.locator(".candidates li", has_text="王晓燕")).to_have_count(0)
        expect(card.locator(".members li", has_text="王晓燕").locator(".remove")).to_be_visible()

        # share the recorded lesson
        card.locator(f'form.share input[value="{lesson}"]').check()
        card.locator("form.share button[type=submit]").click()
        expect(card.locator(f'.shared a[href="/review/{lesson}"]')).to_contain_text("英语")

        # a session with nothing to review is refused on the page; then a real one
        session = card.locator("form.session")
        expect(session).to_be_visible()
        session.locator("input[name=title]").fill("<b>第十二周</b>英语评课")
        session.locator("input[name=deadline]").fill(next_week)
        session.locator("button[type=submit]").click()
        expect(alert).to_contain_text("请至少勾选一节课例")
        session.locator(f'input[value="{lesson}"]').check()
        session.locator("button[type=submit]").click()
        row = card.locator("table.sessions tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("<b>第十二周</b>英语评课")  # text, not markup
        assert card.locator("table.sessions b").count() == 0
        expect(row).to_contain_text(f"{next_week} 23:59")
        expect(row).to_contain_text("进行中")
        expect(row.locator(f'a[href="/review/{lesson}"]')).to_be_visible()
        expect(alert).to_be_hidden()
        page.screenshot(path=ARTIFACTS / "groups-1366.png", full_page=True)

        # the teacher sees the group read-only and the session still to do
        teacher = signed_in(browser, url, "wang.xiaoyan")
        teacher.get_by_role("link", name="研修组", exact=True).click()
        teacher.wait_for_url(f"{url}/groups")
        mine = teacher.locator("section.group", has_text="青溪县小学英语研修组")
        expect(mine).to_contain_text("组长：周雯")
        expect(mine).to_contain_text("只有组长可以")
        assert mine.locator(".candidate-search, form.share, form.session, .remove").count() == 0
        her_row = mine.locator("table.sessions tbody tr")
        expect(her_row).to_contain_text("未完成")
        teacher.screenshot(path=ARTIFACTS / "groups-member-1366.png", full_page=True)
        her_row.locator(f'a[href="/review/{lesson}"]').click()
        teacher.wait_for_url(f"{url}/review/{lesson}")
        expect(teacher.locator("h1")).to_contain_text("英语")

        # in English, the same page
        teacher.goto(f"{url}/groups?lang=en")
        expect(teacher.locator("h1")).to_contain_text("Research groups")
        expect(mine.locator("table.sessions tbody tr")).to_contain_text("To do")

        # the county admin, not a member, may change the group and sees its session
        admin = signed_in(browser, url, "admin")
        admin.goto(f"{url}/groups?lang=en")
        theirs = admin.locator("section.group", has_text="青溪县小学英语研修组")
        expect(theirs).to_contain_text("Lead: 周雯")
        expect(theirs.locator(".candidate-search")).to_be_visible()
        expect(theirs.locator("table.sessions tbody tr")).to_contain_text("Open")
        admin.screenshot(path=ARTIFACTS / "groups-admin-en-1366.png", full_page=True)
        admin.once("dialog", lambda dialog: dialog.accept())
        theirs.get_by_role("button", name="Remove 王晓燕 from the group").click()
        expect(theirs.locator(".members li")).to_have_count(1)
        expect(admin.locator("#groups-status")).to_contain_text("王晓燕 has left the group.")
