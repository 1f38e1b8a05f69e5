"""Live lessons through the API and the lesson channel, in one app process.

Rooms open by the clock, each role gets the grant it should and no more, the
teacher's controls change what classrooms may publish, and every refusal says why.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.authorize import scope_target
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor, IdentityService
from identity.store import IdentityStore
from identity.users import NewUser
from media.grants import verify_grant
from rooms.lesson import Seat
from rooms.lifecycle import RoomState
from scheduler.plan import Lesson
from tests.web.conftest import PASSWORD
from tests.web.live_fixtures import CLASSROOMS, OTHER_TEACHER, lessons_now
from web.i18n import translate
from web.pages import BEIJING
from web.services import Services

TEACHER_SEAT = Seat("teacher", "teacher:cs-qingxi-shiyan-t1", "王晓燕")


def sign_in(client: TestClient, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def step(client: TestClient, app: FastAPI, at: datetime | None = None) -> None:
    lessons = services_of(app).lessons
    client.portal.call(lessons.step, at or datetime.now(UTC))  # type: ignore[union-attr]


@pytest.fixture
def lesson(app: FastAPI, engine: Engine, client: TestClient) -> str:
    other = Lesson("NOW2", 1, 2, OTHER_TEACHER, "cs-shimen-out1", "音乐", 3, ("tp-hekou-g3",))
    occurrences = lessons_now(engine, extra=(other,))
    step(client, app)
    return occurrences[0].id


def token_for(client: TestClient, lesson: str, classroom: str | None = None) -> Any:
    query = f"?classroom={classroom}" if classroom else ""
    return client.post(f"/api/v1/lessons/{lesson}/token{query}")


def grant_of(app: FastAPI, token: str) -> Any:
    return verify_grant(token, services_of(app).media_secret, datetime.now(UTC))


def test_the_room_opens_by_the_clock_and_each_role_gets_its_grant(
    app: FastAPI, client: TestClient, lesson: str
) -> None:
    sign_in(client, "wang.xiaoyan")
    snapshot = client.get(f"/api/v1/lessons/{lesson}").json()
    assert snapshot["state"] == "open"
    assert [r["classroom"] for r in snapshot["receivers"]] == list(CLASSROOMS)
    teacher = grant_of(app, token_for(client, lesson).json()["token"])
    assert teacher.identity == "teacher:cs-qingxi-shiyan-t1"
    assert teacher.can_publish == {"camera", "microphone", "screen", "screen_audio"}
    assert not teacher.hidden
    assert teacher.room == lesson

    sign_in(client, "yangshuwan.room1")
    answer = token_for(client, lesson, "tp-yangshuwan-r1")
    assert answer.status_code == 200, answer.text
    classroom = grant_of(app, answer.json()["token"])
    assert classroom.identity == "classroom:tp-yangshuwan-r1"
    assert classroom.can_publish == {"camera"}  # the microphone only while called on
    assert classroom.can_subscribe and not classroom.hidden

    sign_in(client, "li.xunke")
    inspector = grant_of(app, token_for(client, lesson).json()["token"])
    assert inspector.hidden and inspector.can_publish == frozenset() and inspector.can_subscribe


def test_a_lesson_just_after_midnight_opens_before_it_like_any_other(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    # the clock read yesterday's and today's lessons only: at 23:55 Beijing time the
    # lesson at 00:05 was tomorrow's, and opened at midnight, five minutes late
    # a day far from today: the app's own clock runs beside the test, on the real time
    evening = datetime(2027, 3, 1, 23, 55, tzinfo=BEIJING).astimezone(UTC)
    (soon,) = lessons_now(engine, evening, started_minutes_ago=-10)
    step(client, app, evening)
    lessons = services_of(app).lessons
    ((room, _),) = lessons.rooms_of([lessons.view(soon.id)]).values()
    assert room.state is RoomState.OPEN
    assert room.opened_at == evening


def test_lessons_list_each_role_its_own(client: TestClient, lesson: str) -> None:
    sign_in(client, "wang.xiaoyan")
    mine = client.get("/api/v1/lessons").json()
    assert [row["lesson"] for row in mine] == [lesson]
    sign_in(client, "yangshuwan.room1")
    rows = client.get("/api/v1/classrooms/tp-yangshuwan-r1/lessons").json()
    assert [row["lesson"] for row in rows] == [lesson]
    assert rows[0]["state"] == "open"
    sign_in(client, "li.xunke")
    assert len(client.get("/api/v1/lessons").json()) == 2
    page = client.get("/lessons")
    assert page.status_code == 200 and "王晓燕" in page.text


@pytest.mark.parametrize(
    ("username", "classroom", "status", "code", "text"),
    [
        ("yangshuwan.room1", "tp-hekou-r1", 403, "not_your_classroom", "本教室不接收这节课"),
        ("yangshuwan.room1", None, 403, "not_your_classroom", "本教室不接收这节课"),
        ("shimen.admin", None, 403, "role", "您的角色不参与直播课堂"),
    ],
)
def test_a_seat_beyond_the_account_is_refused_in_chinese(
    client: TestClient, lesson: str, username: str, classroom: str | None, status: int,
    code: str, text: str,
) -> None:  # fmt: skip
    sign_in(client, username)
    answer = token_for(client, lesson, classroom)
    assert answer.status_code == status
    assert answer.json()["error"] == code
    assert text in answer.json()["message"]


def test_another_teacher_and_another_region_are_refused(
    app: FastAPI, client: TestClient, lesson: str, engine: Engine
) -> None:
    other = client.get("/api/v1/lessons", headers={}).status_code  # not signed in
    assert other == 401
    sign_in(client, "li.xunke")
    music = next(r for r in client.get("/api/v1/lessons").json() if r["subject"] == "音乐")
    sign_in(client, "wang.xiaoyan")
    answer = token_for(client, music["lesson"])
    assert (answer.status_code, answer.json()["error"]) == (403, "not_your_lesson")
    sign_in(client, "zhou.jiaoyan")  # researchers watch master lessons only
    answer = token_for(client, music["lesson"])
    assert (answer.status_code, answer.json()["error"]) == (403, "not_master")
    assert grant_of(app, token_for(client, lesson).json()["token"]).hidden
    identity = IdentityService(IdentityStore(engine), services_of(app).identity._hasher)
    spec = NewUser("far.xunke", "外县巡课员", PASSWORD, Role.INSPECTOR, Scope(region="341524"))
    identity.create_user(Actor.cli(), spec, scope_target(spec.scope, "341524"), "341524",
                         datetime.now(UTC))  # fmt: skip
    sign_in(client, "far.xunke")
    answer = token_for(client, lesson)
    assert (answer.status_code, answer.json()["error"]) == (403, "other_region")
    assert "不在您的管理区域" in answer.json()["message"]
    assert client.get("/api/v1/patrol").json()["lessons"] == []


def test_an_ended_lesson_refuses_joins_and_says_so(
    app: FastAPI, client: TestClient, lesson: str
) -> None:
    sign_in(client, "wang.xiaoyan")
    with client.websocket_connect(f"/api/v1/lessons/{lesson}/live") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json({"type": "end"})
        while (message := ws.receive_json())["state"] != "ended":
            pass
        assert message["end_reason"] == "teacher"
    answer = token_for(client, lesson)
    assert (answer.status_code, answer.json()["error"]) == (409, "ended")
    assert answer.json()["message"] == "这节课已经结束。"
    sign_in(client, "yangshuwan.room1")
    rows = client.get("/api/v1/classrooms/tp-yangshuwan-r1/lessons").json()
    assert rows[0]["state"] == "ended"


def snapshot_until(ws: Any, check: Any) -> dict[str, Any]:
    for _ in range(50):
        message = ws.receive_json()
        if message["type"] == "snapshot" and check(message):
            return message  # type: ignore[no-any-return]
    raise AssertionError("no such snapshot")


def test_controls_decide_who_may_speak_and_receivers_cannot_undo_them(
    app: FastAPI, client: TestClient, lesson: str
) -> None:
    sign_in(client, "yangshuwan.room1")
    room = f"/api/v1/lessons/{lesson}/live?classroom=tp-yangshuwan-r1"
    me = "classroom:tp-yangshuwan-r1"
    with client.websocket_connect(room) as kiosk:
        snapshot_until(kiosk, lambda s: True)
        kiosk.send_json({"type": "control", "action": "raise_hand"})
        s = snapshot_until(kiosk, lambda s: s["controls"]["hands"] == [me])
        assert next(r for r in s["receivers"] if r["identity"] == me)["hand"]
        kiosk.send_json({"type": "control", "action": "call_on", "target": me})
        error = kiosk.receive_json()
        while error["type"] != "error":
            error = kiosk.receive_json()
        assert error["code"] == "not_allowed"
        teacher_does(client, app, lesson, "call_on", me)
        s = snapshot_until(kiosk, lambda s: s["controls"]["called_on"] == me)
        assert s["controls"]["hands"] == []
        assert "microphone" in may_publish(app, client, lesson, "tp-yangshuwan-r1")
        teacher_does(client, app, lesson, "disable_interaction")
        snapshot_until(kiosk, lambda s: s["controls"]["interaction_disabled"])
        assert "microphone" not in may_publish(app, client, lesson, "tp-yangshuwan-r1")
        kiosk.send_json({"type": "control", "action": "raise_hand"})
        kiosk.send_json({"type": "control", "action": "enable_interaction"})
        codes: list[str] = []
        while len(codes) < 2:
            message = kiosk.receive_json()
            if message["type"] == "error":
                codes.append(message["code"])
        assert codes == ["interaction_disabled", "not_allowed"]
        assert "主讲教师已关闭互动" in translate("zh-CN", "lesson.error.interaction_disabled")
        kiosk.send_json({"type": "chat", "text": "老师好"})
        message = kiosk.receive_json()
        while message["type"] != "error":
            message = kiosk.receive_json()
        assert message["code"] == "interaction_disabled"


def teacher_does(
    client: TestClient, app: FastAPI, lesson: str, action: str, target: str = ""
) -> None:
    """What the teacher console's buttons do, straight through the service."""
    lessons = services_of(app).lessons
    client.portal.call(lessons.control, lesson, TEACHER_SEAT, action, target)  # type: ignore[union-attr]


def may_publish(app: FastAPI, client: TestClient, lesson: str, classroom: str) -> frozenset[str]:
    """What a media token fetched now lets the classroom publish."""
    grant = grant_of(app, token_for(client, lesson, classroom).json()["token"])
    return grant.can_publish  # type: ignore[no-any-return]


def test_a_second_device_for_one_classroom_takes_over_and_the_first_is_told(
    client: TestClient, lesson: str
) -> None:
    sign_in(client, "yangshuwan.room1")
    room = f"/api/v1/lessons/{lesson}/live?classroom=tp-yangshuwan-r1"
    with client.websocket_connect(room) as first:
        snapshot_until(first, lambda s: True)
        with client.websocket_connect(room) as second:
            message = first.receive_json()
            while message["type"] == "snapshot":
                message = first.receive_json()
            assert message["type"] == "replaced"
            assert "另一台设备" in message["message"]
            assert snapshot_until(second, lambda s: True)["you"] == "classroom:tp-yangshuwan-r1"


def test_a_page_without_a_session_is_refused_before_the_channel_opens(
    client: TestClient, lesson: str
) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(f"/api/v1/lessons/{lesson}/live") as ws:
            ws.receive_json()
    assert refused.value.code == 1008


def test_an_inspection_is_recorded_at_its_moment_and_bad_scores_are_refused(
    client: TestClient, lesson: str
) -> None:
    sign_in(client, "li.xunke")
    patrol = client.get("/api/v1/patrol").json()
    assert [row["lesson"] for row in patrol["lessons"]][0] == lesson or lesson in [
        row["lesson"] for row in patrol["lessons"]
    ]
    item = patrol["checklist"][0]
    answer = client.post(f"/api/v1/lessons/{lesson}/inspections",
                         json={"scores": {item: 6}, "notes": ""})  # fmt: skip
    assert answer.status_code == 422 and answer.json()["error"] == "bad_score"
    assert "1 到 5" in answer.json()["message"]
    answer = client.post(f"/api/v1/lessons/{lesson}/inspections",
                         json={"scores": {item: 4}, "notes": " 互动充分 "})  # fmt: skip
    assert answer.status_code == 201
    recorded = client.get(f"/api/v1/lessons/{lesson}/inspections").json()
    assert recorded[0]["scores"] == {item: 4} and recorded[0]["notes"] == "互动充分"
    assert 4 * 60 <= recorded[0]["moment_seconds"] <= 6 * 60  # the lesson began 5 minutes ago
    sign_in(client, "wang.xiaoyan")
    assert client.post(f"/api/v1/lessons/{lesson}/inspections",
                       json={"scores": {item: 4}}).status_code == 403  # fmt: skip


def test_a_restarted_server_resumes_each_room_in_its_state(
    app: FastAPI, client: TestClient, lesson: str, engine: Engine, tmp_path: Any
) -> None:
    teacher_does(client, app, lesson, "mute_all")
    from web.app import create_app
    from web.settings import load_settings

    again = create_app(load_settings(env="development", data_dir=tmp_path), engine=engine)
    with TestClient(again, headers={"origin": "http://testserver"}) as second:
        later = datetime.now(UTC) + timedelta(seconds=30)
        second.portal.call(services_of(again).lessons.step, later)  # type: ignore[union-attr]
        sign_in(second, "wang.xiaoyan")
        snapshot = second.get(f"/api/v1/lessons/{lesson}").json()
        assert snapshot["state"] == "open" and snapshot["controls"]["muted_all"]
        far = datetime.now(UTC) + timedelta(hours=3)  # past the bell and the grace: ended, archived
        second.portal.call(services_of(again).lessons.step, far)  # type: ignore[union-attr]
        snapshot = second.get(f"/api/v1/lessons/{lesson}").json()
        assert snapshot["state"] == "archived" and snapshot["end_reason"] == "time"


def test_figures_count_attendance_and_quality_from_the_lessons_events(
    app: FastAPI, client: TestClient, lesson: str
) -> None:
    from media.events import ParticipantJoined, ParticipantLeft

    lessons = services_of(app).lessons
    now = datetime.now(UTC)
    me = "classroom:tp-yangshuwan-r1"
    for event in (
        ParticipantJoined(at=now, room=lesson, identity=me, role="receiving_classroom",
                          hidden=False),
        ParticipantJoined(at=now, room=lesson, identity="inspector:9", role="inspector",
                          hidden=True),
        ParticipantLeft(at=now + timedelta(minutes=3), room=lesson, identity=me, reason="left"),
    ):  # fmt: skip
        client.portal.call(lessons.on_media, event)  # type: ignore[union-attr]
    report = {"rtt": 0.05, "availableOutgoingBitrate": None, "outbound": [], "inbound": [
        {"kind": "video", "mid": "1", "source": "teacher:cs-qingxi-shiyan-t1/camera",
         "muted": False, "packetsReceived": 100 * n, "packetsLost": 0, "bytesReceived": 125_000 * n,
         "framesDecoded": 25 * n, "framesPerSecond": 25, "frameWidth": 640, "frameHeight": 360,
         "freezeCount": 0, "totalFreezesDuration": 0, "jitter": 0.01, "totalAudioEnergy": 0,
         "nackCount": 0, "pliCount": 0}
        for n in (1,)
    ]}  # fmt: skip
    sign_in(client, "yangshuwan.room1")
    with client.websocket_connect(
        f"/api/v1/lessons/{lesson}/live?classroom=tp-yangshuwan-r1"
    ) as ws:
        ws.send_json({"type": "stats", "report": report})
        ws.send_json({"type": "stats", "report": {"inbound": "nonsense"}})
        message = ws.receive_json()
        while message["type"] != "error":
            message = ws.receive_json()
        assert message["code"] == "bad_report"
    sign_in(client, "li.xunke")
    for _ in range(50):  # the service handles media events in tasks of its own
        figures = client.get(f"/api/v1/lessons/{lesson}/figures").json()
        if figures["attendance"] and not figures["attendance"][0]["present"]:
            break
        time.sleep(0.05)
    attendance = {row["identity"]: row for row in figures["attendance"]}
    assert set(attendance) == {me}  # the hidden inspector is not attendance
    assert attendance[me]["minutes"] == 3.0 and not attendance[me]["present"]
    assert figures["missing"] == ["classroom:tp-taoyuan-r1", "classroom:tp-longtan-r1"]
    sign_in(client, "wang.xiaoyan")
    assert client.get(f"/api/v1/lessons/{lesson}/figures").status_code == 403


def test_the_room_ending_logs_each_participants_quality_summary(
    app: FastAPI, client: TestClient, lesson: str, engine: Engine
) -> None:
    from rooms.quality_summary import QualityFold
    from rooms.store import RoomStore

    def report(n: int) -> dict[str, Any]:
        return {"rtt": 0.04 + n / 1000, "availableOutgoingBitrate": None, "outbound": [],
                "inbound": [{
            "kind": "video", "mid": "1", "source": "teacher:cs-qingxi-shiyan-t1/camera",
            "muted": False, "packetsReceived": 900 * n, "packetsLost": 9 * n,
            "bytesReceived": 125_000 * n, "framesDecoded": 125 * n, "framesPerSecond": 25,
            "frameWidth": 640, "frameHeight": 360, "freezeCount": n - 1,
            "totalFreezesDuration": 0.5 * (n - 1), "jitter": 0.01, "totalAudioEnergy": 0,
            "nackCount": 0, "pliCount": 0}]}  # fmt: skip

    store = RoomStore(engine)

    def samples_logged() -> int:
        for _ in range(20):  # the reports are taken in tasks of the service's own
            if count := len(store.events(lesson, ("quality.sample",))):
                return count
            time.sleep(0.05)
        return 0

    sign_in(client, "yangshuwan.room1")
    with client.websocket_connect(
        f"/api/v1/lessons/{lesson}/live?classroom=tp-yangshuwan-r1"
    ) as ws:
        # a baseline, then reports a second or more apart until two samples are logged
        # (the monitor passes over a report that comes too soon after the last it took)
        for n in range(1, 9):
            ws.send_json({"type": "stats", "report": report(n)})
            if n > 1 and samples_logged() >= 2:
                break
            time.sleep(1.2)
    for _ in range(40):
        if len(store.events(lesson, ("quality.sample",))) >= 2:
            break
        time.sleep(0.05)
    assert store.events(lesson, ("quality.summary",)) == []  # not while the room runs
    far = datetime.now(UTC) + timedelta(hours=3)
    client.portal.call(services_of(app).lessons.step, far)  # type: ignore[union-attr]
    log = store.quality_log(lesson)  # every sample the room took before it ended
    (summary,) = store.events(lesson, ("quality.summary",))
    data = summary["data"]
    samples = [e for e in log if e[0] == "quality.sample"]
    assert len(samples) >= 2
    assert data["identity"] == "classroom:tp-yangshuwan-r1" and data["samples"] == len(samples)
    assert data["median_loss"] == pytest.approx(0.0099, abs=1e-4)
    fold = QualityFold()
    for kind, at, sample in log:
        fold.read(kind, at, sample)
    tally = fold.tallies["classroom:tp-yangshuwan-r1"]
    assert (data["minutes"], data["frozen_minutes"]) == (tally.minutes, tally.frozen_minutes)
    assert data["freezes"] == tally.freezes >= 2  # each report after the baseline: one more
    assert data["median_rtt_ms"] == statistics.median(tally.rtts)
    ended = store.events(lesson, ("room.ended",))
    assert summary["at"] == ended[0]["at"]
    sign_in(client, "li.xunke")  # the room is gone: its figures are rebuilt from the log
    figures = client.get(f"/api/v1/lessons/{lesson}/figures").json()
    mine = figures["quality"]["by_identity"]["classroom:tp-yangshuwan-r1"]
    assert mine["freezes"] == tally.freezes
    assert mine["median_rtt_ms"] == round(data["median_rtt_ms"], 1)


def test_other_teachers_observe_a_master_lesson_hidden_and_publish_nothing(
    app: FastAPI, client: TestClient, lesson: str, engine: Engine
) -> None:
    identity = IdentityService(IdentityStore(engine), services_of(app).identity._hasher)
    spec = NewUser("zhao.min", "赵敏", PASSWORD, Role.TEACHER, Scope(school="cs-shimen"),
                   OTHER_TEACHER)  # fmt: skip
    identity.create_user(Actor.cli(), spec, scope_target(spec.scope, "349921101"), "349921101",
                         datetime.now(UTC))  # fmt: skip
    sign_in(client, "zhao.min")
    rows = {row["subject"]: row for row in client.get("/api/v1/lessons").json()}
    assert set(rows) == {"英语", "音乐"}  # their own lesson, and the master lesson to observe
    observer = grant_of(app, token_for(client, lesson).json()["token"])
    assert observer.role == "observer" and observer.hidden and observer.can_publish == frozenset()
    assert client.get(f"/watch/{lesson}").status_code == 200
    assert client.get(f"/teach/{lesson}").status_code == 403
    page = client.get("/lessons")
    assert (
        f'href="/watch/{lesson}"' in page.text
        and f'href="/teach/{rows["音乐"]["lesson"]}"' in page.text
    )


def test_the_pages_speak_chinese_first_and_english_on_request(
    client: TestClient, lesson: str
) -> None:
    sign_in(client, "wang.xiaoyan")
    chinese = client.get(f"/teach/{lesson}").text
    assert "全体静音" in chinese and "下课" in chinese and '"live.mute_all": "全体静音"' in chinese
    english = client.get(f"/teach/{lesson}?lang=en").text
    assert "Mute all" in english and '"live.no_camera": "No camera found' in english
    sign_in(client, "yangshuwan.room1")
    kiosk = client.get("/receive/tp-yangshuwan-r1?lang=zh-CN").text  # the choice is remembered
    assert "举手" in kiosk and "杨树湾教学点" in kiosk
    assert client.get("/receive/tp-hekou-r1").status_code == 403  # another school's classroom


def test_missing_classrooms_raise_alerts_on_the_wall_and_chat_reaches_the_lesson(
    app: FastAPI, client: TestClient, lesson: str
) -> None:
    sign_in(client, "li.xunke")  # the lesson began 5 minutes ago: 2 minutes of grace are over
    wall = {row["lesson"]: row for row in client.get("/api/v1/patrol").json()["lessons"]}
    alerts = {(a["identity"], a["alert"]) for a in wall[lesson]["alerts"]}
    assert alerts == {(f"classroom:{c}", "receiver_missing") for c in CLASSROOMS}
    sign_in(client, "yangshuwan.room1")
    with client.websocket_connect(
        f"/api/v1/lessons/{lesson}/live?classroom=tp-yangshuwan-r1"
    ) as ws:
        snapshot_until(ws, lambda s: True)
        ws.send_json({"type": "chat", "text": "  老师好，\n我们听得很清楚  "})
        s = snapshot_until(ws, lambda s: s["chat"])
        assert s["chat"][-1]["text"] == "老师好， 我们听得很清楚"
        assert s["chat"][-1]["identity"] == "classroom:tp-yangshuwan-r1"
        ws.send_json({"type": "nonsense"})
        message = ws.receive_json()
        while message["type"] != "error":
            message = ws.receive_json()
        assert message["code"] == "bad_message"


def test_a_lesson_the_timetable_takes_away_ends_as_cancelled_and_says_so(
    app: FastAPI, client: TestClient, lesson: str, engine: Engine
) -> None:
    from scheduler.plan import Parameters, Timetable
    from scheduler.plan_store import PlanStore

    plans = PlanStore(engine)
    day = services_of(app).schedule.today()
    empty = plans.save(Timetable("OPTIMAL", (), (), 0.0, 0.0, 0.1, 0, 0), Parameters())
    changes = plans.publish(empty, day, day, [], day)  # a new plan without the lesson
    assert lesson in {o.id for o in changes.cancelled}
    step(client, app)
    sign_in(client, "yangshuwan.room1")
    rows = client.get("/api/v1/classrooms/tp-yangshuwan-r1/lessons").json()
    assert rows[0]["state"] == "ended" and rows[0]["end_reason"] == "cancelled"
    answer = token_for(client, lesson, "tp-yangshuwan-r1")
    assert (answer.status_code, answer.json()["error"]) == (409, "cancelled")
    assert "课表已调整" in answer.json()["message"]


def test_the_patrol_checklist_is_a_setting(
    app: FastAPI, engine: Engine, hasher: Any, tmp_path: Any
) -> None:  # ``app`` installed the demo county and its accounts
    from web.app import create_app
    from web.settings import load_settings

    settings = load_settings(
        env="development", data_dir=tmp_path, patrol_checklist=["板书", "互动"]
    )
    configured = create_app(settings, engine=engine, hasher=hasher)
    with TestClient(configured, headers={"origin": "http://testserver"}) as client:
        lesson = lessons_now(engine)[0].id
        step(client, configured)
        sign_in(client, "li.xunke")
        assert client.get("/api/v1/patrol").json()["checklist"] == ["板书", "互动"]
        answer = client.post(f"/api/v1/lessons/{lesson}/inspections",
                             json={"scores": {"教学准备": 3}})  # fmt: skip
        assert answer.status_code == 422 and answer.json()["error"] == "unknown_item"


def test_a_recording_failure_shows_on_the_wall_for_a_while(
    app: FastAPI, client: TestClient, lesson: str, engine: Engine
) -> None:
    from recorder.events import RecordingFailed
    from rooms.store import RoomStore

    def alerts() -> list[dict[str, str]]:
        wall = {row["lesson"]: row for row in client.get("/api/v1/patrol").json()["lessons"]}
        return wall[lesson]["alerts"]  # type: ignore[no-any-return]

    sign_in(client, "li.xunke")
    failed = {"identity": "recorder", "alert": "recording_failed"}
    now = datetime.now(UTC)
    stale = RecordingFailed(at=now - timedelta(minutes=5), lesson=lesson, error="No space left")
    RoomStore(engine).append([stale])
    step(client, app)  # the clock reads what the recorder (another process) logged
    assert failed not in alerts()  # long ago: the recorder has been fine since
    RoomStore(engine).append([RecordingFailed(at=now, lesson=lesson, error="No space left")])
    step(client, app)
    assert failed in alerts()
    assert translate("zh-CN", "live.alert.recording_failed") == "录制中断"
