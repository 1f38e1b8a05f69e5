"""Adapters under contract: each live-state port, in-process and on a real Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from kernel.events import EventBus
from kernel.health import LiveStateHealth
from kernel.locks import Locks
from kernel.memory_bus import MemoryEventBus
from kernel.memory_locks import MemoryLocks
from kernel.memory_presence import MemoryPresence
from kernel.presence import Presence
from kernel.redis_bus import RedisEventBus
from kernel.redis_locks import RedisLocks
from kernel.redis_presence import RedisPresence


@dataclass
class Backend:
    """One set of live-state adapters; ``new_bus`` makes another instance on the same backend."""

    name: str
    bus: EventBus
    presence: Presence
    locks: Locks
    health: LiveStateHealth
    client: Redis | None
    prefix: str

    def new_bus(self, max_pending: int = 10_000) -> EventBus:
        if self.client is None:
            return MemoryEventBus(max_pending)
        return RedisEventBus(self.client, self.health, prefix=self.prefix, max_pending=max_pending)


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    prefix = f"test:{secrets.token_hex(4)}:"
    if request.param == "memory":
        health = LiveStateHealth("in-process")
        yield Backend(
            "memory", MemoryEventBus(), MemoryPresence(), MemoryLocks(), health, None, prefix
        )
        return
    url = request.getfixturevalue("redis_url")
    client = Redis.from_url(url)
    health = LiveStateHealth("redis")
    made = Backend(
        "redis",
        RedisEventBus(client, health, prefix=prefix),
        RedisPresence(client, health, prefix=prefix),
        RedisLocks(client, health, prefix=prefix),
        health,
        client,
        prefix,
    )
    yield made
    await made.bus.aclose()
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
