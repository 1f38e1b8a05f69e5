"""Reviewing a really recorded lesson through the API: who sees it, the signed file
links the player fetches, comments with visibility and replies, rubric scores, clips
cut by the worker, research groups and sessions, the exports, the audit of views."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from identity.authorize import scope_target
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor
from identity.users import NewUser
from recorder.jobs import JobQueue
from recorder.worker import ASSETS, JobWorker
from tests.web.conftest import ACCOUNTS, PASSWORD, bearer
from tests.web.live_fixtures import lessons_now
from tests.web.review_fixtures import recorded_lesson
from web.file_links import check_link, file_link, link_key
from web.services import Services

pytestmark = pytest.mark.slow


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
def lesson(app: FastAPI, engine: Engine, recorded_assets: Path) -> str:
    return recorded_lesson(engine, services_of(app).settings.data_dir, recorded_assets)


def account(app: FastAPI, username: str, role: Role, scope: Scope, **extra: Any) -> int:
    services = services_of(app)
    school = services.directory.school(scope.school) if scope.school else None
    region = school.region if school is not None else scope.region
    assert region is not None
    user = services.identity.create_user(
        Actor.cli(), NewUser(username, username, PASSWORD, role, scope, **extra),
        scope_target(scope, region), region, datetime.now(UTC),
    )  # fmt: skip
    return user.id


def as_(client: TestClient, username: str) -> dict[str, str]:
    return bearer(client, username)


def test_a_researcher_opens_the_recording_with_signed_links_and_it_is_audited(
    client: TestClient, app: FastAPI, lesson: str
) -> None:
    researcher = as_(client, ACCOUNTS["researcher"])
    listed = client.get("/api/v1/recordings", headers=researcher).json()
    row = next(r for r in listed if r["recording"] == lesson)
    assert row["state"] == "ready" and row["subject"] == "英语" and row["thumbnail"]
    review = client.get(f"/api/v1/recordings/{lesson}", headers=researcher).json()
    kinds = {(t["role"], t["kind"]) for t in review["tracks"]}
    assert kinds == {("teacher", "camera"), ("teacher", "screen"), ("teacher", "microphone"),
                     ("classroom", "camera"), ("classroom", "microphone")}  # fmt: skip
    camera = next(t for t in review["tracks"] if t["kind"] == "camera" and t["role"] == "teacher")
    assert camera["label"] == "王晓燕 · 摄像头" and camera["type"] == "video/webm"
    assert camera["codec"] == "vp8" and review["duration"] > 12
    assert camera["previews"]["thumbnails"] and camera["previews"]["vtt"].startswith("/files/")
    assert review["me"]["can_review"] and review["rubric"]["items"]
    # the file behind a link, whole and by range (a <video> seeking)
    whole = client.get(camera["url"])
    assert whole.status_code == 200 and whole.content[:4] == b"\x1a\x45\xdf\xa3"  # EBML
    part = client.get(camera["url"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    # the audit log has the view
    audit = client.get("/api/v1/audit", headers=as_(client, ACCOUNTS["admin"])).json()
    assert any(e["action"] == "recording.view" and e["target"] == lesson for e in audit)


def test_a_tampered_expired_or_wandering_link_is_refused(
    client: TestClient, app: FastAPI, lesson: str
) -> None:
    key = link_key(services_of(app).secret)
    now = datetime.now(UTC)
    good = file_link(key, lesson, "assets.json", now)
    assert client.get(good).status_code == 200
    path, query = good.split("?")
    tampered = f"{path}?{query[:-2]}xx"
    assert client.get(tampered).status_code == 403
    other_file = f"{path.rsplit('/', 1)[0]}/recording.json?{query}"
    assert client.get(other_file).status_code == 403  # a signature is for one file
    expired = file_link(key, lesson, "assets.json", now - timedelta(hours=5))
    answer = client.get(expired)
    assert answer.status_code == 403 and "expired" in answer.text
    sneaky = file_link(key, lesson, "../../secret_key", now)
    assert client.get(sneaky).status_code in (403, 404)
    missing = file_link(key, lesson, "nothing.mp4", now)
    assert client.get(missing).status_code == 404
    exp, sig = query.split("&")
    assert check_link(key, lesson, "assets.json", exp[4:], sig[4:], now).value == "ok"


def test_recordings_of_another_region_or_teacher_do_not_exist_for_the_reader(
    client: TestClient, app: FastAPI, lesson: str
) -> None:
    account(app, "beijing.jiaoyan", Role.RESEARCHER, Scope(region="110000"))
    account(app, "liuhe.teacher", Role.TEACHER, Scope(school="cs-liuhe"))
    for username in ("beijing.jiaoyan", "liuhe.teacher"):
        headers = as_(client, username)
        answer = client.get(f"/api/v1/recordings/{lesson}", headers=headers)
        assert answer.status_code == 404 and "无权查看" in answer.json()["message"]
        assert all(r["recording"] != lesson
                   for r in client.get("/api/v1/recordings", headers=headers).json())  # fmt: skip
        posted = client.post(f"/api/v1/recordings/{lesson}/comments", headers=headers,
                             json={"at": 1, "text": "x", "category": "note"})  # fmt: skip
        assert posted.status_code == 404
    # the lesson's own teacher sees it and may reflect on it (教学反思)
    teacher = as_(client, ACCOUNTS["teacher"])
    review = client.get(f"/api/v1/recordings/{lesson}", headers=teacher).json()
    assert review["me"]["can_review"]
    # an inspector may watch but not review
    inspector = as_(client, ACCOUNTS["inspector"])
    assert not client.get(f"/api/v1/recordings/{lesson}", headers=inspector).json()["me"][
        "can_review"
    ]
    refused = client.post(f"/api/v1/recordings/{lesson}/comments", headers=inspector,
                          json={"at": 1, "text": "好", "category": "note"})  # fmt: skip
    assert refused.status_code == 403 and refused.json()["error"] == "not_reviewer"


def test_comments_keep_their_visibility_and_take_replies(
    client: TestClient, app: FastAPI, lesson: str
) -> None:
    researcher = as_(client, ACCOUNTS["researcher"])
    teacher = as_(client, ACCOUNTS["teacher"])
    base = f"/api/v1/recordings/{lesson}/comments"
    public = client.post(base, headers=researcher, json={
        "at": 3.5, "until": 8.0, "category": "strength", "visibility": "all",
        "text": "<script>alert(1)</script> 导入自然", "rubric_item": "goals", "value": 4,
    })  # fmt: skip
    assert public.status_code == 201, public.text
    assert public.json()["text"] == "<script>alert(1)</script> 导入自然"  # kept as text
    private = client.post(
        base,
        headers=researcher,
        json={"at": 5, "category": "note", "visibility": "me", "text": "自己看"},
    )
    assert private.status_code == 201
    seen = client.get(base, headers=teacher).json()
    assert [c["text"] for c in seen] == ["<script>alert(1)</script> 导入自然"]
    reply = client.post(f"{base}/{public.json()['id']}/replies", headers=teacher,
                        json={"text": "谢谢指导"})  # fmt: skip
    assert reply.status_code == 201
    again = client.get(base, headers=researcher).json()
    assert [c["at"] for c in again] == [3.5, 5.0]
    assert again[0]["replies"][0]["text"] == "谢谢指导" and again[0]["mine"]
    # a value in a comment is the reviewer's score for that item
    scores = client.get(f"/api/v1/recordings/{lesson}/scores", headers=researcher).json()
    assert scores["mine"] == {"goals": 4}
    # only its author deletes a comment; the private one stays hidden from others
    assert client.delete(f"{base}/{public.json()['id']}", headers=teacher).status_code == 403
    assert client.delete(f"{base}/{private.json()['id']}", headers=teacher).status_code == 404
    assert client.delete(f"{base}/{private.json()['id']}", headers=researcher).status_code == 204


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"at": 9999, "text": "x"}, "at", "录像范围"),
        ({"at": 5, "until": 4, "text": "x"}, "until", "晚于"),
        ({"at": 5, "text": "  "}, "text", "填写"),
        ({"at": 5, "text": "x", "category": "praise"}, "category", "类别"),
        ({"at": 5, "text": "x", "visibility": "group", "group": 77}, "group", "研修组"),
        ({"at": 5, "text": "x", "rubric_item": "goals", "value": 9}, "value", "量表"),
        ({"at": 5, "text": "x", "rubric_item": "charisma", "value": 3}, "rubric_item", "量表"),
        ({"at": "soon", "text": "x"}, "at", "录像范围"),
    ],
)
def test_a_bad_comment_is_refused_in_chinese_and_nothing_is_kept(
    client: TestClient, lesson: str, body: dict[str, Any], field: str, words: str
) -> None:
    researcher = as_(client, ACCOUNTS["researcher"])
    base = f"/api/v1/recordings/{lesson}/comments"
    answer = client.post(base, headers=researcher, json={"category": "note", **body})
    assert answer.status_code == 422
    assert answer.json()["error"] == f"invalid_{field}" and words in answer.json()["message"]
    assert client.get(base, headers=researcher).json() == []


def test_scores_sum_per_reviewer_and_average_over_complete_sheets(
    client: TestClient, app: FastAPI, lesson: str
) -> None:
    url = f"/api/v1/recordings/{lesson}/scores"
    researcher, teacher = as_(client, ACCOUNTS["researcher"]), as_(client, ACCOUNTS["teacher"])
    items = [i["id"] for i in client.get(url, headers=researcher).json()["rubric"]["items"]]
    full = dict.fromkeys(items, 4)
    assert client.put(url, headers=researcher, json={"scores": full}).status_code == 200
    half = client.put(url, headers=teacher, json={"scores": {items[0]: 2}}).json()
    by_name = {r["name"]: r for r in half["reviewers"]}
    assert by_name["周雯"]["total"] == 4 * len(items) and by_name["周雯"]["complete"]
    assert by_name["王晓燕"]["total"] == 2 and not by_name["王晓燕"]["complete"]
    assert half["average"]["total"] == 4 * len(items) and half["average"]["reviewers"] == 1
    assert half["average"]["per_item"][items[0]] == 3.0
    bad = client.put(url, headers=teacher, json={"scores": {items[0]: 0}})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_value"


def test_a_clip_is_cut_by_the_worker_without_transcoding_and_plays_by_its_link(
    client: TestClient, app: FastAPI, engine: Engine, lesson: str
) -> None:
    researcher = as_(client, ACCOUNTS["researcher"])
    url = f"/api/v1/recordings/{lesson}/clips"
    bad = client.post(url, headers=researcher, json={"title": "导入", "start": 6, "end": 5})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_end"
    made = client.post(url, headers=researcher, json={"title": "导入环节", "start": 5, "end": 9})
    assert made.status_code == 202 and made.json()["state"] == "queued"
    services = services_of(app)
    data = services.settings.data_dir

    def clip_range(clip_id: int) -> tuple[float, float]:
        clip = services.reviews.store.clip(clip_id)
        return clip.start, clip.end

    worker = JobWorker(JobQueue(engine), data / "recordings", data / "assets", "test",
                       clips=clip_range)  # fmt: skip
    job = asyncio.run(worker.run_once())
    assert job is not None and job.kind.startswith("clip:")
    clip = client.get(url, headers=researcher).json()[0]
    assert clip["state"] == "ready", clip
    assert clip["cut_start"] <= 5 and clip["cut_end"] == pytest.approx(9, abs=0.1)
    played = client.get(clip["url"])
    assert played.status_code == 200 and len(played.content) > 1000
    teacher = as_(client, ACCOUNTS["teacher"])  # the lesson's teacher sees clips of it
    assert [c["title"] for c in client.get(url, headers=teacher).json()] == ["导入环节"]


def test_a_research_group_shares_a_recording_and_runs_a_review_session(
    client: TestClient, app: FastAPI, lesson: str
) -> None:
    researcher = as_(client, ACCOUNTS["researcher"])
    member_id = account(app, "liuhe.english", Role.TEACHER, Scope(school="cs-liuhe"))
    member = as_(client, "liuhe.english")
    assert client.get(f"/api/v1/recordings/{lesson}", headers=member).status_code == 404
    group = client.post("/api/v1/groups", headers=researcher, json={"name": "青溪县英语研修组"})
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    assert (
        client.post(
            f"/api/v1/groups/{gid}/members", headers=member, json={"user_id": member_id}
        ).status_code
        == 403
    )  # only the lead
    added = client.post(f"/api/v1/groups/{gid}/members", headers=researcher,
                        json={"user_id": member_id})  # fmt: skip
    assert [m["name"] for m in added.json()["members"]] == ["周雯", "liuhe.english"]
    deadline = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    session = client.post(f"/api/v1/groups/{gid}/sessions", headers=researcher, json={
        "title": "第十二周英语评课", "deadline": deadline, "recordings": [lesson],
    })  # fmt: skip
    assert session.status_code == 201, session.text
    sessions = client.get("/api/v1/sessions", headers=member).json()
    assert [(s["title"], s["done"], s["open"]) for s in sessions] == [
        ("第十二周英语评课", False, True)
    ]
    review = client.get(f"/api/v1/recordings/{lesson}", headers=member).json()
    assert review["me"]["can_review"] and review["me"]["groups"] == [
        {"id": gid, "name": "青溪县英语研修组"}
    ]
    base = f"/api/v1/recordings/{lesson}/comments"
    for_group = client.post(base, headers=member, json={
        "at": 2, "category": "question", "visibility": "group", "group": gid, "text": "提问设计？",
    })  # fmt: skip
    assert for_group.status_code == 201, for_group.text
    assert client.get("/api/v1/sessions", headers=member).json()[0]["done"]
    assert [c["text"] for c in client.get(base, headers=researcher).json()] == ["提问设计？"]
    teacher = as_(client, ACCOUNTS["teacher"])  # not in the group
    assert client.get(base, headers=teacher).json() == []
    past = client.post(
        f"/api/v1/groups/{gid}/sessions",
        headers=researcher,
        json={"title": "x", "deadline": "2020-01-01", "recordings": [lesson]},
    )
    assert past.status_code == 422 and past.json()["error"] == "invalid_deadline"


def test_the_review_exports_as_a_workbook_and_a_printable_page(
    client: TestClient, lesson: str
) -> None:
    researcher = as_(client, ACCOUNTS["researcher"])
    posted = client.post(f"/api/v1/recordings/{lesson}/comments", headers=researcher, json={
        "at": 10.5, "category": "suggestion", "text": "=HYPERLINK(\"x\") 多给远端学生发言机会",
    })  # fmt: skip
    assert posted.status_code == 201, posted.text
    answer = client.get(f"/api/v1/recordings/{lesson}/export.xlsx", headers=researcher)
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["评课意见", "评分", "发言时间", "S-T分析"]
    row = [c.value for c in book["评课意见"][3]]
    assert row[:3] == ["00:10", None, "建议"] and row[7].startswith("=HYPERLINK")
    assert book["评课意见"].cell(3, 8).data_type == "s"  # text, never a formula
    page = client.get(f"/review/{lesson}/print", headers=researcher)
    assert page.status_code == 200 and "多给远端学生发言机会" in page.text


def test_an_admin_marks_an_exemplary_lesson_and_an_inspector_may_not(
    client: TestClient, lesson: str
) -> None:
    url = f"/api/v1/recordings/{lesson}/exemplary"
    inspector = as_(client, ACCOUNTS["inspector"])
    assert client.put(url, headers=inspector, json={"exemplary": True}).status_code == 403
    admin = as_(client, ACCOUNTS["admin"])
    assert client.put(url, headers=admin, json={"exemplary": True}).status_code == 204
    listed = client.get("/api/v1/recordings", headers=admin).json()
    assert next(r for r in listed if r["recording"] == lesson)["exemplary"]


def test_a_recording_being_processed_shows_its_progress_and_cannot_be_played_yet(
    client: TestClient, app: FastAPI, engine: Engine
) -> None:
    lesson = lessons_now(engine, started_minutes_ago=50)[0].id
    queue, now = JobQueue(engine), datetime.now(UTC)
    queue.enqueue(lesson, ASSETS, now)
    job = queue.claim("test", now, timedelta(minutes=5))
    assert job is not None
    queue.progress(job, 45, now, extend=timedelta(minutes=5))
    researcher = as_(client, ACCOUNTS["researcher"])
    row = next(r for r in client.get("/api/v1/recordings", headers=researcher).json()
               if r["recording"] == lesson)  # fmt: skip
    assert (row["state"], row["progress"], row["thumbnail"]) == ("processing", 45, None)
    page = client.get("/recordings", headers=researcher)
    assert "处理中 45%" in page.text
    review = client.get(f"/api/v1/recordings/{lesson}", headers=researcher).json()
    assert review["state"] == "processing" and review["tracks"] == []
    clip = client.post(f"/api/v1/recordings/{lesson}/clips", headers=researcher,
                       json={"title": "x", "start": 1, "end": 2})  # fmt: skip
    assert clip.status_code == 403 and clip.json()["error"] == "not_ready"
