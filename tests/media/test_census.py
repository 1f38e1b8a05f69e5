"""The SFU's census with real aiortc peers: who is in, what they subscribe to, and
forwarding totals that keep what was sent to subscribers who have left."""

from __future__ import annotations

import asyncio

import pytest

from media.sfu import Sfu
from tests.media.peers import publish, subscribe

pytestmark = pytest.mark.slow


@pytest.fixture
async def sfu():
    server = Sfu()
    yield server
    await server.stop()


async def test_the_census_counts_roles_subscriptions_and_forwarding(sfu: Sfu) -> None:
    assert sfu.census().forwarded_packets == 0
    pub = await publish(sfu, "r1", "teacher")
    sub, _ = await subscribe(
        sfu, "r1", "class1", {"video": "teacher/camera", "audio": "teacher/microphone"},
        role="receiving_classroom",
    )  # fmt: skip
    try:
        async with asyncio.timeout(10):
            while sfu.census().forwarded_packets < 50:
                await asyncio.sleep(0.05)
        census = sfu.census()
        assert census.participants == {"teacher": 1, "receiving_classroom": 1}
        assert census.subscriptions == 2
        assert census.forwarded_bytes > census.forwarded_packets * 12  # an RTP header each
        await sfu.leave("r1", "class1")
        after = sfu.census()
        assert after.participants == {"teacher": 1} and after.subscriptions == 0
        assert after.forwarded_packets >= census.forwarded_packets  # kept when it left
        assert after.forwarded_bytes >= census.forwarded_bytes
    finally:
        await pub.close()
        await sub.close()
