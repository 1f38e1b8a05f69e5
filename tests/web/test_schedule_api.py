"""The schedule API end to end: import, solve with progress, publish, repair, exports."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kernel.events import Event
from rooms.events import LessonCancelled, LessonScheduled
from scheduler.export import write_input
from tests.web.conftest import ACCOUNTS, bearer
from web import demo
from web.demo import county
from web.schedule import ScheduleService


def files_of(folder: Path) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(folder.glob("*.csv"))]


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(client, ACCOUNTS["admin"])


@pytest.fixture
def good(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    write_input(county(), folder)
    return folder


def solved(client: TestClient, admin: dict[str, str], seconds: float = 5) -> dict[str, Any]:
    """Start a solve, follow its server-sent events to the end, return the last one."""
    started = client.post("/api/v1/schedule/solve", json={"time_limit": seconds}, headers=admin)
    assert started.status_code == 202, started.text
    kinds, last = [], None
    with client.stream("GET", started.json()["events"], headers=admin) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
                kinds.append(kind)
            elif line.startswith("data: "):
                last = json.loads(line.removeprefix("data: "))
                if kind == "done":
                    break
    assert kinds[-1] == "done" and last is not None
    assert last["state"] == "done" and last["percent"] == 100, last
    return dict(last)


def test_bad_files_are_all_reported_and_nothing_is_imported(
    client: TestClient, admin: dict[str, str], good: Path
) -> None:
    before = client.get("/api/v1/schools", headers=admin).json()
    classes = good / "classes.csv"
    classes.write_text(
        classes.read_text(encoding="utf-8-sig") + "x1,nowhere,nowhere-r,3,10\nx1,tp,r,九,-1\n",
        encoding="utf-8",
    )
    (good / "bells.csv").write_bytes("bell_schedule_id,period,start\n".encode("utf-16"))
    answer = client.post(
        "/api/v1/schedule/import",
        files=[*files_of(good), ("files", ("notes.txt", b"hi", "text/plain"))],
        headers=admin,
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "import_failed" and "处问题" in body["message"]
    where = {(p["file"], p["line"]) for p in body["problems"]}
    assert ("notes.txt", 0) in where  # an unknown file is named, not ignored
    with_lang = client.post(
        "/api/v1/schedule/import?lang=en", files=files_of(good), headers=admin
    ).json()
    assert {p["file"] for p in with_lang["problems"]} >= {"bells.csv"}
    assert client.get("/api/v1/schools", headers=admin).json() == before
    huge = [("files", ("busy.csv", b"owner_id,day,period\n" + b"x" * (21 * 2**20), "text/csv"))]
    too_big = client.post("/api/v1/schedule/import", files=huge, headers=admin).json()
    assert too_big["problems"][0]["message"].startswith("文件过大")
    log = client.get("/api/v1/audit", headers=admin).json()
    failed = [e for e in log if e["action"] == "schedule.import"]
    assert failed and {e["outcome"] for e in failed} == {"failure"}


def test_import_solve_publish_repair_and_export(
    client: TestClient, admin: dict[str, str], good: Path
) -> None:
    before = client.get("/api/v1/schools", headers=admin).json()
    imported = client.post("/api/v1/schedule/import", files=files_of(good), headers=admin)
    assert imported.status_code == 200, imported.text
    assert imported.json()["classes"] == len(county().classes)
    assert client.get("/api/v1/schools", headers=admin).json() == before  # same codes

    run = solved(client, admin)
    plan = client.get(f"/api/v1/schedule/plans/{run['plan_id']}", headers=admin).json()
    assert plan["scheduled"] == plan["demand"] > 0 and plan["unmet_needs"] == []
    assert {"lesson_id", "day", "period", "class_ids"} <= set(plan["lessons"][0])

    live = client.app.state.services.live  # type: ignore[attr-defined]
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(live.bus.subscribe("lesson.*/*")) as sub:
        check_publish_and_repair(client, admin, plan, sub)

    actions = {e["action"] for e in client.get("/api/v1/audit", headers=admin).json()}
    assert {"schedule.import", "schedule.solve", "schedule.publish", "schedule.repair"} <= actions

    for name in ("timetable.csv", "unmet.csv", "workload.csv"):
        got = client.get(f"/api/v1/schedule/plans/{plan['id']}/files/{name}", headers=admin)
        assert got.status_code == 200 and got.content.startswith("\ufeff".encode())
    book = client.get(f"/api/v1/schedule/plans/{plan['id']}/files/timetable.xlsx", headers=admin)
    assert book.content[:2] == b"PK"
    ics = client.get(f"/api/v1/schedule/plans/{plan['id']}/files/calendars.zip", headers=admin)
    names = zipfile.ZipFile(io.BytesIO(ics.content)).namelist()
    assert any(n.startswith("teacher-") for n in names) and all(n.endswith(".ics") for n in names)


def test_mistakes_get_clear_answers(client: TestClient, admin: dict[str, str]) -> None:
    teacher = bearer(client, ACCOUNTS["teacher"])
    denied = client.post("/api/v1/schedule/solve", json={"time_limit": 1}, headers=teacher)
    assert denied.status_code == 403
    missing = client.get("/api/v1/schedule/plans/424242", headers=admin)
    assert missing.status_code == 404 and "424242" in missing.json()["message"]
    assert client.get("/api/v1/schedule/runs/424242", headers=admin).status_code == 404
    run = solved(client, admin, seconds=2)  # the demo county, as installed
    plan_id = run["plan_id"]
    backwards = {"term_start": "2027-03-31", "term_end": "2027-03-01"}
    wrong = client.post(f"/api/v1/schedule/plans/{plan_id}/publish", json=backwards,
                        headers=admin)  # fmt: skip
    assert wrong.status_code == 422 and "学期日期" in wrong.json()["message"]
    nobody = client.post(
        f"/api/v1/schedule/plans/{plan_id}/repair",
        json={"absent": ["t-nobody"], "from": "2027-03-01", "to": "2027-03-02"},
        headers=admin,
    )
    assert nobody.status_code == 422 and "t-nobody" in nobody.json()["message"]
    unpublished = client.get(f"/api/v1/schedule/plans/{plan_id}/files/calendars.zip",
                             headers=admin)  # fmt: skip
    assert unpublished.status_code == 422 and "尚未发布" in unpublished.json()["message"]
    assert (
        client.get(f"/api/v1/schedule/plans/{plan_id}/files/x.exe", headers=admin).status_code
        == 422
    )


def check_publish_and_repair(
    client: TestClient, admin: dict[str, str], plan: dict[str, Any], subscription: Any
) -> None:
    term = {"term_start": "2027-03-01", "term_end": "2027-03-31"}  # 4 weeks and 3 days
    published = client.post(
        f"/api/v1/schedule/plans/{plan['id']}/publish", json=term, headers=admin
    ).json()
    weekly = len(plan["lessons"])
    assert published == {"added": weekly * 4 + published["added"] % weekly, "cancelled": 0,
                         "announced": True}  # fmt: skip
    portal = client.portal
    assert portal is not None
    first: Event = portal.call(subscription.get)
    assert isinstance(first, LessonScheduled) and first.day.startswith("2027-03")
    assert first.starts_at.tzinfo is not None and first.starts_at < first.ends_at

    again = client.post(f"/api/v1/schedule/plans/{plan['id']}/publish", json=term, headers=admin)
    assert again.json()["added"] == again.json()["cancelled"] == 0  # publishing is idempotent

    march = client.get("/api/v1/schedule/lessons?from=2027-03-01&to=2027-03-31", headers=admin)
    assert len(march.json()) == published["added"]

    absent = plan["lessons"][0]["teacher_id"]
    repaired = client.post(
        f"/api/v1/schedule/plans/{plan['id']}/repair",
        json={"absent": [absent], "from": "2027-03-08", "to": "2027-03-12"},
        headers=admin,
    ).json()
    theirs = {le["lesson_id"] for le in plan["lessons"] if le["teacher_id"] == absent}
    assert theirs <= {le["lesson_id"] for le in repaired["removed"]}
    assert all(le["teacher_id"] != absent for le in repaired["added"])
    assert repaired["dated_cancelled"] == len(repaired["removed"])  # one week of them
    week = client.get("/api/v1/schedule/lessons?from=2027-03-08&to=2027-03-12", headers=admin)
    assert absent not in {o["teacher_id"] for o in week.json()}
    after = client.get("/api/v1/schedule/lessons?from=2027-03-15&to=2027-03-19", headers=admin)
    assert absent in {o["teacher_id"] for o in after.json()}  # outside the dates: unchanged
    left = published["added"] - 1 + repaired["dated_cancelled"] + repaired["dated_added"]
    seen = [portal.call(subscription.get) for _ in range(left)]
    cancelled = [e for e in seen if isinstance(e, LessonCancelled)]
    assert len(cancelled) == repaired["dated_cancelled"]
    assert {e.reason for e in cancelled} == {"repair"}
    fixes = [e for e in seen if isinstance(e, LessonScheduled) and e.repair]
    assert len(fixes) == repaired["dated_added"] and all(e.teacher_id != absent for e in fixes)


def test_the_home_page_lists_todays_lessons_of_the_readers_schools(
    client: TestClient, engine: Engine
) -> None:
    tuesday = datetime(2027, 3, 2, 0, 30, tzinfo=UTC)  # 08:30 in Beijing
    schedule = ScheduleService(engine, lambda: tuesday)
    client.app.state.services.schedule = schedule  # type: ignore[attr-defined]
    plan = demo.install_plan(schedule, seconds=2)
    assert plan is not None
    room = bearer(client, "yangshuwan.room1")
    page = client.get("/", headers=room).text
    mine = [le for le in plan.timetable.lessons if le.day == 2
            and any(c.startswith("tp-yangshuwan") for c in le.class_ids)]  # fmt: skip
    assert f"今天的专递课（{len(mine)}）" in page and mine
    assert "杨树湾教学点" in page
    everyone = client.get("/", headers=bearer(client, ACCOUNTS["admin"])).text
    assert f"今天的专递课（{sum(le.day == 2 for le in plan.timetable.lessons)}）" in everyone
