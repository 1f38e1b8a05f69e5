"""The indicators API: each indicator's figures for a known week, the reader's scope,
the XLSX export, and a recompute by an operator."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from rooms.store import RoomStore
from tests.web.conftest import ACCOUNTS, bearer
from tests.web.indicator_fixtures import MONDAY, a_lesson, publish_week
from tests.web.live_fixtures import OTHER_TEACHER, TEACHER
from web.services import Services

WEEK = {"from": MONDAY.isoformat(), "to": (MONDAY + timedelta(days=6)).isoformat()}


@pytest.fixture
def week(app: FastAPI, engine: Engine, client: TestClient) -> Services:
    """Monday held (a classroom 5 minutes late), Tuesday ended early, Wednesday's absence
    repaired and the cover lesson held; the facts refreshed."""
    occurrences = publish_week(engine)
    ids = {(o.day, o.state, o.lesson.teacher_id): o.id for o in occurrences}
    rooms = RoomStore(engine)
    rooms.append(a_lesson(ids[(MONDAY, "scheduled", TEACHER)], TEACHER, MONDAY, late=5))
    tuesday = MONDAY + timedelta(days=1)
    rooms.append(a_lesson(ids[(tuesday, "scheduled", TEACHER)], TEACHER, tuesday, end_after=20))
    wednesday = MONDAY + timedelta(days=2)
    cover = ids[(wednesday, "scheduled", OTHER_TEACHER)]
    rooms.append(a_lesson(cover, OTHER_TEACHER, wednesday))
    services: Services = app.state.services
    services.indicators.refresh()
    return services


def get(client: TestClient, path: str, user: str = "admin", **params: Any) -> Any:
    response = client.get(path, params={**WEEK, **params}, headers=bearer(client, user))
    assert response.status_code == 200, response.text
    return response.json()


def test_each_indicator_for_the_county_and_one_level_down(
    client: TestClient, week: Services
) -> None:
    listing = client.get("/api/v1/indicators", headers=bearer(client, "admin")).json()
    assert {"held", "attendance", "quality", "coverage", "workload", "patrol", "research",
            "lessons"} <= set(listing["indicators"])  # fmt: skip

    held = get(client, "/api/v1/indicators/held", group="total")
    (total,) = held["rows"]
    assert (total["scheduled"], total["held"], total["rate"]) == (3, 2, 0.6667)
    assert total["not_held"] == {"ended_early": 1} and total["repaired"] == 1
    assert held["filter"]["region"] == "349921"  # the admin's county

    by_default = get(client, "/api/v1/indicators/held")
    assert by_default["filter"]["group"] == "township"  # a county lists its townships
    assert sum(r["scheduled"] for r in by_default["rows"]) == 3
    assert all(r["name"] and r["name"] != r["key"] for r in by_default["rows"])

    (attendance,) = get(client, "/api/v1/indicators/attendance", group="total")["rows"]
    assert (attendance["expected"], attendance["on_time"]) == (9, 8)
    quality = get(client, "/api/v1/indicators/quality", group="school")["rows"]
    assert {r["key"] for r in quality} == {"tp-yangshuwan", "tp-taoyuan", "tp-longtan"}
    longtan = next(r for r in quality if r["key"] == "tp-longtan")
    assert longtan["median_loss"] == 0.08 and longtan["poor"] == 3

    workload = {r["teacher_id"]: r for r in get(client, "/api/v1/indicators/workload")["rows"]}
    assert (workload[TEACHER]["scheduled"], workload[TEACHER]["taught"]) == (2, 1)
    lessons = get(client, "/api/v1/indicators/lessons")["rows"]
    assert [r["status"] for r in lessons] == ["held", "not_held", "repaired", "held"]
    assert len(lessons[0]["receivers_detail"]) == 3
    coverage = get(client, "/api/v1/indicators/coverage")["rows"]
    assert any(r["subject"] == "英语" and r["delivered"] == 2 for r in coverage)


def test_the_scope_bounds_what_a_reader_gets(client: TestClient, week: Services) -> None:
    # a school administrator sees their school's lessons only (石门 taught Wednesday's cover)
    held = get(client, "/api/v1/indicators/held", ACCOUNTS["school_admin"], group="total")
    assert [(r["scheduled"], r["held"]) for r in held["rows"]] == [(1, 1)]
    headers = bearer(client, ACCOUNTS["inspector"])
    province = client.get("/api/v1/indicators/held", params={**WEEK, "region": "340000"},
                          headers=headers)  # fmt: skip
    assert province.status_code == 403
    assert client.get("/api/v1/indicators/held", params={**WEEK, "school": "elsewhere"},
                      headers=headers).status_code == 403  # fmt: skip
    teacher = client.get("/api/v1/indicators/held", headers=bearer(client, "wang.xiaoyan"))
    assert teacher.status_code == 403
    assert client.get("/api/v1/indicators/held").status_code == 401
    bad = client.get("/api/v1/indicators/held", params={**WEEK, "group": "planet"},
                     headers=headers)  # fmt: skip
    assert bad.status_code == 400 and "township" in bad.text
    assert client.get("/api/v1/indicators/nothing", headers=headers).status_code == 404
    backwards = client.get("/api/v1/indicators/held", headers=headers,
                           params={"from": WEEK["to"], "to": WEEK["from"]})  # fmt: skip
    assert backwards.status_code == 400


def test_the_export_has_a_sheet_per_indicator(client: TestClient, week: Services) -> None:
    response = client.get("/api/v1/indicators/export.xlsx", params={**WEEK, "group": "total"},
                          headers=bearer(client, "admin"))  # fmt: skip
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["开课率", "接收端出勤", "音视频质量", "开齐开足", "教师工作量",
                               "巡课与教研"]  # fmt: skip
    held = book["开课率"]
    assert [c.value for c in held[3]][:4] == ["全部", 3, 2, "66.7%"]


def test_an_operator_recomputes_a_period_and_others_may_not(
    client: TestClient, week: Services
) -> None:
    refused = client.post("/api/v1/indicators/recompute", params=WEEK,
                          headers=bearer(client, ACCOUNTS["inspector"]))  # fmt: skip
    assert refused.status_code == 403
    done = client.post("/api/v1/indicators/recompute", params=WEEK,
                       headers=bearer(client, "admin"))  # fmt: skip
    assert done.status_code == 200 and done.json()["lessons"] == 4
    (total,) = get(client, "/api/v1/indicators/held", group="total")["rows"]
    assert total["held"] == 2


def test_a_school_filter_covers_the_lessons_it_teaches_and_those_it_receives(
    client: TestClient, week: Services
) -> None:
    # a teaching point: the three lessons its class followed, its own classroom only
    (point,) = get(client, "/api/v1/indicators/held", group="total", school="tp-longtan")["rows"]
    assert (point["scheduled"], point["held"]) == (3, 2)
    (seen,) = get(client, "/api/v1/indicators/attendance", group="total",
                  school="tp-longtan")["rows"]  # fmt: skip
    assert seen["expected"] == 3
    # a central school: its two lessons and the classrooms that followed them
    (central,) = get(client, "/api/v1/indicators/attendance", group="total",
                     school="cs-qingxi-shiyan")["rows"]  # fmt: skip
    assert central["expected"] == 6
