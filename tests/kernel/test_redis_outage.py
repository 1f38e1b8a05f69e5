"""Redis lost while running: live state degrades clearly and recovers by itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from kernel.errors import LiveStateUnavailable
from kernel.health import LiveStateHealth
from kernel.redis_bus import RedisEventBus
from kernel.redis_locks import RedisLocks
from kernel.redis_presence import RedisPresence
from tests.kernel.events_fixtures import RoomOpened
from tests.kernel.redis_process import RedisProcess

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def event(room: str) -> RoomOpened:
    return RoomOpened(at=NOW, room=room, bell=NOW, receivers=[])


async def _until(check, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            result = await check()
            if result:
                return result
        except LiveStateUnavailable:
            pass
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("live state did not recover within 10 s of Redis coming back")
        await asyncio.sleep(0.1)


async def test_outage_degrades_then_everything_recovers(redis_process: RedisProcess) -> None:
    client = Redis.from_url(
        redis_process.url,
        socket_connect_timeout=0.5,
        socket_timeout=1.0,
        retry=Retry(NoBackoff(), retries=0),
    )
    health = LiveStateHealth("redis")
    bus = RedisEventBus(client, health, retry_delay=0.05, max_retry_delay=0.2)
    presence = RedisPresence(client, health)
    locks = RedisLocks(client, health)
    try:
        async with bus.subscribe("test_room.opened/*") as sub:
            before = event("before")
            await bus.publish(before)
            assert await sub.get(timeout=2) == before
            await presence.join("R1", "tp-a", {}, ttl=60)
            assert not health.degraded

            redis_process.stop()
            with pytest.raises(LiveStateUnavailable):
                await bus.publish(event("lost"))
            assert health.degraded
            report = health.report
            assert report.state == "degraded" and report.error
            with pytest.raises(LiveStateUnavailable):
                await presence.members("R1")
            with pytest.raises(LiveStateUnavailable):
                await locks.acquire("timer", ttl=5)

            redis_process.start()  # same port, empty (nothing is kept on disk)

            async def published() -> bool:
                await bus.publish(event("after"))
                got = await sub.get(timeout=0.3)
                return isinstance(got, RoomOpened) and got.room == "after"

            await _until(published)
            assert not health.degraded
            assert await locks.acquire("timer", ttl=5) is not None
            await presence.join("R1", "tp-a", {}, ttl=60)
            assert [m.member for m in await presence.members("R1")] == ["tp-a"]
    finally:
        await bus.aclose()
        await client.aclose()


async def test_a_subscription_made_during_the_outage_starts_when_redis_returns(
    redis_process: RedisProcess,
) -> None:
    client = Redis.from_url(
        redis_process.url, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), retries=0)
    )
    health = LiveStateHealth("redis")
    bus = RedisEventBus(client, health, retry_delay=0.05, max_retry_delay=0.2)
    redis_process.stop()
    try:
        async with bus.subscribe("*") as sub:
            assert health.degraded
            redis_process.start()

            async def delivered() -> bool:
                await bus.publish(event("late-joiner"))
                return await sub.get(timeout=0.3) is not None

            await _until(delivered)
    finally:
        await bus.aclose()
        await client.aclose()
