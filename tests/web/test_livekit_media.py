"""The app with ``SANKE_MEDIA_BACKEND=livekit``: lessons drive LiveKit rooms, and LiveKit's
signed webhooks arrive at ``/api/v1/livekit/webhook``.

LiveKit's side is the Twirp recorder of ``tests/media/livekit_twirp.py`` (real HTTP on
loopback, decoded with LiveKit's protocol definitions, empty answers): what the app sends
is real; what a LiveKit server would answer is tested in ``tests/media/test_livekit_server.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToJson
from livekit.protocol.models import ParticipantInfo, Room, TrackSource
from livekit.protocol.room import UpdateParticipantRequest
from livekit.protocol.webhook import WebhookEvent
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from media.errors import BackendError
from media.livekit.placement import due
from media.livekit.tokens import ROLE_ATTRIBUTE
from rooms.lesson import LessonMode, ReceivingEnd, Seat
from rooms.lifecycle import Timing
from scheduler.store import DirectoryStore
from tests.media.livekit_twirp import KEY, SECRET, TwirpRecorder, twirp_recorder
from tests.media.test_livekit_webhooks import sign
from tests.web.live_fixtures import CLASSROOMS, lessons_now
from web import demo
from web.app import create_app
from web.database import upgrade
from web.livekit_media import AHEAD, LiveKitMedia, room_plan
from web.pages import BEIJING
from web.services import Services
from web.settings import load_settings

TEACHER_SEAT = Seat("teacher", "teacher:cs-qingxi-shiyan-t1", "王晓燕")
HOOK = "/api/v1/livekit/webhook"


def app_with(engine: Engine, hasher: PasswordHasher, data: Path, **settings: str) -> FastAPI:
    upgrade(engine)
    demo.install(DirectoryStore(engine), IdentityService(IdentityStore(engine), hasher),
                 datetime.now(UTC))  # fmt: skip
    return create_app(load_settings(env="development", data_dir=data, **settings),
                      engine=engine, hasher=hasher)  # fmt: skip


@pytest.fixture
def recorder() -> Iterator[TwirpRecorder]:
    with twirp_recorder() as running:
        yield running


@pytest.fixture
def livekit_app(
    sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path, recorder: TwirpRecorder
) -> FastAPI:
    return app_with(sqlite_engine, hasher, tmp_path, media_backend="livekit",
                    livekit_url=recorder.url.replace("http://", "ws://"),
                    livekit_api_key=KEY, livekit_api_secret=SECRET)  # fmt: skip


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def media_of(app: FastAPI) -> LiveKitMedia:
    media = services_of(app).livekit
    assert media is not None
    return media


def wait_for(recorder: TwirpRecorder, name: str) -> None:
    deadline = time.monotonic() + 10
    while name not in recorder.names():
        assert time.monotonic() < deadline, f"no {name} call: {recorder.names()}"
        time.sleep(0.02)


def delivery(kind: str, event_id: str, room: str, identity: str) -> tuple[bytes, dict[str, str]]:
    who = ParticipantInfo(identity=identity, sid="PA_" + event_id,
                          attributes={ROLE_ATTRIBUTE: "teacher"})  # fmt: skip
    event = WebhookEvent(event=kind, id=event_id, room=Room(name=room), participant=who,
                         created_at=int(datetime.now(UTC).timestamp()))  # fmt: skip
    body = MessageToJson(event).encode()
    return body, {"Authorization": sign(body), "Content-Type": "application/webhook+json"}


def test_the_lessons_drive_livekit_rooms(livekit_app: FastAPI, recorder: TwirpRecorder) -> None:
    services = services_of(livekit_app)
    media = media_of(livekit_app)
    assert services.lessons.sfu is media.rooms
    # a lesson whose bell rings in ten minutes: its room is created before it opens, by the
    # upkeep the app starts with (a reconcile, then the rooms due)
    (soon,) = lessons_now(services.engine, started_minutes_ago=-10)
    with TestClient(livekit_app) as client:
        wait_for(recorder, "CreateRoom")
        deadline = time.monotonic() + 10
        while not media.expected:  # the step ends by noting the load it expects
            assert time.monotonic() < deadline, "the first upkeep did not finish"
            time.sleep(0.02)
        listing = recorder.named("ListRooms")[0].claims().video
        assert listing is not None and listing.room_list
        assert recorder.names().index("ListRooms") < recorder.names().index("CreateRoom")
        (created,) = recorder.named("CreateRoom")
        room = created.request
        assert room.name == soon.id  # type: ignore[attr-defined]
        # a master teacher's lesson: teachers may watch it, so no cap on the room
        assert services.lessons.view(soon.id).mode is LessonMode.MASTER
        assert room.max_participants == 0  # type: ignore[attr-defined]
        # until the lesson closes, 10 minutes after its end (the default Timing): an hour
        # away (10 to the bell, 40 minutes, 10 after), or less when the lesson is cut at
        # 23:59 Beijing time (a run at 23:17 made it 52 minutes); the room was created
        # within the last few seconds
        closes = services.lessons.view(soon.id).ends_at + Timing().end_after
        left = (closes - datetime.now(UTC)).total_seconds()
        assert left - 1 <= room.empty_timeout <= min(left + 30, 60 * 60)  # type: ignore[attr-defined]
        assert media.expected  # the load it is expected to bring is known ahead
        # the room opens: the teacher calls a classroom on, whose microphone opens in LiveKit
        opens = services.lessons.view(soon.id).starts_at - timedelta(minutes=5)
        client.portal.call(services.lessons.step, opens)  # type: ignore[union-attr]
        recorder.clear()
        target = f"classroom:{CLASSROOMS[0]}"
        client.portal.call(services.lessons.control, soon.id, TEACHER_SEAT, "call_on", target)  # type: ignore[union-attr]
        client.portal.call(media.rooms.settle)  # type: ignore[union-attr]
        sent = [c.request for c in recorder.named("UpdateParticipant")]
        updates = {u.identity: u for u in sent if isinstance(u, UpdateParticipantRequest)}
        assert set(updates) == {f"classroom:{c}" for c in CLASSROOMS}
        assert list(updates[target].permission.can_publish_sources) == [
            TrackSource.CAMERA, TrackSource.MICROPHONE
        ]  # fmt: skip
        others = [u for i, u in updates.items() if i != target]
        assert all(list(u.permission.can_publish_sources) == [TrackSource.CAMERA] for u in others)
    with pytest.raises(BackendError, match="no LiveKit client"):
        media.rooms.api  # noqa: B018  the app stopped: its client was closed


def test_a_lesson_just_after_midnight_gets_its_room_ahead(livekit_app: FastAPI) -> None:
    # the upkeep read today's lessons only: at 23:55 Beijing time the lesson at 00:05 was
    # tomorrow's and had no room, and CI run at midnight found no CreateRoom
    lessons = services_of(livekit_app).lessons
    # a day far from today: the app's own clock runs beside the test, on the real time
    evening = datetime(2027, 3, 1, 23, 55, tzinfo=BEIJING).astimezone(UTC)
    (soon,) = lessons_now(services_of(livekit_app).engine, evening, started_minutes_ago=-10)
    assert soon.day == date(2027, 3, 2)
    plans, ended = LiveKitMedia._plans(lessons, evening)
    assert [p.room for p in due(plans, evening, AHEAD)] == [soon.id]
    assert ended == []


def test_signed_webhooks_are_taken_once_and_forged_ones_refused(
    livekit_app: FastAPI, recorder: TwirpRecorder
) -> None:
    media = media_of(livekit_app)
    with TestClient(livekit_app) as client:
        body, headers = delivery("participant_joined", "EV_1", "P1-L1-20260302", "teacher:t1")
        answer = client.post(HOOK, content=body, headers=headers)
        assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
        assert media.rooms.census().participants == {"teacher": 1}
        again = client.post(HOOK, content=body, headers=headers)
        assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
        forged = client.post(HOOK, content=body.replace(b"teacher:t1", b"teacher:t2"),
                             headers=headers)  # fmt: skip
        assert (forged.status_code, forged.json()["error"]) == (401, "webhook_signature")
        bare = client.post(HOOK, content=body, headers={"Content-Type": "application/json"})
        assert bare.status_code == 401
        assert media.rooms.census().participants == {"teacher": 1}


def test_the_webhook_is_not_there_when_livekit_is_not_the_backend(
    sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path
) -> None:
    app = app_with(sqlite_engine, hasher, tmp_path)
    assert services_of(app).livekit is None
    with TestClient(app) as client:
        body, headers = delivery("participant_joined", "EV_1", "P1-L1-20260302", "teacher:t1")
        assert client.post(HOOK, content=body, headers=headers).status_code == 404


def test_a_room_plan_counts_every_forwarded_track() -> None:
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    receivers = tuple(
        ReceivingEnd(f"tp-{i}-r1", f"tp-{i}", "教学点", "341522", (f"tp-{i}-g3",), 12)
        for i in range(3)
    )
    from rooms.lesson import LessonView

    view = LessonView("P1-L1-20260302", "2026-03-02", start, start + timedelta(minutes=40), "英语",
                      3, LessonMode.DELIVERY, "t1", "王", "out1", "cs", "中心校", "341522",
                      receivers)  # fmt: skip
    plan = room_plan(view, Timing())
    assert (plan.opens_at, plan.closes_at) == (start - timedelta(minutes=10),
                                               start + timedelta(minutes=50))  # fmt: skip
    # teacher: camera 1.5 Mbit/s and microphone 32 kbit/s to 3 classrooms + 2 watchers;
    # classrooms: 3 cameras to the teacher + 2 watchers; the called-on microphone to 5
    assert plan.forwarded_bps == 1.5e6 * 5 + 32e3 * 5 + 1.5e6 * 3 * 3 + 32e3 * 5
    assert plan.max_participants == 24
    open_lesson = room_plan(view.__class__(**{**view.__dict__, "mode": LessonMode.OPEN}), Timing())
    assert open_lesson.max_participants == 0
