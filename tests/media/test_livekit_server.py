"""The LiveKit adapter against a real LiveKit server.

Runs when ``SANKE_LIVEKIT_URL``, ``SANKE_LIVEKIT_API_KEY`` and ``SANKE_LIVEKIT_API_SECRET``
name one, e.g. ``livekit-server --dev`` (key ``devkey``, secret ``secret``)::

    SANKE_LIVEKIT_URL=http://127.0.0.1:7880 SANKE_LIVEKIT_API_KEY=devkey \\
    SANKE_LIVEKIT_API_SECRET=secret .venv/bin/pytest tests/media/test_livekit_server.py

The Egress case (the last) also needs LiveKit Egress and Ingress deployed beside the server,
as ``deploy/compose.yaml`` runs them (both on the server's Redis): Ingress takes a WHIP
publisher's test pattern into a room, Egress records its camera track.

Otherwise the module is skipped, also in CI: unlike Redis or PostgreSQL
(``tests/conftest.py``, ``SANKE_REQUIRE_SERVICES=1``), no LiveKit server is installed
there, so this is a plain ``skipif`` and not the services-required helper. What can be
checked without a server is checked in the other ``test_livekit_*`` modules.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from livekit.api import LiveKitAPI
from livekit.protocol.room import ListParticipantsRequest, ListRoomsRequest

from media.errors import BackendError
from media.livekit.client import call
from media.livekit.ingress import LiveKitIngress, ingress_request
from media.livekit.placement import Feed, RoomPlan
from media.livekit.reconcile import present
from media.livekit.recording import LiveKitRecording, Outcome
from media.livekit.recording_plan import (
    EgressPlan,
    GaveUp,
    Published,
    RecordingConfig,
    TrackFile,
)
from media.livekit.rooms import LiveKitRooms
from media.livekit.tokens import access_token
from rooms.media_grants import media_grant

URL = os.environ.get("SANKE_LIVEKIT_URL", "")
KEY = os.environ.get("SANKE_LIVEKIT_API_KEY", "")
SECRET = os.environ.get("SANKE_LIVEKIT_API_SECRET", "")

pytestmark = pytest.mark.skipif(
    not (URL and KEY and SECRET),
    reason="no LiveKit server: set SANKE_LIVEKIT_URL, SANKE_LIVEKIT_API_KEY and "
    "SANKE_LIVEKIT_API_SECRET to run these (not required in CI)",
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as opened:
        yield opened


@pytest.fixture
async def rooms(session: aiohttp.ClientSession) -> AsyncIterator[LiveKitRooms]:
    adapter = LiveKitRooms()
    adapter.connect(LiveKitAPI(URL, KEY, SECRET, session=session, failover=False))
    yield adapter
    await adapter.stop()
    adapter.disconnect()


def room_name() -> str:
    return f"sanke-test-{secrets.token_hex(4)}"


async def listed(rooms: LiveKitRooms, name: str) -> list[str]:
    answer = await call("ListRooms", rooms.api.room.list_rooms(ListRoomsRequest(names=[name])))
    return [r.name for r in answer.rooms]


async def test_rooms_are_created_before_the_bell_once_and_closed_for_good(
    rooms: LiveKitRooms,
) -> None:
    name, now = room_name(), datetime.now(UTC)
    plan = RoomPlan(name, now, now + timedelta(minutes=10), (Feed(1.5e6, 1, 3),), 24)
    assert await rooms.ensure_rooms([plan], {}, now) == [name]
    answer = await call("ListRooms", rooms.api.room.list_rooms(ListRoomsRequest(names=[name])))
    (room,) = answer.rooms
    assert room.max_participants == 24 and room.empty_timeout >= 9 * 60
    assert await rooms.ensure_rooms([plan], {}, now) == []  # it is there
    assert await rooms.reconcile(now) == []  # nobody in it
    await rooms.close_room(name, "lesson_ended", "the lesson has ended")
    await rooms.settle()
    assert await listed(rooms, name) == []
    assert await rooms.ensure_rooms([plan], {}, now) == []  # closed: not created again


async def test_a_grant_for_someone_absent_waits_for_them(rooms: LiveKitRooms) -> None:
    name = room_name()
    await rooms.create_room(name, empty_timeout=60)
    rooms.update_grant(name, "classroom:r1", frozenset({"camera"}), frozenset({"teacher"}))
    await rooms.settle()  # GetParticipant: not_found, so nothing to change yet
    assert rooms.belief.rooms == {}
    await rooms.close_room(name, "lesson_ended", "the lesson has ended")
    await rooms.settle()
    assert await listed(rooms, name) == []


async def test_the_server_refuses_a_participant_token_for_room_administration(
    session: aiohttp.ClientSession,
) -> None:
    now = datetime.now(UTC)
    grant = media_grant(room_name(), "inspector:9", "inspector", "巡课", now)
    token = access_token(grant, KEY, SECRET, now)
    participant = LiveKitAPI.with_token(token, URL, session=session, failover=False)
    with pytest.raises(BackendError) as refused:
        await call("ListRooms", participant.room.list_rooms(ListRoomsRequest()))
    assert refused.value.status in (401, 403)


async def test_the_server_refuses_calls_signed_with_another_secret(
    session: aiohttp.ClientSession,
) -> None:
    forged = LiveKitAPI(URL, KEY, SECRET + "-forged", session=session, failover=False)
    with pytest.raises(BackendError) as refused:
        await call("ListRooms", forged.room.list_rooms(ListRoomsRequest()))
    assert refused.value.status == 401


async def camera_tracks(rooms: LiveKitRooms, room: str, identity: str) -> dict[str, Published]:
    """The camera ``identity`` publishes in ``room`` now, as the teacher's (an ingress
    participant carries no Sanke role)."""
    request = ListParticipantsRequest(room=room)
    answer = await call("ListParticipants", rooms.api.room.list_participants(request))
    seen = present(list(answer.participants)).get(identity)
    tracks = seen.tracks.values() if seen else ()
    return {t.sid: Published(identity, "teacher", t) for t in tracks if t.source == "camera"}


async def test_a_track_egress_records_a_published_camera_until_its_track_ends(
    rooms: LiveKitRooms,
) -> None:
    """Egress and Ingress must run beside the server (``deploy/compose.yaml``)."""
    name, identity = room_name(), "teacher:egress-test"
    await rooms.create_room(name, empty_timeout=120)
    ingress = LiveKitIngress(rooms.api)
    try:
        endpoint = await ingress.create(ingress_request(name, identity, "录制测试", "whip"))
    except BackendError as exc:
        pytest.skip(f"no LiveKit Ingress beside the server to publish with: {exc}")
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.media.ffmpeg_whip_publisher", endpoint.url,
        endpoint.stream_key, "12", stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    outcomes: list[Outcome] = []

    async def take(outcome: Outcome) -> None:
        outcomes.append(outcome)

    recording = LiveKitRecording(EgressPlan(RecordingConfig(thumbnails=False)), take)
    recording.connect(rooms.api)
    try:
        for _ in range(60):  # the ingress joins and publishes within seconds
            published = await camera_tracks(rooms, name, identity)
            if published:
                break
            await asyncio.sleep(0.5)
        else:
            pytest.fail("the WHIP publisher's camera never appeared in the room")
        (sid,) = published
        # one reconcile starts the camera's track egress; the next ones follow it until the
        # publisher stops, its track goes, and the egress ends with its file
        for _ in range(120):
            await recording.reconcile({name: await camera_tracks(rooms, name, identity)},
                                      datetime.now(UTC))  # fmt: skip
            if any(isinstance(o, TrackFile | GaveUp) for o in outcomes):
                break
            await asyncio.sleep(1)
        assert not [o for o in outcomes if isinstance(o, GaveUp)], "is LiveKit Egress running?"
        (recorded,) = [o for o in outcomes if isinstance(o, TrackFile)]
        assert (recorded.room, recorded.track, recorded.identity) == (name, sid, identity)
        assert recorded.filename.startswith(f"recordings/{name}/teacher_egress-test_camera-")
        assert recorded.filename.endswith(f"-{sid}-1.mp4")  # H.264 as published, in MP4
        assert recorded.seconds > 0 and recorded.size > 0
    finally:
        if publisher.returncode is None:
            publisher.kill()
        await publisher.wait()
        await recording.stop()
        await ingress.delete(endpoint.ingress_id)
        await rooms.close_room(name, "lesson_ended", "the lesson has ended")
        await rooms.settle()
