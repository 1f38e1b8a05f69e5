"""Redis-only behaviour of the event bus: bad messages, dropped connections, races."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from kernel.health import LiveStateHealth
from kernel.redis_bus import RedisEventBus
from tests.kernel.events_fixtures import RoomOpened

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def opened(room: str) -> RoomOpened:
    return RoomOpened(at=NOW, room=room, bell=NOW, receivers=[])


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture
async def bus(client: Redis) -> AsyncIterator[RedisEventBus]:
    made = RedisEventBus(
        client, LiveStateHealth("redis"), prefix=f"test:{secrets.token_hex(4)}:", retry_delay=0.05
    )
    yield made
    await made.aclose()


async def _receive(bus: RedisEventBus, sub: object, room: str, seconds: float = 10) -> None:
    """Publish until ``sub`` receives ``room`` (the bus may be reconnecting)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await bus.publish(opened(room))
        got = await sub.get(timeout=0.3)  # type: ignore[attr-defined]
        if isinstance(got, RoomOpened) and got.room == room:
            return
    pytest.fail(f"{room} was not delivered")


async def test_malformed_messages_are_skipped_and_the_reader_goes_on(
    bus: RedisEventBus, client: Redis
) -> None:
    async with bus.subscribe("test_room.opened/*") as sub:
        channel = f"{bus._prefix}test_room.opened/R1"  # noqa: SLF001 - the wire, on purpose
        for junk in (
            b"\xff\xfe not utf-8",
            b'{"type":["x"],"at":"2026","id":"1","data":{}}',
            b"[]",
            b'{"type":"a.b","at":"2026-01-01T00:00:00","id":"1","data":[]}',
        ):
            await client.publish(channel, junk)
        await bus.publish(opened("after-junk"))
        got = await sub.get(timeout=2)
        assert isinstance(got, RoomOpened) and got.room == "after-junk"


async def test_every_pattern_comes_back_after_the_connection_is_killed(
    bus: RedisEventBus, client: Redis
) -> None:
    async with bus.subscribe("test_room.opened/A") as first, bus.subscribe("*/B") as second:
        await client.client_kill_filter(_type="pubsub")
        async with bus.subscribe("test_room.opened/C") as third:
            await _receive(bus, third, "C")
            await _receive(bus, first, "A")
            await _receive(bus, second, "B")
        assert await client.pubsub_numpat() >= 2


async def test_concurrent_subscribers_of_one_pattern_are_each_live_on_entry(
    bus: RedisEventBus,
) -> None:
    """The second subscriber of a pattern still being confirmed must wait for it too."""

    async def subscriber(room: str, entered: list[bool]) -> str:
        async with bus.subscribe(f"test_room.opened/{room}") as sub:
            entered.append(True)
            if len(entered) == 2:
                await bus.publish(opened(room))  # both are live: both must see it
            got = await sub.get(timeout=2)
            return got.room if isinstance(got, RoomOpened) else "missed"

    for n in range(10):
        entered: list[bool] = []
        got = await asyncio.gather(subscriber(f"X{n}", entered), subscriber(f"X{n}", entered))
        assert list(got) == [f"X{n}", f"X{n}"]
