"""The report pages over HTTP on known lesson facts (tests/web/report_fixtures.py): who may
read them, the figures they show, the drill-down links, refusals outside the reader's
scope, the lesson list, the progress report and its PDF (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.authorize import scope_target
from identity.passwords import PasswordHasher
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor
from identity.users import NewUser
from rooms.inspections import CHECKLIST
from tests.conftest import services_required
from tests.web.conftest import ACCOUNTS, PASSWORD, bearer
from tests.web.report_fixtures import LIUHE, install_facts, today_in_beijing
from web import demo
from web.app import create_app
from web.settings import load_settings


@pytest.fixture
def facts(app: FastAPI) -> date:
    today = today_in_beijing()
    install_facts(app.state.services.indicators.store, today)
    return today


def page(client: TestClient, path: str, role: str = "admin", status: int = 200) -> str:
    answer = client.get(path, headers=bearer(client, ACCOUNTS[role]), follow_redirects=False)
    assert answer.status_code == status, answer.text[:2000]
    return answer.text


def element(text: str, element_id: str) -> str:
    """The markup of the element with ``id``, up to its closing tag (no nesting of the
    same tag inside: enough for these pages' figures, tables and sections)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>', text)
    assert found, f"no #{element_id}"
    tag = found.group(1)
    end = text.index(f"</{tag}>", found.end())
    return text[found.start() : end]


def plain(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def drills(text: str) -> dict[str, str]:
    """Each drill-down link of the group table: name → URL."""
    table = element(text, "group-table")
    return {name: html.unescape(href)
            for href, name in re.findall(r'<a class="drill" href="([^"]+)"[^>]*>([^<]+)</a>',
                                         table)}  # fmt: skip


def test_reports_are_for_the_roles_that_read_them(client: TestClient, facts: date) -> None:
    anonymous = client.get("/reports", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    for role in ("teacher", "receiving_classroom"):
        refused = page(client, "/reports", role, status=403)
        assert "您的角色无权执行此操作" in refused
        assert 'href="/reports"' not in page(client, "/", role)  # no menu entry either
    for role in ("admin", "school_admin", "inspector", "researcher"):
        text = page(client, "/reports", role)
        assert 'href="/reports">报表</a>' in text


def test_the_dashboard_shows_the_figures_worked_out_from_the_facts(
    client: TestClient, facts: date
) -> None:
    text = page(client, "/reports")
    figures = {
        name: plain(element(text, f"figure-{name}"))
        for name in ("rate", "on_time", "freeze_free", "freezes", "patrol", "research")
    }
    assert figures["rate"] == "开课率 75.0% 实开 6 节 / 应开 8 节"
    assert figures["on_time"] == "接收端准时率 84.6% 准时 11 / 共 13 个接收课次"
    # 440 minutes of video, 16 of them frozen; 12 freezes
    assert figures["freeze_free"] == "无卡顿时长占比 96.4% 共 440 分钟视频"
    assert figures["freezes"].startswith("每小时卡顿次数 1.64")
    assert figures["patrol"] == "巡课覆盖率 25.0% 巡课 2 节，发现问题 1 次"
    assert figures["research"] == "已评课例 1 节 评论 3 条 · 平均分 4.5"

    trend = element(text, "trend")
    assert 'role="img"' in trend and "<title>每周开课率与接收端准时率</title>" in trend
    assert re.search(r"开课率: \d+/\d+ 100\.0%, \d+/\d+ 50\.0%", trend)  # week A, week B
    assert re.search(r"接收端准时率: \d+/\d+ 100\.0%, \d+/\d+ 66\.7%", trend)

    table = plain(element(text, "group-table"))
    assert "石门镇 5 5 100.0% 90.0%" in table and "柳河乡 3 1 33.3% 66.7%" in table
    assert "<title>各乡镇开课率</title>" in element(text, "groups")
    reasons = plain(element(text, "reasons"))
    assert "平台未开课 1 12.5%" in reasons and "主讲教师缺席 1 12.5%" in reasons

    longtan = element(text, "points-table").split('data-school="tp-longtan"')[1].split("</tr>")[0]
    assert 'class="badge quality-poor"' in longtan and "长期问题" in longtan
    yangshuwan = element(text, "points-table").split('data-school="tp-yangshuwan"')[1]
    assert "良好" in yangshuwan.split("</tr>")[0] and "长期问题" not in yangshuwan.split("</tr>")[0]
    patrol = element(text, "patrol")
    assert "共巡课 2 节" in patrol and "4.5 分" in patrol and "3.0 分" in patrol
    assert "统计 2 个教学周" in plain(element(text, "coverage-summary"))
    workload = plain(element(text, "workload"))
    assert "刘芳 5 5 3.3" in workload and "吴磊 3 1 0.7" in workload


def test_links_drill_down_from_the_county_to_the_lessons_of_a_school(
    client: TestClient, facts: date
) -> None:
    county = page(client, "/reports")
    assert set(drills(county)) == {"石门镇", "柳河乡"}
    township = page(client, drills(county)["石门镇"])
    assert "group=school" in drills(county)["石门镇"]
    assert plain(element(township, "figure-rate")).startswith("开课率 100.0%")
    schools = drills(township)
    assert {"石门镇中心小学", "龙潭教学点", "杨树湾教学点"} <= set(schools)
    school = page(client, schools["石门镇中心小学"])
    assert '<strong aria-current="page">石门镇中心小学</strong>' in school
    assert list(drills(school)) == ["刘芳"]
    lessons_url = html.unescape(re.findall(r'id="lessons-link" href="([^"]+)"', school)[0])
    assert "school=cs-shimen" in lessons_url
    lessons = page(client, lessons_url)
    assert len(re.findall(r"<tr class=\"status-", lessons)) == 5
    assert 'href="/review/S1"' in lessons and 'href="/review/S2"' not in lessons
    teacher = page(client, drills(school)["刘芳"])
    assert len(re.findall(r"<tr class=\"status-", teacher)) == 5
    back = html.unescape(re.findall(r'id="back-link" href="([^"]+)"', teacher)[0])
    assert "teacher=" not in back and "school=cs-shimen" in back


def test_the_lesson_list_shows_each_lesson_and_filters_by_status(
    client: TestClient, facts: date
) -> None:
    text = page(client, "/reports/lessons?status=not_held")
    rows = re.findall(r'<tr class="status-not_held" data-lesson="(\w+)">(.*?)</tr>', text, re.S)
    assert [name for name, _ in rows] == ["H2", "H3"]
    h2, h3 = (plain(row) for _, row in rows)
    assert "08:55" in h2 and "未开课：主讲教师缺席" in h2 and "吴磊" in h2 and "0 / 40 分钟" in h2
    assert "14:05" in h3 and "未开课：平台未开课" in h3 and "0 / 1" in h3
    held = page(client, "/reports/lessons?status=held&school=cs-shimen")
    s1 = plain(held.split('data-lesson="S1"')[1].split("</tr>")[0])
    assert "已开课" in s1 and "40 / 40 分钟" in s1 and "2 / 2" in s1 and "1 次" in s1
    assert "问题 1" in s1 and "回看" in s1 and "1 个接收端较差" in s1
    s4 = plain(held.split('data-lesson="S4"')[1].split("</tr>")[0])
    assert "1 / 2" in s4  # 龙潭 five minutes late


def test_a_reader_gets_only_their_own_region(app: FastAPI, client: TestClient, facts: date) -> None:
    identity = app.state.services.identity
    scope = Scope(region=LIUHE)
    identity.create_user(
        Actor(None, "test"),
        NewUser("liuhe.xunke", "柳河乡巡课员", PASSWORD, Role.INSPECTOR, scope),
        scope_target(scope, LIUHE), LIUHE, datetime.now(UTC),
    )  # fmt: skip
    headers = bearer(client, "liuhe.xunke")
    mine = client.get("/reports", headers=headers)
    assert mine.status_code == 200
    assert plain(element(mine.text, "figure-rate")).startswith("开课率 33.3%")
    assert "石门镇" not in plain(element(mine.text, "group-table"))
    for query in ("region=349921101", "region=349921", "school=cs-shimen"):
        refused = client.get(f"/reports?{query}", headers=headers)
        assert refused.status_code == 403, query
        assert "不在您的管理范围内" in refused.text
        assert client.get(f"/reports/lessons?{query}", headers=headers).status_code == 403
        assert client.get(f"/reports/progress?{query}", headers=headers).status_code == 403
    english = client.get("/reports?region=349921101&lang=en", headers=headers)
    assert english.status_code == 403 and "That region is outside your scope." in english.text
    api = client.get("/api/v1/indicators/held?region=349921101", headers=headers)
    assert api.status_code == 403 and api.json()["error"] == "other_region"


def test_filters_that_make_no_sense_are_explained(client: TestClient, facts: date) -> None:
    cases = {
        "/reports?from=2026-13-01": "日期应写成 2026-11-16 的格式",
        "/reports?from=2026-11-20&to=2026-11-01": "结束日期早于开始日期",
        "/reports?from=2024-01-01&to=2026-01-01": "报表最多覆盖 400 天",
        "/reports?region=12": "区域代码应为 6 位或 9 位数字",
        "/reports?group=week": "不支持这种分组方式",
        "/reports/lessons?status=lost": "不支持这种课程状态",
    }
    for path, message in cases.items():
        assert message in page(client, path, status=400), path


def test_a_period_without_lessons_says_so(client: TestClient, facts: date) -> None:
    text = page(client, "/reports?from=2020-01-06&to=2020-01-31")
    assert "所选时间和范围内还没有已结束的课" in plain(element(text, "report-empty"))
    assert 'id="figures"' not in text
    assert 'value="2020-01-06"' in text  # the form keeps the period asked for
    progress = page(client, "/reports/progress?from=2020-01-06&to=2020-01-31")
    assert 'id="report-empty"' in progress


def test_the_dashboard_in_english(client: TestClient, facts: date) -> None:
    text = page(client, "/reports?lang=en")
    assert plain(element(text, "figure-rate")) == "Lessons held 75.0% 6 of 8 lessons"
    assert "Teacher absent" in element(text, "reasons")
    assert "<title>Lessons held and classrooms on time by week</title>" in text
    county = demo.county()  # its names are data, the same in every language
    data = [r.name for r in county.regions] + [s.name for s in county.schools]
    data += [t.name for t in county.teachers] + [s for t in county.teachers for s in t.subjects]
    data += [*CHECKLIST, *(n.subject for n in county.needs)]
    ui = plain(text.split("<main>")[1])
    for name in sorted(set(data), key=len, reverse=True):
        ui = ui.replace(name, "")
    assert not re.search(r"[\u4e00-\u9fff]", ui), re.findall(r"\S*[\u4e00-\u9fff]+\S*", ui)


def test_the_progress_report_is_self_contained_and_lists_the_problems(
    client: TestClient, facts: date
) -> None:
    text = page(client, "/reports/progress")
    assert "@page { size: A4 portrait" in text
    assert "<link" not in text and " src=" not in text and "url(" not in text
    assert "<h1>青溪县三个课堂应用进展报告</h1>" in text
    assert plain(element(text, "figure-rate")).startswith("开课率 75.0%")
    problems = plain(element(text, "problems"))
    assert "未开课的课（2 节）" in problems and "未开课：主讲教师缺席" in problems
    assert "长期接收质量问题的教学点（1 个） " in problems
    assert "龙潭教学点 石门镇 5 92.0%" in problems
    assert "巡课发现问题的课（1 节）" in problems and "音视频质量 2" in problems
    assert re.search(r"未开足课时的班级学科（\d+ 个）", problems)
    assert 'id="pdf-link" href="/reports/progress.pdf?' in text


def chromium_or_skip() -> None:
    if shutil.which("chromium") is None:
        if services_required():
            pytest.fail("Chromium is not installed")
        pytest.skip("Chromium is not installed")


def test_the_progress_report_as_a_pdf(client: TestClient, facts: date) -> None:
    chromium_or_skip()
    answer = client.get("/reports/progress.pdf", headers=bearer(client, ACCOUNTS["admin"]))
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith('attachment; filename="progress-')
    assert answer.content.startswith(b"%PDF") and len(answer.content) > 1000


def test_without_chromium_the_pdf_link_says_how_to_print(
    engine: Engine, hasher: PasswordHasher, tmp_path: Path, app: FastAPI
) -> None:
    # ``app`` put the demo county and its accounts in ``engine``; this app shares them
    settings = load_settings(env="development", data_dir=tmp_path,
                             pdf_chromium=str(tmp_path / "no-chromium"))  # fmt: skip
    bare = create_app(settings, engine=engine, hasher=hasher)
    with TestClient(bare, headers={"origin": "http://testserver"}) as client:
        answer = client.get("/reports/progress.pdf", headers=bearer(client, ACCOUNTS["admin"]))
    assert answer.status_code == 503
    assert "无法生成 PDF：服务器未安装 Chromium，请使用浏览器打印为 PDF" in answer.text
