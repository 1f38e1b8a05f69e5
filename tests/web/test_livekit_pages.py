"""The live pages' media with ``SANKE_MEDIA_BACKEND=livekit``, and without it.

With LiveKit the lesson token endpoint answers with a LiveKit access token for the seat's
media grant, read back with livekit-api's ``TokenVerifier`` under the configured key and
secret; the pages load livekit-client (served from ``node_modules``) and
``livekit-media.js`` instead of the embedded SFU's client. The LiveKit URL is a closed
loopback port: nothing here needs a LiveKit server (the app's upkeep logs that it cannot
reach one). In a browser: ``test_livekit_browser.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from livekit.api import TokenVerifier
from livekit.api.access_token import Claims
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from media.errors import GrantInvalid
from media.grants import verify_grant
from media.livekit.tokens import ROLE_ATTRIBUTE, SOURCE_NAMES
from rooms.lesson import Seat
from tests.conftest import free_port
from tests.media.livekit_twirp import KEY, SECRET
from tests.web.live_fixtures import CLASSROOMS, lessons_now
from tests.web.test_live_lessons import sign_in
from tests.web.test_livekit_media import app_with
from web.livekit_client import BUNDLE_URL, browser_url, check_bundle, find_bundle
from web.services import Services

TEACHER_SEAT = Seat("teacher", "teacher:cs-qingxi-shiyan-t1", "王晓燕")
CLASSROOM = CLASSROOMS[0]  # tp-yangshuwan-r1, the demo device account yangshuwan.room1
EVERY_SOURCE = ["camera", "microphone", "screen_share", "screen_share_audio"]


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
def livekit_url() -> str:
    return f"ws://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture
def livekit_client(
    sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path, livekit_url: str
) -> Iterator[tuple[TestClient, str]]:
    yield from _lesson_client(
        app_with(
            sqlite_engine,
            hasher,
            tmp_path,
            media_backend="livekit",
            livekit_url=livekit_url,
            livekit_api_key=KEY,
            livekit_api_secret=SECRET,
        ),  # fmt: skip
        sqlite_engine,
    )


@pytest.fixture
def embedded_client(
    sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[tuple[TestClient, str]]:
    yield from _lesson_client(app_with(sqlite_engine, hasher, tmp_path), sqlite_engine)


def _lesson_client(app: FastAPI, engine: Engine) -> Iterator[tuple[TestClient, str]]:
    (lesson,) = lessons_now(engine)
    with TestClient(app, headers={"origin": "http://testserver"}) as client:
        lessons = services_of(app).lessons
        client.portal.call(lessons.step, datetime.now(UTC))  # type: ignore[union-attr]
        yield client, lesson.id


def token_answer(client: TestClient, lesson: str, classroom: str | None = None) -> Any:
    query = f"?classroom={classroom}" if classroom else ""
    answer = client.post(f"/api/v1/lessons/{lesson}/token{query}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def verified(token: str) -> Claims:
    return TokenVerifier(KEY, SECRET).verify(token)


def test_each_role_gets_a_livekit_token_for_its_own_grant(
    livekit_client: tuple[TestClient, str], livekit_url: str
) -> None:
    client, lesson = livekit_client
    sign_in(client, "wang.xiaoyan")
    teacher = token_answer(client, lesson)
    assert (teacher["backend"], teacher["url"]) == ("livekit", livekit_url)
    assert (teacher["role_attribute"], teacher["sources"]) == (ROLE_ATTRIBUTE, SOURCE_NAMES)
    claims = verified(teacher["token"])
    video = claims.video
    assert video is not None
    assert (claims.identity, claims.name) == ("teacher:cs-qingxi-shiyan-t1", "王晓燕")
    assert claims.identity == teacher["identity"]
    assert claims.attributes == {ROLE_ATTRIBUTE: "teacher"}
    assert (video.room_join, video.room) == (True, lesson)
    assert video.can_publish and video.can_subscribe and not video.hidden
    assert video.can_publish_sources == EVERY_SOURCE
    assert not (video.room_admin or video.room_create or video.room_list or video.room_record)
    # valid as long as the Sanke grant it stands for, and not a Sanke grant itself
    expires = jwt.decode(teacher["token"], SECRET, algorithms=["HS256"], issuer=KEY)["exp"]
    assert expires == int(datetime.fromisoformat(teacher["expires_at"]).timestamp())
    with pytest.raises(GrantInvalid):
        verify_grant(teacher["token"], services_of(client.app).media_secret, datetime.now(UTC))  # type: ignore[arg-type]

    sign_in(client, "yangshuwan.room1")
    classroom = verified(token_answer(client, lesson, CLASSROOM)["token"])
    assert classroom.identity == f"classroom:{CLASSROOM}"
    assert classroom.attributes == {ROLE_ATTRIBUTE: "receiving_classroom"}
    assert classroom.video is not None
    assert classroom.video.can_subscribe and not classroom.video.hidden
    assert classroom.video.can_publish_sources == ["camera"]  # until called on

    lessons = services_of(client.app).lessons  # type: ignore[arg-type]
    client.portal.call(lessons.control, lesson, TEACHER_SEAT, "call_on", classroom.identity)  # type: ignore[union-attr]
    called = verified(token_answer(client, lesson, CLASSROOM)["token"])
    assert called.video is not None and called.video.can_publish_sources == ["camera", "microphone"]

    sign_in(client, "li.xunke")
    inspector = verified(token_answer(client, lesson)["token"])
    video = inspector.video
    assert video is not None
    assert inspector.attributes == {ROLE_ATTRIBUTE: "inspector"}
    assert video.hidden and video.can_subscribe
    assert not video.can_publish and not video.can_publish_sources


def test_the_embedded_backend_keeps_its_own_token(embedded_client: tuple[TestClient, str]) -> None:
    client, lesson = embedded_client
    sign_in(client, "yangshuwan.room1")
    answer = token_answer(client, lesson, CLASSROOM)
    assert answer["backend"] == "embedded" and "url" not in answer
    media_secret = services_of(client.app).media_secret  # type: ignore[arg-type]
    grant = verify_grant(answer["token"], media_secret, datetime.now(UTC), room=lesson)
    assert grant.identity == f"classroom:{CLASSROOM}" and grant.can_publish == {"camera"}


def scripts(html: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', html)


def test_the_pages_load_the_client_of_the_servers_backend(
    livekit_client: tuple[TestClient, str], embedded_client: tuple[TestClient, str]
) -> None:
    client, lesson = livekit_client
    sign_in(client, "wang.xiaoyan")
    page = client.get(f"/teach/{lesson}").text
    assert scripts(page) == [BUNDLE_URL, "/static/livekit-media.js", "/static/live.js",
                             "/static/teach.js"]  # fmt: skip
    assert '"media": "livekit"' in page
    bundle = client.get(BUNDLE_URL)
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    found = find_bundle()
    assert found is not None and bundle.content == found.read_bytes()
    assert b"LivekitClient" in bundle.content[:2000]  # the UMD build's global

    client, lesson = embedded_client
    sign_in(client, "yangshuwan.room1")
    page = client.get(f"/receive/{CLASSROOM}").text
    assert scripts(page) == ["/media/client.js", "/static/live.js", "/static/receive.js"]
    assert '"media": "embedded"' in page
    assert client.get(BUNDLE_URL).status_code == 404  # not served without LiveKit


def test_a_missing_livekit_client_is_named_with_the_command_that_installs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="web.livekit_client"):
        assert check_bundle([tmp_path / "node_modules"]) is None
    (record,) = caplog.records
    assert "npm ci" in record.getMessage() and "make node_modules/.installed" in record.getMessage()
    assert str(tmp_path / "node_modules") in record.getMessage()


def test_browsers_get_livekits_websocket_address() -> None:
    assert browser_url("https://livekit.example.edu.cn") == "wss://livekit.example.edu.cn"
    assert browser_url("http://127.0.0.1:7880") == "ws://127.0.0.1:7880"
    assert browser_url("wss://livekit.example.edu.cn") == "wss://livekit.example.edu.cn"
