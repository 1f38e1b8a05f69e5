"""Research groups through the API and the /groups page: whom the lead may add (active
teachers, researchers and admins of the group's region, not yet members, found by name
or username), that only the lead asks, and a review session over a shared recording as
its member sees it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.authorize import scope_target
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor
from identity.users import NewUser
from tests.web.conftest import ACCOUNTS, PASSWORD, bearer
from tests.web.review_fixtures import recorded_lesson
from web.services import Services


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def account(app: FastAPI, username: str, name: str, role: Role, scope: Scope) -> int:
    services = services_of(app)
    school = services.directory.school(scope.school) if scope.school else None
    region = school.region if school is not None else scope.region
    assert region is not None
    user = services.identity.create_user(
        Actor.cli(), NewUser(username, name, PASSWORD, role, scope),
        scope_target(scope, region), region, datetime.now(UTC),
    )  # fmt: skip
    return user.id


def user_id(client: TestClient, username: str) -> int:
    listed = client.get("/api/v1/users", headers=bearer(client, ACCOUNTS["admin"])).json()
    found: int = next(u["id"] for u in listed if u["username"] == username)
    return found


def new_group(client: TestClient, headers: dict[str, str], name: str = "青溪县英语研修组") -> int:
    answer = client.post("/api/v1/groups", headers=headers, json={"name": name})
    assert answer.status_code == 201, answer.text
    group: int = answer.json()["id"]
    return group


def candidates(client: TestClient, headers: dict[str, str], group: int, q: str = "") -> Any:
    answer = client.get(f"/api/v1/groups/{group}/candidates", headers=headers, params={"q": q})
    assert answer.status_code == 200, answer.text
    return answer.json()


def usernames(rows: list[dict[str, Any]]) -> set[str]:
    return {r["username"] for r in rows}


def page_config(html: str) -> Any:
    found = re.search(r'<script type="application/json" id="groups-config">(.*?)</script>', html)
    assert found, html[:500]
    return json.loads(found.group(1))


def test_candidates_are_active_staff_and_teachers_of_the_region_not_yet_in_the_group(
    client: TestClient, app: FastAPI
) -> None:
    account(app, "liuhe.english", "刘芳", Role.TEACHER, Scope(school="cs-liuhe"))
    account(app, "shimen.music", "赵敏", Role.TEACHER, Scope(school="cs-shimen"))
    account(app, "baiyun.jiaoyan", "白云教研员", Role.RESEARCHER, Scope(region="349921103"))
    account(app, "shimen.jiaoyan", "石门教研员", Role.RESEARCHER, Scope(region="349921101"))
    account(app, "beijing.jiaoyan", "北京教研员", Role.RESEARCHER, Scope(region="110000"))
    gone = account(app, "old.teacher", "退休教师", Role.TEACHER, Scope(school="cs-shimen"))
    services_of(app).identity.set_active(Actor.cli(), gone, False, datetime.now(UTC))
    researcher = bearer(client, ACCOUNTS["researcher"])  # 周雯, the county
    group = new_group(client, researcher)

    # the county's teachers, researchers and admins; not the inspector, the school admin,
    # the classroom device, the deactivated teacher, another province, or the lead herself
    assert usernames(candidates(client, researcher, group)) == {
        "admin", "wang.xiaoyan", "liuhe.english", "shimen.music", "baiyun.jiaoyan",
        "shimen.jiaoyan",
    }  # fmt: skip
    # by display name or (any case) username
    found = candidates(client, researcher, group, "晓燕")
    assert found == [{"user_id": user_id(client, "wang.xiaoyan"), "username": "wang.xiaoyan",
                      "name": "王晓燕", "role": "teacher"}]  # fmt: skip
    assert usernames(candidates(client, researcher, group, " JiaoYan ")) == {
        "baiyun.jiaoyan", "shimen.jiaoyan"
    }  # fmt: skip
    assert candidates(client, researcher, group, "nobody") == []
    # a member is no longer a candidate
    added = client.post(f"/api/v1/groups/{group}/members", headers=researcher,
                        json={"user_id": found[0]["user_id"]})  # fmt: skip
    assert added.status_code == 201, added.text
    assert candidates(client, researcher, group, "晓燕") == []

    # a township's group: the teachers of that township's schools only
    township = bearer(client, "shimen.jiaoyan")
    small = new_group(client, township, "石门镇英语研修组")
    assert usernames(candidates(client, township, small)) == {"wang.xiaoyan", "shimen.music"}


def test_at_most_twenty_candidates_are_listed(client: TestClient, app: FastAPI) -> None:
    for n in range(22):
        account(
            app, f"baiyun.t{n:02d}", f"白云教师{n:02d}", Role.TEACHER, Scope(school="cs-baiyun")
        )
    researcher = bearer(client, ACCOUNTS["researcher"])
    group = new_group(client, researcher)
    found = candidates(client, researcher, group, "白云教师")
    assert len(found) == 20
    assert [r["username"] for r in found] == [f"baiyun.t{n:02d}" for n in range(20)]


def test_only_the_lead_or_an_admin_over_the_region_looks_for_candidates(
    client: TestClient, app: FastAPI
) -> None:
    account(app, "other.jiaoyan", "另一位教研员", Role.RESEARCHER, Scope(region="349921"))
    researcher = bearer(client, ACCOUNTS["researcher"])
    group = new_group(client, researcher)
    teacher = bearer(client, ACCOUNTS["teacher"])
    client.post(f"/api/v1/groups/{group}/members", headers=researcher,
                json={"user_id": user_id(client, "wang.xiaoyan")})  # fmt: skip
    url = f"/api/v1/groups/{group}/candidates"
    for who in (teacher, bearer(client, "other.jiaoyan"), bearer(client, ACCOUNTS["inspector"])):
        refused = client.get(url, headers=who)
        assert refused.status_code == 403 and refused.json()["error"] == "not_lead"
        assert "组长" in refused.json()["message"]
    device = client.get(url, headers=bearer(client, ACCOUNTS["receiving_classroom"]))
    assert device.status_code == 403  # the route's rule: no recording.view
    assert client.get(url, headers=bearer(client, ACCOUNTS["admin"])).status_code == 200
    missing = client.get("/api/v1/groups/999999/candidates", headers=researcher)
    assert missing.status_code == 404
    # what the search does not offer cannot be added either, and the lead stays
    inspector = client.post(f"/api/v1/groups/{group}/members", headers=researcher,
                            json={"user_id": user_id(client, "li.xunke")})  # fmt: skip
    assert inspector.status_code == 422 and inspector.json()["error"] == "invalid_user"
    lead = client.delete(
        f"/api/v1/groups/{group}/members/{user_id(client, 'zhou.jiaoyan')}", headers=researcher
    )
    assert lead.status_code == 403 and lead.json()["error"] == "lead_stays"
    assert "组长" in lead.json()["message"]
    english = client.delete(
        f"/api/v1/groups/{group}/members/{user_id(client, 'zhou.jiaoyan')}?lang=en",
        headers=researcher,
    )
    assert english.json()["message"] == "The group's lead cannot be removed from it."
    member = client.delete(
        f"/api/v1/groups/{group}/members/{user_id(client, 'wang.xiaoyan')}", headers=researcher
    )
    assert [m["name"] for m in member.json()["members"]] == ["周雯"]


def test_user_text_in_the_page_data_cannot_end_its_script_element(client: TestClient) -> None:
    researcher = bearer(client, ACCOUNTS["researcher"])
    name = "<!--<script>研修组</script>"
    new_group(client, researcher, name)
    html = client.get("/groups", headers=researcher).text
    assert "<!--<script>" not in html and "研修组</script>" not in html
    assert [g["name"] for g in page_config(html)["groups"]] == [name]


@pytest.mark.slow
def test_a_member_sees_the_session_on_the_groups_page(
    client: TestClient, app: FastAPI, engine: Engine, recorded_assets: Path
) -> None:
    lesson = recorded_lesson(engine, services_of(app).settings.data_dir, recorded_assets)
    researcher = bearer(client, ACCOUNTS["researcher"])
    group = new_group(client, researcher)
    # the lead's page: the group she may change, and the recording she may share
    lead_page = page_config(client.get("/groups", headers=researcher).text)
    assert lead_page["me"]["may_create"]
    assert [(g["id"], g["may_change"], g["members"][0]["lead"]) for g in lead_page["groups"]] == [
        (group, True, True)
    ]
    row = next(r for r in lead_page["recordings"] if r["recording"] == lesson)
    assert row == {"recording": lesson, "subject": "英语", "grade": row["grade"],
                   "teacher": "王晓燕", "school": "青溪县实验小学", "day": row["day"],
                   "state": "ready"}  # fmt: skip
    client.post(f"/api/v1/groups/{group}/members", headers=researcher,
                json={"user_id": user_id(client, "wang.xiaoyan")})  # fmt: skip
    shared = client.post(f"/api/v1/groups/{group}/recordings", headers=researcher,
                         json={"recordings": [lesson]})  # fmt: skip
    assert shared.json()["recordings"] == [lesson]
    deadline = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    made = client.post(f"/api/v1/groups/{group}/sessions", headers=researcher,
                       json={"title": "第十二周英语评课", "deadline": deadline,
                             "recordings": [lesson]})  # fmt: skip
    assert made.status_code == 201, made.text

    # the member's page: read-only, with the session still to do
    teacher = bearer(client, ACCOUNTS["teacher"])
    answer = client.get("/groups", headers=teacher)
    assert answer.status_code == 200 and 'href="/groups"' in answer.text  # the nav link
    member_page = page_config(answer.text)
    assert not member_page["me"]["may_create"]
    assert [g["may_change"] for g in member_page["groups"]] == [False]
    assert [
        (s["title"], s["open"], s["done"], s["recordings"]) for s in member_page["sessions"]
    ] == [("第十二周英语评课", True, False, [lesson])]
    assert member_page["sessions"][0]["deadline"][:10] == deadline  # 23:59 Beijing = 15:59 UTC
    # the county's admin sees the region's sessions; a teacher outside the group does not
    admin = client.get("/api/v1/sessions", headers=bearer(client, ACCOUNTS["admin"])).json()
    assert [s["title"] for s in admin] == ["第十二周英语评课"]
    account(app, "shimen.music", "赵敏", Role.TEACHER, Scope(school="cs-shimen"))
    assert client.get("/api/v1/sessions", headers=bearer(client, "shimen.music")).json() == []
    # the recordings page leads to it too
    assert 'id="groups-link"' in client.get("/recordings", headers=teacher).text
    # a page the device account may not open
    device = client.get("/groups", headers=bearer(client, ACCOUNTS["receiving_classroom"]))
    assert device.status_code == 403
