"""The LiveKit adapter against a real LiveKit server.

Runs when ``SANKE_LIVEKIT_URL``, ``SANKE_LIVEKIT_API_KEY`` and ``SANKE_LIVEKIT_API_SECRET``
name one, e.g. ``livekit-server --dev`` (key ``devkey``, secret ``secret``)::

    SANKE_LIVEKIT_URL=http://127.0.0.1:7880 SANKE_LIVEKIT_API_KEY=devkey \\
    SANKE_LIVEKIT_API_SECRET=secret .venv/bin/pytest tests/media/test_livekit_server.py

Otherwise the module is skipped, also in CI: unlike Redis or PostgreSQL
(``tests/conftest.py``, ``SANKE_REQUIRE_SERVICES=1``), no LiveKit server is installed
there, so this is a plain ``skipif`` and not the services-required helper. What can be
checked without a server is checked in the other ``test_livekit_*`` modules.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from livekit.api import LiveKitAPI
from livekit.protocol.room import ListRoomsRequest

from media.errors import BackendError
from media.livekit.client import call
from media.livekit.placement import Feed, RoomPlan
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
