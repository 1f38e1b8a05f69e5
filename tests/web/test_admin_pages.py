"""Admin pages: accounts in scope, creating and deactivating them, the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import ACCOUNTS, PASSWORD, bearer


def sign_in(client: TestClient, username: str) -> None:
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303


def test_a_county_admin_creates_a_teacher_and_sees_it_audited(client: TestClient) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/users")
    assert page.status_code == 200 and "wang.xiaoyan" in page.text
    assert 'value="school:tp-hekou"' in page.text and 'value="region:349921102"' in page.text
    created = client.post(
        "/admin/users",
        data={
            "username": "Liu.Fang",
            "display_name": "刘芳",
            "password": "sanke2026",
            "role": "teacher",
            "place": "school:cs-shimen",
        },
    )
    assert created.status_code == 200 and "已创建账户 liu.fang" in created.text
    audit = client.get("/admin/audit")
    assert audit.status_code == 200 and "user:liu.fang" in audit.text


def test_a_rejected_form_keeps_what_was_typed_and_says_why(client: TestClient) -> None:
    sign_in(client, "admin")
    answer = client.post(
        "/admin/users",
        data={
            "username": "teacher.x",
            "display_name": "张三",
            "password": "123",
            "role": "teacher",
            "place": "school:cs-liuhe",
        },
    )
    assert answer.status_code == 422 and "密码太简单" in answer.text
    assert 'value="teacher.x"' in answer.text and 'value="school:cs-liuhe" selected' in answer.text


def test_deactivating_an_account_signs_it_out_and_refuses_its_logins(client: TestClient) -> None:
    device = bearer(client, ACCOUNTS["receiving_classroom"])
    assert client.get("/api/v1/me", headers=device).status_code == 200
    admin = bearer(client, ACCOUNTS["admin"])
    users = client.get("/api/v1/users", headers=admin).json()
    device_id = next(u["id"] for u in users if u["username"] == ACCOUNTS["receiving_classroom"])
    answer = client.post(f"/api/v1/users/{device_id}/deactivate", headers=admin)
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert client.get("/api/v1/me", headers=device).status_code == 401
    login = client.post(
        "/api/v1/auth/token",
        json={"username": ACCOUNTS["receiving_classroom"], "password": PASSWORD},
    )
    assert login.status_code == 401
    assert client.post(f"/api/v1/users/{device_id}/activate", headers=admin).status_code == 200
    assert bearer(client, ACCOUNTS["receiving_classroom"])


def test_a_school_admin_cannot_touch_accounts_outside_its_school(client: TestClient) -> None:
    school_admin = bearer(client, ACCOUNTS["school_admin"])
    admin = bearer(client, ACCOUNTS["admin"])
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}
    for target in ("admin", ACCOUNTS["teacher"]):
        answer = client.post(f"/api/v1/users/{users[target]}/deactivate", headers=school_admin)
        assert answer.status_code == 403
    reset = client.post(
        f"/api/v1/users/{users['admin']}/password",
        json={"password": "taken-over-1"},
        headers=school_admin,
    )
    assert reset.status_code == 403
    denied = [
        e for e in client.get("/api/v1/audit", headers=admin).json() if e["outcome"] == "denied"
    ]
    assert {e["action"] for e in denied} >= {"user.deactivate", "user.password_reset"}


def test_an_admin_cannot_deactivate_itself(client: TestClient) -> None:
    admin = bearer(client, ACCOUNTS["admin"])
    me = client.get("/api/v1/me", headers=admin).json()
    answer = client.post(f"/api/v1/users/{me['id']}/deactivate", headers=admin)
    assert answer.status_code == 422


def test_an_admin_resets_a_teachers_password(client: TestClient) -> None:
    admin = bearer(client, ACCOUNTS["admin"])
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}
    answer = client.post(
        f"/api/v1/users/{users[ACCOUNTS['teacher']]}/password",
        json={"password": "new-start-2026"},
        headers=admin,
    )
    assert answer.status_code == 204
    assert bearer(client, ACCOUNTS["teacher"], "new-start-2026")


def test_the_navigation_shows_only_what_the_role_may_open(client: TestClient) -> None:
    sign_in(client, ACCOUNTS["teacher"])
    home = client.get("/").text
    assert "/admin/users" not in home and "/admin/audit" not in home
    client.post("/logout")
    sign_in(client, "admin")
    home = client.get("/").text
    assert "/admin/users" in home and "/admin/audit" in home
