"""Every route has exactly one rule, and the rules hold for every role (the rights matrix)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from identity.roles import POLICY, Action, Role
from tests.web.conftest import ACCOUNTS, bearer
from web.rights import UncoveredRoute, allowed, check_rules, public, route_rules

PATH_VALUES = {
    "school_id": "cs-shimen",
    "plan_id": "999999",  # none: a 404 means the role passed
    "run_id": "999999",
    "name": "timetable.csv",
    "lesson": "P999999-L1-20260105",  # none: a 404 means the role passed
    "classroom": "tp-yangshuwan-r1",  # the demo device account's classroom
    "recording": "P999999-L1-20260105",  # none: a 404 means the role passed
    "comment": "999999",
    "group": "999999",
    "path": "assets.json",
}


def test_every_route_of_the_app_has_exactly_one_rule(app: FastAPI) -> None:
    check_rules(app)  # create_app ran it too; here it is on record
    rules = route_rules(app)
    assert len(rules) >= 15
    assert all(len(r) == 1 for r in rules.values())


def test_a_route_added_without_a_rule_is_refused(app: FastAPI) -> None:
    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(UncoveredRoute, match="GET /api/v1/forgotten: 0 rules"):
        check_rules(app)


def test_a_route_in_an_included_router_without_a_rule_is_refused(app: FastAPI) -> None:
    router = APIRouter(prefix="/api/v1/extra")

    @router.post("/thing")
    def thing() -> None:
        return None

    app.include_router(router)
    with pytest.raises(UncoveredRoute, match="POST /api/v1/extra/thing: 0 rules"):
        check_rules(app)


def test_an_unruled_twin_of_a_ruled_route_is_refused(app: FastAPI) -> None:
    router = APIRouter()

    @router.get("/api/v1/users")
    def shadow() -> list[str]:
        return []

    app.router.routes.insert(0, router.routes[0])  # registered first, so it would serve
    with pytest.raises(UncoveredRoute, match="GET /api/v1/users: registered 2 times"):
        check_rules(app)


def test_a_route_with_two_rules_is_refused(app: FastAPI) -> None:
    @app.get("/api/v1/confused", dependencies=[public(), allowed(Action.USER_READ)])
    def confused() -> None:
        return None

    with pytest.raises(UncoveredRoute, match="2 rules"):
        check_rules(app)


def _matrix(app: FastAPI, values: dict[str, str]) -> list[tuple[str, str, str]]:
    cases = []
    for key, rules in sorted(route_rules(app).items()):
        method, path = key.split(" ", 1)
        if method == "WS":  # the lesson channel: tests/web/test_live_lessons.py
            continue
        if rules[0].name == "monitoring":  # for machines, not roles: tests/web/test_metrics.py
            continue
        concrete = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        cases.append((method, concrete, rules[0].name))
    return cases


def _expected(rule: str, role: Role | None) -> str:
    if rule == "public":
        return "pass"
    if role is None:
        return "login"
    if rule == "signed_in":
        return "pass"
    return "pass" if Action(rule) in POLICY[role] else "forbidden"


def _outcome(status: int, headers: Mapping[str, str], text: str) -> str:
    """What the role rule decided: a scope refusal on the object means the role passed."""
    if status == 401 or (status == 303 and headers["location"].startswith("/login?")):
        return "login"
    scope = "forbidden_scope" in text or "不在您的管理范围" in text
    if status == 403 and not scope and text != "invalid link":  # a file link's own check
        return "forbidden"
    return "pass"


def test_the_rights_matrix_every_route_by_every_role(client: TestClient, app: FastAPI) -> None:
    # a spare account that routes acting on "a user" may deactivate without harm
    spare = client.post(
        "/api/v1/users",
        json={"username": "matrix.spare", "display_name": "备用", "password": "sanke2026",
              "role": "teacher", "school": "cs-shimen"},
        headers=bearer(client, ACCOUNTS["admin"]),
    )  # fmt: skip
    values = PATH_VALUES | {"user_id": str(spare.json()["id"])}
    failures = []
    for method, path, rule in _matrix(app, values):
        for role in [None, *Role]:
            headers = bearer(client, ACCOUNTS[role.value]) if role else {}
            answer = client.request(method, path, headers=headers, follow_redirects=False)
            got = _outcome(answer.status_code, answer.headers, answer.text)
            want = _expected(rule, role)
            if got != want:
                name = role.value if role else "anonymous"
                failures.append(f"{method} {path} as {name}: {answer.status_code}, want {want}")
    assert failures == [], "\n".join(failures)


def test_object_scope_is_checked_after_the_role(client: TestClient) -> None:
    teacher = bearer(client, ACCOUNTS["teacher"])  # 青溪县实验小学
    assert client.get("/api/v1/schools/cs-qingxi-shiyan", headers=teacher).status_code == 200
    denied = client.get("/api/v1/schools/cs-liuhe", headers=teacher)
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden_scope"
    assert client.get("/api/v1/schools/cs-nowhere", headers=teacher).status_code == 404
    admin = bearer(client, ACCOUNTS["admin"])
    assert client.get("/api/v1/schools/cs-liuhe", headers=admin).status_code == 200


def test_lists_are_limited_to_the_readers_scope(client: TestClient) -> None:
    admin = client.get("/api/v1/schools", headers=bearer(client, ACCOUNTS["admin"])).json()
    teacher = client.get("/api/v1/schools", headers=bearer(client, ACCOUNTS["teacher"])).json()
    assert len(admin) == 16
    assert [s["id"] for s in teacher] == ["cs-qingxi-shiyan"]
    school_admin = bearer(client, ACCOUNTS["school_admin"])
    users = client.get("/api/v1/users", headers=school_admin).json()
    assert {u["username"] for u in users} == {"shimen.admin"}


def test_creating_accounts_respects_who_may_grant_what(client: TestClient) -> None:
    school_admin = bearer(client, ACCOUNTS["school_admin"])  # 石门镇中心小学
    body = {
        "username": "zhao.min",
        "display_name": "赵敏",
        "password": "sanke2026",
        "role": "teacher",
        "school": "cs-shimen",
    }
    created = client.post("/api/v1/users", json=body, headers=school_admin)
    assert created.status_code == 201, created.text
    assert created.json()["school"] == "cs-shimen"
    again = client.post("/api/v1/users", json=body, headers=school_admin)
    assert again.status_code == 409
    elsewhere = client.post(
        "/api/v1/users", json=body | {"username": "x.y", "school": "cs-liuhe"}, headers=school_admin
    )
    assert elsewhere.status_code == 403 and elsewhere.json()["error"] == "forbidden_scope"
    promote = client.post(
        "/api/v1/users",
        json=body | {"username": "x.z", "role": "admin", "school": None, "region": "349921"},
        headers=school_admin,
    )
    assert promote.status_code == 403
    weak = client.post(
        "/api/v1/users", json=body | {"username": "x.w", "password": "123"}, headers=school_admin
    )
    assert weak.status_code == 422 and weak.json()["error"] == "weak_password"
    audit = client.get("/api/v1/audit", headers=bearer(client, ACCOUNTS["admin"])).json()
    creates = [(e["target"], e["outcome"]) for e in audit if e["action"] == "user.create"]
    assert ("user:zhao.min", "success") in creates and ("user:x.y", "denied") in creates
