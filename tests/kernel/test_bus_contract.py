"""The event-bus contract, run against the in-process and the Redis adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from kernel.errors import InvalidPattern
from tests.kernel.conftest import Backend
from tests.kernel.events_fixtures import QualitySample, RoomOpened

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def opened(room: str) -> RoomOpened:
    return RoomOpened(at=NOW, room=room, bell=NOW, receivers=["tp-a", "tp-b"])


async def test_a_subscriber_receives_the_typed_event_it_matches(backend: Backend) -> None:
    async with backend.bus.subscribe("test_room.opened/*") as sub:
        event = opened("R1")
        await backend.bus.publish(event)
        got = await sub.get(timeout=2)
    assert got == event
    assert isinstance(got, RoomOpened)
    assert got.bell == NOW and got.receivers == ["tp-a", "tp-b"]


async def test_patterns_select_by_type_and_key(backend: Backend) -> None:
    async with (
        backend.bus.subscribe("*/R1") as room_one,
        backend.bus.subscribe("test_quality.*") as quality,
    ):
        await backend.bus.publish(opened("R2"))
        await backend.bus.publish(QualitySample(at=NOW, room="R1", loss=0.02, rtt_ms=80))
        await backend.bus.publish(opened("R1"))
        first = await room_one.get(timeout=2)
        second = await room_one.get(timeout=2)
        sample = await quality.get(timeout=2)
        assert await room_one.get(timeout=0.2) is None
        assert await quality.get(timeout=0.2) is None
    assert isinstance(first, QualitySample) and first.loss == 0.02
    assert isinstance(second, RoomOpened) and second.room == "R1"
    assert isinstance(sample, QualitySample) and sample.rtt_ms == 80


async def test_overlapping_patterns_deliver_each_event_once(backend: Backend) -> None:
    async with backend.bus.subscribe("test_room.*", "*/R1", "*") as sub:
        await backend.bus.publish(opened("R1"))
        assert await sub.get(timeout=2) is not None
        assert await sub.get(timeout=0.3) is None


async def test_every_subscriber_gets_a_copy(backend: Backend) -> None:
    async with backend.bus.subscribe("*") as one, backend.bus.subscribe("*") as two:
        await backend.bus.publish(opened("R1"))
        assert await one.get(timeout=2) == await two.get(timeout=2)


async def test_events_before_subscribing_or_after_leaving_are_not_delivered(
    backend: Backend,
) -> None:
    await backend.bus.publish(opened("early"))
    async with backend.bus.subscribe("*") as sub:
        await backend.bus.publish(opened("during"))
        got = await sub.get(timeout=2)
        assert isinstance(got, RoomOpened) and got.room == "during"
    await backend.bus.publish(opened("late"))
    assert await sub.get(timeout=0.3) is None


async def test_a_second_bus_instance_sees_the_first_ones_events(backend: Backend) -> None:
    """Two app instances on one backend (for Redis: two processes' worth of state)."""
    if backend.name == "memory":
        other = backend.bus  # one process has one in-process bus
    else:
        other = backend.new_bus()
    try:
        async with other.subscribe("test_room.opened/*") as sub:
            await backend.bus.publish(opened("R9"))
            got = await sub.get(timeout=2)
        assert isinstance(got, RoomOpened) and got.room == "R9"
    finally:
        if other is not backend.bus:
            await other.aclose()


async def test_a_slow_subscriber_keeps_the_newest_events_and_counts_the_rest(
    backend: Backend,
) -> None:
    bus = backend.new_bus(max_pending=3)
    try:
        async with bus.subscribe("*") as sub:
            for n in range(5):
                await bus.publish(opened(f"R{n}"))
            await asyncio.sleep(0.2)  # let the Redis reader catch up
            rooms = []
            for _ in range(3):
                got = await sub.get(timeout=2)
                assert isinstance(got, RoomOpened)
                rooms.append(got.room)
            assert rooms == ["R2", "R3", "R4"]
            assert sub.dropped == 2
    finally:
        await bus.aclose()


@pytest.mark.parametrize("pattern", ["", "room?", "room[ab]", "a b", "房间"])
async def test_patterns_outside_the_common_glob_are_refused(backend: Backend, pattern: str) -> None:
    with pytest.raises(InvalidPattern):
        async with backend.bus.subscribe(pattern):
            pass


async def test_iterating_a_subscription_yields_events_in_order(backend: Backend) -> None:
    async with backend.bus.subscribe("test_room.opened/*") as sub:
        for room in ("A", "B", "C"):
            await backend.bus.publish(opened(room))
        seen = []
        async with asyncio.timeout(2):
            async for event in sub:
                assert isinstance(event, RoomOpened)
                seen.append(event.room)
                if len(seen) == 3:
                    break
    assert seen == ["A", "B", "C"]


async def test_closing_the_bus_ends_open_subscriptions(backend: Backend) -> None:
    bus = backend.new_bus()
    async with bus.subscribe("*") as sub:
        waiting = asyncio.create_task(sub.get())
        await asyncio.sleep(0.05)
        await bus.aclose()
        assert await asyncio.wait_for(waiting, 2) is None
        assert [event async for event in sub] == []
