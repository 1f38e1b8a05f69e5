"""The locks contract, run against the in-process and the Redis adapter."""

from __future__ import annotations

import asyncio

from tests.kernel.conftest import Backend


async def test_a_lock_has_one_holder_until_released(backend: Backend) -> None:
    locks = backend.locks
    first = await locks.acquire("room:R1:open", ttl=10)
    assert first is not None
    assert await locks.acquire("room:R1:open", ttl=10) is None
    assert await locks.acquire("room:R2:open", ttl=10) is not None
    assert await locks.release(first)
    assert not await locks.release(first)
    second = await locks.acquire("room:R1:open", ttl=10)
    assert second is not None and second.fence > first.fence


async def test_an_expired_lease_can_be_taken_over_and_the_old_holder_loses_it(
    backend: Backend,
) -> None:
    locks = backend.locks
    old = await locks.acquire("timer", ttl=0.2)
    assert old is not None
    await asyncio.sleep(0.35)
    new = await locks.acquire("timer", ttl=10)
    assert new is not None and new.fence > old.fence
    assert not await locks.renew(old, ttl=10)
    assert not await locks.release(old)
    assert await locks.release(new)


async def test_renewing_keeps_the_lease(backend: Backend) -> None:
    locks = backend.locks
    lease = await locks.acquire("timer", ttl=0.3)
    assert lease is not None
    for _ in range(3):
        await asyncio.sleep(0.15)
        assert await locks.renew(lease, ttl=0.3)
    assert await locks.acquire("timer", ttl=10) is None


async def test_concurrent_acquirers_get_exactly_one_lease(backend: Backend) -> None:
    results = await asyncio.gather(*(backend.locks.acquire("once", ttl=10) for _ in range(20)))
    assert sum(r is not None for r in results) == 1
