"""Ingest against real parts: ffmpeg-made sources, an ffmpeg RTMP server, and a WHIP
endpoint backed by a real aiortc peer (starlette + uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import uvicorn
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from media.errors import PublishError, SourceError, UnsupportedCodec
from media.ingest import ingest
from tests.conftest import free_port, services_required
from tests.media.peers import peer_connection

FFMPEG = shutil.which("ffmpeg")
TOKEN = "secret-room-token"
ROOM = "class-3-2"
SECONDS = 3
FPS = 30
GOP = 30
TONE = 440.0


@pytest.fixture(autouse=True)
def ffmpeg_cli() -> None:
    """The tests make their sources with the ffmpeg CLI (`.ci/run` installs it)."""
    if FFMPEG is None:
        if services_required():
            pytest.fail("the ffmpeg CLI is not installed and SANKE_REQUIRE_SERVICES=1")
        pytest.skip("needs the ffmpeg CLI")


def ffmpeg(*args: str) -> None:
    assert FFMPEG is not None
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=60
    )


@dataclass(frozen=True)
class Sources:
    flv: Path  # H.264 High (AVCC) + AAC
    mkv_opus: Path  # H.264 + Opus
    mpeg4: Path  # MPEG-4 Part 2 video
    frame_hashes: frozenset[bytes]  # of every decoded frame of flv
    keyframes: int  # in flv
    profile: str  # of flv's video


def lavfi(seconds: float) -> list[str]:
    return [
        "-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}",
        "-f", "lavfi", "-i", f"sine=frequency={TONE:g}:sample_rate=44100",
        "-t", f"{seconds:g}", "-pix_fmt", "yuv420p",
    ]  # fmt: skip


def frame_hash(frame: Any) -> bytes:
    return hashlib.sha1(frame.to_ndarray().tobytes()).digest()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    where = tmp_path_factory.mktemp("ingest")
    flv, mkv, mpeg4 = where / "cam.flv", where / "cam.mkv", where / "cam-mpeg4.mkv"
    h264 = ["-c:v", "libx264", "-profile:v", "high", "-g", str(GOP), "-bf", "0"]
    ffmpeg(*lavfi(SECONDS), *h264, "-c:a", "aac", str(flv))
    ffmpeg(*lavfi(2), *h264, "-c:a", "libopus", str(mkv))
    ffmpeg(*lavfi(1), "-c:v", "mpeg4", "-c:a", "aac", str(mpeg4))
    with av.open(str(flv)) as container:
        stream = container.streams.video[0]
        profile = stream.codec_context.profile
        keyframes = sum(p.is_keyframe for p in container.demux(stream) if p.size)
    with av.open(str(flv)) as container:
        hashes = frozenset(frame_hash(f) for f in container.decode(video=0))
    return Sources(flv, mkv, mpeg4, hashes, keyframes, profile or "")


@dataclass
class Session:
    pc: RTCPeerConnection
    video_hashes: list[bytes] = field(default_factory=list)
    video_pts: list[int] = field(default_factory=list)
    audio_frames: int = 0
    audio: list[Any] = field(default_factory=list)  # s16 samples, channel 0
    deleted: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def on_track(self, track: Any) -> None:
        self.tasks.append(asyncio.create_task(self.consume(track)))

    async def consume(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.video_hashes.append(frame_hash(frame))
                    self.video_pts.append(frame.pts)
                else:
                    self.audio_frames += 1
                    samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
                    self.audio.append(samples[:, 0])

    def dominant_frequency(self) -> float:
        samples = np.concatenate(self.audio[25:]).astype(np.float64)  # skip the first 0.5 s
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
        return float(np.argmax(spectrum) * 48000 / len(samples))


class WhipServer:
    """A WHIP endpoint (RFC 9725) for one room, answering with a real aiortc peer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sessions: dict[str, Session] = {}
        self.app = Starlette(
            routes=[
                Route("/whip/{room}", self.post, methods=["POST"]),
                Route("/whip/{room}/{session}", self.delete, methods=["DELETE"]),
            ]
        )

    def url(self, room: str = ROOM) -> str:
        return f"http://127.0.0.1:{self.port}/whip/{room}"

    async def post(self, request: Request) -> Response:
        if request.path_params["room"] != ROOM:
            return Response("no such room", 404)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response("bad token", 401)
        if request.headers.get("content-type") != "application/sdp":
            return Response("offer must be application/sdp", 415)
        pc = peer_connection()  # host candidates on loopback (tests.media.peers)
        session = Session(pc)
        pc.on("track", session.on_track)
        await pc.setRemoteDescription(
            RTCSessionDescription((await request.body()).decode(), "offer")
        )
        await pc.setLocalDescription(await pc.createAnswer())
        key = secrets.token_hex(4)
        self.sessions[key] = session
        return Response(
            pc.localDescription.sdp,
            201,
            headers={"Location": f"/whip/{ROOM}/{key}"},
            media_type="application/sdp",
        )

    async def delete(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["session"])
        if session is None or request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(status_code=404)
        session.deleted = True
        await session.pc.close()
        return Response(status_code=200)

    def only_session(self) -> Session:
        assert len(self.sessions) == 1
        return next(iter(self.sessions.values()))

    async def close(self) -> None:
        for session in self.sessions.values():
            await session.pc.close()
            for task in session.tasks:
                task.cancel()
            await asyncio.gather(*session.tasks, return_exceptions=True)


@pytest.fixture
async def whip() -> AsyncIterator[WhipServer]:
    server = WhipServer(free_port())
    config = uvicorn.Config(
        server.app, host="127.0.0.1", port=server.port, log_level="warning",
        lifespan="off", ws="none", http="h11",
    )  # fmt: skip
    runner = uvicorn.Server(config)
    serving = asyncio.create_task(runner.serve())
    for _ in range(200):  # at most 10 s
        if runner.started or serving.done():
            break
        await asyncio.sleep(0.05)
    assert runner.started, "uvicorn did not start"
    yield server
    await server.close()
    runner.should_exit = True
    await asyncio.wait_for(serving, 10)


def assert_passed_through(session: Session, sources: Sources) -> None:
    """Every frame decoded at the far end is bit-identical to a frame of the source.

    A re-encode anywhere on the path (aiortc's H264Encoder makes Baseline at its own
    bitrate) is lossy and would change the pixels.
    """
    matched = sum(h in sources.frame_hashes for h in session.video_hashes)
    print(f"\n{matched} of {len(session.video_hashes)} received frames bit-identical to the source")
    assert matched >= 0.95 * len(session.video_hashes), (matched, len(session.video_hashes))


async def test_flv_file_video_passed_through_aac_transcoded(
    whip: WhipServer, sources: Sources
) -> None:
    statuses: list[str] = []
    started = time.monotonic()
    result = await asyncio.wait_for(
        ingest(str(sources.flv), whip.url(), TOKEN, on_status=statuses.append), 30
    )
    took = time.monotonic() - started
    await asyncio.sleep(0.3)
    session = whip.only_session()

    assert sources.profile == "High"
    assert result.video_packets == SECONDS * FPS
    assert result.keyframes == sources.keyframes == SECONDS * FPS // GOP
    assert result.transcoded_audio
    assert result.audio_packets >= SECONDS * 44100 // 1024
    assert result.reconnects == 0
    assert took >= SECONDS - 0.2  # paced by timestamps, not sent at reading speed
    assert len(session.video_hashes) >= 0.9 * SECONDS * FPS
    assert_passed_through(session, sources)
    assert session.audio_frames >= 0.8 * SECONDS * 50  # 20 ms Opus frames
    assert abs(session.dominant_frequency() - TONE) < 5
    assert session.deleted
    assert "live" in statuses
    assert any("transcoded to Opus" in s for s in statuses)
    print(
        f"\nflv: sent {result}; received {len(session.video_hashes)} video frames, "
        f"{session.audio_frames} audio frames in {took:.2f} s"
    )


async def test_opus_passes_through(whip: WhipServer, sources: Sources) -> None:
    result = await asyncio.wait_for(ingest(str(sources.mkv_opus), whip.url(), TOKEN), 30)
    await asyncio.sleep(0.3)
    session = whip.only_session()

    assert not result.transcoded_audio
    assert result.audio_packets >= 2 * 50 * 0.9
    assert session.audio_frames >= 2 * 50 * 0.8
    assert abs(session.dominant_frequency() - TONE) < 5
    assert len(session.video_hashes) >= 0.9 * 2 * FPS
    print(f"\nmkv/opus: sent {result}; received {len(session.video_hashes)} video frames, "
          f"{session.audio_frames} audio frames")  # fmt: skip


def rtmp_server(source: Path, url: str) -> subprocess.Popen[bytes]:
    """ffmpeg as a one-client RTMP server that plays ``source`` in real time, then exits."""
    assert FFMPEG is not None
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-i", str(source),
               "-c", "copy", "-f", "flv", "-listen", "1", url]  # fmt: skip
    return subprocess.Popen(command, stdin=subprocess.DEVNULL)


@contextlib.contextmanager
def reaped(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


async def exited(process: subprocess.Popen[bytes], limit: float) -> int:
    deadline = time.monotonic() + limit
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert process.poll() is not None, "ffmpeg did not finish in time"
    return process.returncode


@pytest.mark.slow
async def test_rtmp_pull_reconnects_on_the_same_whip_session(
    whip: WhipServer, sources: Sources
) -> None:
    url = f"rtmp://127.0.0.1:{free_port()}/live/cam"
    stop = asyncio.Event()
    statuses: list[str] = []
    with reaped(rtmp_server(sources.flv, url)) as first:
        running = asyncio.create_task(
            ingest(
                url, whip.url(), TOKEN, stop=stop, on_status=statuses.append, timeout=5, retries=6
            )  # fmt: skip
        )
        try:
            await exited(first, 20)
            # The camera comes back on the same address: ingest must reopen it.
            with reaped(rtmp_server(sources.flv, url)) as second:
                await exited(second, 20)
                await asyncio.sleep(1.0)
        finally:
            stop.set()
            result = await asyncio.wait_for(running, 20)
    await asyncio.sleep(0.3)
    session = whip.only_session()  # one WHIP session throughout

    assert result.reconnects == 1
    assert result.keyframes == 2 * sources.keyframes
    assert result.video_packets == 2 * SECONDS * FPS
    assert result.transcoded_audio
    assert len(session.video_hashes) >= 0.9 * 2 * SECONDS * FPS
    assert_passed_through(session, sources)
    # RTP timestamps only move forward, across the reconnect too (modulo 2**32).
    steps = [
        (b - a) % 2**32 for a, b in zip(session.video_pts, session.video_pts[1:], strict=False)
    ]
    assert all(0 < step < 2**31 for step in steps)
    assert session.deleted
    assert any("reconnected" in s for s in statuses)
    print(f"\nrtmp: sent {result}; received {len(session.video_hashes)} video frames, "
          f"{session.audio_frames} audio frames")  # fmt: skip


async def test_stop_ends_the_session(whip: WhipServer, sources: Sources) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(ingest(str(sources.flv), whip.url(), TOKEN, stop=stop))
    await asyncio.sleep(1.5)
    stop.set()
    result = await asyncio.wait_for(running, 5)
    session = whip.only_session()
    assert 0 < result.video_packets < SECONDS * FPS
    assert session.deleted


@pytest.mark.parametrize(
    ("room", "token", "status", "words"),
    [
        (ROOM, "wrong-token", 401, "refused the token"),
        ("no-such-room", TOKEN, 404, "no such room"),
    ],
)
async def test_whip_refusal_is_explained(
    whip: WhipServer, sources: Sources, room: str, token: str, status: int, words: str
) -> None:
    with pytest.raises(PublishError) as caught:
        await asyncio.wait_for(ingest(str(sources.flv), whip.url(room), token), 15)
    assert caught.value.status == status
    assert words in str(caught.value) and f"HTTP {status}" in str(caught.value)
    assert token not in str(caught.value)
    assert not whip.sessions


async def test_unreachable_whip_endpoint_is_explained(sources: Sources) -> None:
    url = f"http://127.0.0.1:{free_port()}/whip/{ROOM}"  # nothing listens there
    with pytest.raises(PublishError, match="unreachable") as caught:
        await asyncio.wait_for(ingest(str(sources.flv), url, TOKEN, timeout=2), 10)
    assert caught.value.status is None


async def test_non_h264_video_is_refused_by_name(whip: WhipServer, sources: Sources) -> None:
    with pytest.raises(UnsupportedCodec) as caught:
        await asyncio.wait_for(ingest(str(sources.mpeg4), whip.url(), TOKEN), 15)
    assert caught.value.codec == "mpeg4"
    assert "'mpeg4'" in str(caught.value) and "H.264" in str(caught.value)
    assert not whip.sessions  # refused before publishing anything


async def test_missing_file_fails_at_once(whip: WhipServer, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.flv"
    started = time.monotonic()
    with pytest.raises(SourceError, match="cannot open .*nothing.flv"):
        await asyncio.wait_for(ingest(str(missing), whip.url(), TOKEN), 10)
    assert time.monotonic() - started < 2
    assert not whip.sessions


async def test_absent_camera_fails_after_bounded_retries(whip: WhipServer) -> None:
    url = f"rtmp://user:pw@127.0.0.1:{free_port()}/live/none"  # nothing listens there
    statuses: list[str] = []
    started = time.monotonic()
    with pytest.raises(SourceError, match="Connection refused") as caught:
        await asyncio.wait_for(
            ingest(url, whip.url(), TOKEN, retries=2, timeout=2, on_status=statuses.append), 15
        )
    assert 1.4 < time.monotonic() - started < 6  # backoff 0.5 s + 1 s
    assert sum("retrying" in s for s in statuses) == 2
    assert "pw" not in str(caught.value) and all("pw" not in s for s in statuses)
    assert not whip.sessions


async def test_silent_camera_times_out(whip: WhipServer) -> None:
    held: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        with pytest.raises(SourceError, match="cannot open"):
            await asyncio.wait_for(
                ingest(f"rtmp://127.0.0.1:{port}/live/cam", whip.url(), TOKEN,
                       reconnect=False, timeout=1.0), 10
            )  # fmt: skip
        assert time.monotonic() - started < 4
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert not whip.sessions
