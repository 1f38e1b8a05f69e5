"""The SFU with real aiortc peers on loopback: forwarding, switching, grants."""

from __future__ import annotations

import asyncio

import pytest

from media.sfu import Sfu
from tests.media.peers import count_frames, publish, subscribe

pytestmark = pytest.mark.slow


@pytest.fixture
async def sfu():
    server = Sfu()
    yield server
    await server.stop()


async def test_subscriber_decodes_what_a_publisher_sends(sfu: Sfu) -> None:
    pub = await publish(sfu, "r1", "teacher")
    sub, tracks = await subscribe(
        sfu, "r1", "class1", {"video": "teacher/camera", "audio": "teacher/microphone"}
    )
    try:
        await asyncio.sleep(0.5)
        assert set(tracks) == {"video", "audio"}
        video = await count_frames(tracks["video"], 3.0)
        audio = await count_frames(tracks["audio"], 0.5)
        assert len(video) >= 30, f"only {len(video)} video frames decoded in 3 s"
        assert len(audio) >= 10
        up = sfu.rooms["r1"].sources["teacher/camera"].layers["high"]
        assert up.keyframes_seen >= 1
    finally:
        await pub.close()
        await sub.close()
