"""The synthetic publisher against a real SFU behind a real WebSocket server."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect

from media.sfu import Sfu
from media.synthetic import (
    CLASSROOM_FEEDS,
    TEACHER_FEEDS,
    Feed,
    SyntheticPublisher,
)
from tests.conftest import free_port
from tests.media.conftest import MediaServer, serve_sfu
from tests.media.peers import count_frames, subscribe, wait_for_tracks

pytestmark = pytest.mark.slow

TEACHER_SOURCES = {"camera", "microphone", "screen"}


async def until(condition: Callable[[], bool], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.05)


async def watch(server: MediaServer, source: str, seconds: float) -> list[Any]:
    """Video frames a fresh subscriber decodes in ``seconds`` from its first frame, asking
    twice if none came: the SFU may forward the first keyframe before the subscriber's
    DTLS is up, and an aiortc subscriber (unlike a browser) asks for no keyframe when it
    cannot decode. The window opens at the first frame so that a slow keyframe on a busy
    machine does not eat into the frame rate being checked."""
    frames: list[Any] = []
    for attempt in range(2):
        pc, tracks = await subscribe(server.sfu, "lesson", f"watcher{attempt}", {"video": source})
        await wait_for_tracks(tracks, "video")
        try:
            first = await asyncio.wait_for(tracks["video"].recv(), timeout=5)
        except TimeoutError:
            await pc.close()
            continue
        frames = [first, *await count_frames(tracks["video"], seconds)]
        await pc.close()
        break
    return frames


async def test_a_subscriber_decodes_what_the_synthetic_teacher_publishes(
    media_server: MediaServer,
) -> None:
    token = media_server.token("lesson", "teacher:t1", publish=TEACHER_SOURCES)
    publisher = SyntheticPublisher(media_server.ws_url, token, "王晓燕", TEACHER_FEEDS)
    publisher.start()
    try:
        await publisher.wait_published(10)
        room = media_server.sfu.rooms["lesson"]
        layers = {s.source: sorted(s.layers) for s in room.sources.values()}
        assert layers == {"camera": ["high", "low"], "microphone": ["high"], "screen": ["high"]}
        frames = await watch(media_server, "teacher:t1/camera", 2.0)
        assert len(frames) >= 15  # 15 fps
        # the SFU may switch this subscriber between the two layers while it watches:
        # compare the first and last frames of the layer it saw most of
        by_size: dict[tuple[int, int], list[Any]] = {}
        for frame in frames:
            by_size.setdefault((frame.height, frame.width), []).append(frame)
        assert set(by_size) <= {(360, 640), (180, 320)}
        seen = max(by_size.values(), key=len)
        assert len(seen) >= 5
        first, last = (f.to_ndarray(format="gray") for f in (seen[0], seen[-1]))
        assert np.abs(first.astype(int) - last.astype(int)).max() > 100  # the picture moves
        slides = await watch(media_server, "teacher:t1/screen", 1.0)
        assert len(slides) >= 3  # 5 fps
        slide = slides[-1].to_ndarray(format="gray")
        assert slide.shape == (360, 640) and slide.mean() > 150  # mostly white
        pc, tracks = await subscribe(
            media_server.sfu, "lesson", "listener", {"audio": "teacher:t1/microphone"}
        )
        await wait_for_tracks(tracks, "audio")
        audio = await count_frames(tracks["audio"], 0.5)
        await pc.close()
        assert len(audio) >= 15  # 20 ms frames
    finally:
        await publisher.close()
    assert publisher.state == "closed"
    assert "teacher:t1" not in media_server.sfu.rooms["lesson"].participants  # it said goodbye


async def test_the_publisher_comes_back_when_the_server_lets_it_go(
    media_server: MediaServer,
) -> None:
    token = media_server.token("lesson", "classroom:r1", publish={"camera"})
    publisher = SyntheticPublisher(media_server.ws_url, token, "杨树湾教学点", CLASSROOM_FEEDS)
    publisher.start()
    try:
        await publisher.wait_published(10)
        await media_server.sfu.close_room("lesson", "moved", "the room moved")  # not final
        await until(lambda: publisher.state != "published", 5)
        await publisher.wait_published(10)
        assert publisher.sessions == 2
        frames = await watch(media_server, "classroom:r1/camera", 1.5)
        assert len(frames) >= 8  # 10 fps
        assert {f.width for f in frames} == {320}
    finally:
        await publisher.close()


async def test_a_publisher_replaced_by_a_real_page_gives_way(media_server: MediaServer) -> None:
    token = media_server.token("lesson", "classroom:r1", publish={"camera"})
    publisher = SyntheticPublisher(media_server.ws_url, token, "枫林教学点", CLASSROOM_FEEDS)
    publisher.start()
    try:
        await publisher.wait_published(10)
        page = await connect(media_server.ws_url)
        await page.send(json.dumps({"type": "join", "token": token}))
        async with asyncio.timeout(5):
            while json.loads(await page.recv())["type"] != "joined":
                pass
        await until(lambda: publisher.state == "failed", 5)  # the SFU tells it at once
        assert publisher.error is not None and publisher.error.code == "replaced"
        await asyncio.sleep(1)
        assert publisher.sessions == 1  # it did not take the identity back
        await page.close()
    finally:
        await publisher.close()


async def test_the_publisher_comes_back_after_a_server_restart() -> None:
    secret, port = secrets.token_hex(32), free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    before, after = Sfu(), Sfu()
    server, task = await serve_sfu(before, secret, port)
    token = MediaServer(url, before, secret).token("lesson", "classroom:r1", publish={"camera"})
    publisher = SyntheticPublisher(url, token, "桃源教学点", CLASSROOM_FEEDS)
    publisher.start()
    try:
        await publisher.wait_published(10)
        server.should_exit = True
        await before.stop()
        await asyncio.wait_for(task, 10)
        await until(lambda: publisher.state != "published", 10)
        await asyncio.sleep(1)  # it keeps knocking on a closed port meanwhile
        server, task = await serve_sfu(after, secret, port)
        await publisher.wait_published(15)
        assert publisher.sessions == 2
        assert set(after.rooms["lesson"].sources) == {"classroom:r1/camera"}
    finally:
        await publisher.close()
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        await before.stop()
        await after.stop()


@pytest.mark.parametrize(
    ("make_token", "feeds", "code"),
    [
        (lambda s: s.token("lesson", "x")[:-4] + "AAAA", CLASSROOM_FEEDS, "token_signature"),
        (lambda s: "not-a-token", CLASSROOM_FEEDS, "token_malformed"),
        (  # a classroom not called on may not open its microphone
            lambda s: s.token("lesson", "classroom:r1", publish={"camera"}),
            (*CLASSROOM_FEEDS, Feed("microphone")),
            "forbidden",
        ),
    ],
)
async def test_a_refusal_that_retrying_cannot_fix_stops_it(
    media_server: MediaServer,
    make_token: Callable[[MediaServer], str],
    feeds: tuple[Feed, ...],
    code: str,
) -> None:
    token = make_token(media_server)
    publisher = SyntheticPublisher(media_server.ws_url, token, "x", feeds)
    publisher.start()
    with pytest.raises(Exception) as refused:
        await publisher.wait_published(10)
    assert getattr(refused.value, "code", None) == code
    assert publisher.state == "failed" and publisher.error is refused.value
    sessions = publisher.sessions
    await asyncio.sleep(1.5)  # no more attempts
    assert publisher.state == "failed" and publisher.sessions == sessions
    await publisher.close()
    assert publisher.state == "failed"


async def test_a_callable_token_is_asked_again_on_rejoin(media_server: MediaServer) -> None:
    issued: list[str] = []

    def token() -> str:
        issued.append(media_server.token("lesson", "classroom:r1", publish={"camera"}))
        return issued[-1]

    publisher = SyntheticPublisher(media_server.ws_url, token, "龙潭教学点")
    publisher.start()
    try:
        await publisher.wait_published(10)
        publisher.rejoin()
        await until(lambda: publisher.sessions == 2 and publisher.state == "published", 10)
        assert len(issued) == 2
        assert set(media_server.sfu.rooms["lesson"].sources) == {"classroom:r1/camera"}
    finally:
        await publisher.close()
