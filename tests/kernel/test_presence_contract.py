"""The presence contract, run against the in-process and the Redis adapter."""

from __future__ import annotations

import asyncio
import time

from tests.kernel.conftest import Backend


async def test_members_are_listed_with_their_info_in_member_order(backend: Backend) -> None:
    p = backend.presence
    await p.join("R1", "tp-b", {"role": "receiving_classroom", "name": "桃源教学点"}, ttl=30)
    entry = await p.join("R1", "teacher-1", {"role": "teacher"}, ttl=30)
    await p.join("R2", "tp-c", {}, ttl=30)
    members = await p.members("R1")
    assert [m.member for m in members] == ["teacher-1", "tp-b"]
    assert members[1].info == {"role": "receiving_classroom", "name": "桃源教学点"}
    assert abs(entry.expires_at - (time.time() + 30)) < 5
    assert [m.member for m in await p.members("R2")] == ["tp-c"]
    assert await p.members("nobody-here") == []


async def test_an_entry_expires_unless_touched(backend: Backend) -> None:
    p = backend.presence
    await p.join("R1", "kept", {}, ttl=0.4)
    await p.join("R1", "dropped", {}, ttl=0.4)
    await asyncio.sleep(0.2)
    assert await p.touch("R1", "kept", ttl=1.0)
    await asyncio.sleep(0.4)
    assert [m.member for m in await p.members("R1")] == ["kept"]
    assert not await p.touch("R1", "dropped", ttl=1.0)


async def test_leave_removes_and_says_whether_the_member_was_there(backend: Backend) -> None:
    p = backend.presence
    await p.join("R1", "tp-a", {}, ttl=30)
    assert await p.leave("R1", "tp-a")
    assert not await p.leave("R1", "tp-a")
    assert await p.members("R1") == []


async def test_joining_again_replaces_info_and_expiry(backend: Backend) -> None:
    p = backend.presence
    await p.join("R1", "tp-a", {"network": "good"}, ttl=0.3)
    await p.join("R1", "tp-a", {"network": "poor"}, ttl=30)
    await asyncio.sleep(0.4)
    members = await p.members("R1")
    assert [(m.member, m.info) for m in members] == [("tp-a", {"network": "poor"})]
