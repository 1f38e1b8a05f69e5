"""The pages in real headless Chromium (Debian's), against ``sanke demo``.

Screenshots go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, services_required
from tests.web.processes import ROOT, sanke_env, sanke_server
from web.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("demo")
    env = sanke_env(SANKE_DATA_DIR=str(data), SANKE_PORT=str(port))
    with sanke_server("demo", env=env, port=port):
        yield f"http://127.0.0.1:{port}"


def launch_chromium(args: list[str]) -> Iterator[object]:
    """Debian's Chromium, headless; a missing browser fails when CI requires it."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if services_required():
            pytest.fail("Chromium is not installed at /usr/bin/chromium")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium(CHROMIUM_ARGS)


def sign_in(page: Any, demo_url: str, username: str) -> None:
    page.goto(f"{demo_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_login_then_home_in_chinese_and_english(
    browser: object, demo_url: str, width: int, height: int
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{demo_url}/login")
    expect(page.locator("h1")).to_have_text("登录")
    page.screenshot(path=ARTIFACTS / f"login-zh-{width}.png")

    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong-2026")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("用户名或密码错误")

    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("欢迎，青溪县电教中心")
    expect(page.locator(".schools li")).to_have_count(16)
    page.screenshot(path=ARTIFACTS / f"home-zh-{width}.png", full_page=True)

    page.click("a.lang")
    expect(page.locator("h1")).to_have_text("Welcome, 青溪县电教中心")
    page.screenshot(path=ARTIFACTS / f"home-en-{width}.png", full_page=True)
    page.click("text=Sign out")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto(f"{demo_url}/login?lang=zh-CN")
    page.close()


def test_a_receiving_classroom_account_signs_in_and_sees_its_school(
    browser: object, demo_url: str
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, demo_url, "yangshuwan.room1")
    expect(page.locator(".who")).to_contain_text("听课教室")
    expect(page.locator(".schools li")).to_have_text(["杨树湾教学点"])
    page.close()


def test_an_admin_creates_a_device_account_from_the_accounts_page(
    browser: object, demo_url: str
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, demo_url, "admin")
    page.click("text=账户管理")
    expect(page.locator("h1")).to_contain_text("账户管理")
    page.fill("input[name=username]", "hekou.room1")
    page.fill("input[name=display_name]", "河口教学点 1 号教室")
    page.fill("input[name=password]", "hekou-2026")
    page.select_option("select[name=role]", "receiving_classroom")
    page.select_option("select[name=place]", "school:tp-hekou")
    page.click("form.columns button[type=submit]")
    expect(page.locator(".ok")).to_have_text("已创建账户 hekou.room1。")
    expect(page.locator("table.grid")).to_contain_text("河口教学点 1 号教室")
    page.screenshot(path=ARTIFACTS / "users-zh-1366.png", full_page=True)
    page.click("text=审计日志")
    expect(page.locator("table.grid")).to_contain_text("user:hekou.room1")
    page.screenshot(path=ARTIFACTS / "audit-zh-1366.png")
    page.close()


def test_an_admin_starts_two_step_verification(browser: object, demo_url: str) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, demo_url, "li.xunke")
    page.click("text=账户与安全")
    page.fill("form[action='/account/totp'] input[name=current_password]", DEMO_PASSWORD)
    page.click("form[action='/account/totp'] button")
    expect(page.locator("code.secret")).to_have_attribute(
        "data-secret", re.compile(r"^[A-Z2-7]{32}$")
    )
    expect(page.locator("img.qr")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "account-totp-zh-1366.png", full_page=True)
    page.fill("input[name=code]", "000000")
    page.click("form[action='/account/totp/confirm'] button")
    expect(page.locator(".error")).to_contain_text("验证码不正确")
    page.close()
