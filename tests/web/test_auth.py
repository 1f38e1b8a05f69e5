"""Signing in and out through the pages and the API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from tests.web.conftest import ACCOUNTS, PASSWORD, bearer
from web.app import create_app
from web.settings import load_settings


def test_the_login_page_is_chinese_first_with_an_english_switch(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "用户名" in page.text
    english = client.get("/login?lang=en")
    assert '<html lang="en">' in english.text and "Username" in english.text
    assert client.get("/login").text.count("Username") == 1  # the choice is remembered


def test_page_login_sets_a_session_cookie_and_logout_ends_it(client: TestClient) -> None:
    answer = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "next": "/account"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/").status_code == 200
    assert client.post("/logout", follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_the_login_form_never_redirects_off_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = client.post(
            "/login",
            data={"username": "admin", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/"


def test_a_wrong_password_shows_a_chinese_message_and_keeps_the_name(client: TestClient) -> None:
    page = client.post("/login", data={"username": "admin", "password": "wrong-2026"})
    assert page.status_code == 401
    assert "用户名或密码错误" in page.text and 'value="admin"' in page.text
    unknown = client.post("/login", data={"username": "nobody", "password": "wrong-2026"})
    assert unknown.status_code == 401
    assert unknown.text.replace("nobody", "admin") == page.text


def test_throttled_logins_say_when_to_retry(client: TestClient) -> None:
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-2026"})
    answer = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 429
    assert 0 < int(answer.headers["retry-after"]) <= 900
    assert answer.json()["error"] == "throttled"
    assert "秒后再试" in answer.json()["message"]


def test_bearer_tokens_work_without_cookies_and_can_be_revoked(client: TestClient) -> None:
    headers = bearer(client, ACCOUNTS["teacher"])
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json()["display_name"] == "王晓燕"
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_api_errors_follow_the_language(client: TestClient) -> None:
    assert client.get("/api/v1/me").json() == {"error": "login_required", "message": "请先登录。"}
    english = client.get("/api/v1/me?lang=en").json()
    assert english["message"] == "Please sign in."


def test_a_cross_site_form_post_with_the_cookie_is_refused(client: TestClient) -> None:
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    refused = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "hijacked-2026"},
        headers={"origin": "https://evil.example"},
    )
    assert refused.status_code == 403 and refused.json()["error"] == "cross_site"
    bare = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "hijacked-2026"},
        headers={"origin": ""},
    )
    assert bare.status_code == 403  # a cookie post with neither Origin nor Referer
    same = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "changed-2026"},
        headers={"origin": "http://testserver"},
    )
    assert same.status_code == 200


def test_a_cross_site_login_form_is_refused(client: TestClient) -> None:
    forged = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert forged.status_code == 403


def test_changing_ones_password_needs_the_current_one(client: TestClient) -> None:
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    wrong = client.post(
        "/account/password",
        data={"current_password": "not-it-2026", "new_password": "changed-2026"},
    )
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.text


def test_admins_can_turn_on_totp_from_the_account_page(client: TestClient) -> None:
    from datetime import UTC, datetime

    from identity import totp

    client.post("/login", data={"username": "admin", "password": PASSWORD})
    page = client.post("/account/totp", data={"current_password": PASSWORD})
    assert page.status_code == 200
    secret = page.text.split('data-secret="')[1].split('"')[0]
    assert 'src="data:image/svg+xml' in page.text  # the QR code to scan
    wrong = client.post("/account/totp/confirm", data={"code": "000000", "secret": secret})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.text
    now = datetime.now(UTC).timestamp()
    code = totp.code_at(secret, totp.counter_at(now))
    done = client.post("/account/totp/confirm", data={"code": code, "secret": secret})
    assert done.status_code == 200 and "已开启两步验证" in done.text
    client.post("/logout")
    second = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert second.status_code == 401 and 'name="totp_code"' in second.text


def test_health_reports_database_and_live_state(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["live_state"]["backend"] == "in-process"


def test_behind_a_proxy_the_public_url_counts_as_our_origin(
    engine: Engine, hasher: PasswordHasher, tmp_path: Path
) -> None:
    settings = load_settings(
        env="development", data_dir=tmp_path, public_url="https://sanke.example.edu.cn"
    )
    app = create_app(settings, engine=engine, hasher=hasher)
    with TestClient(app, headers={"origin": "https://sanke.example.edu.cn"}) as proxied:
        answer = proxied.post(
            "/login",
            data={"username": "admin", "password": "whatever-1"},
            headers={"host": "127.0.0.1:8000"},  # what nginx may pass on
        )
        assert answer.status_code == 401  # reached the login check, not refused as CSRF
