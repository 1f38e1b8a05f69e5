"""``sanke media token`` and ``sanke ingest`` against a running ``sanke demo``.

A classroom encoder's stream (H.264 + AAC in FLV, made here with PyAV) goes in through
``sanke ingest`` (WHIP); an aiortc player takes it out through WHEP and decodes it.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import secrets
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from media.grants import sign_grant
from rooms.media_grants import media_grant
from tests.media.peers import count_frames, wait_for_tracks, whep_player
from tests.web.processes import SANKE, media_demo, run_sanke
from web.services import media_secret

pytestmark = pytest.mark.slow
SECRET = secrets.token_urlsafe(48)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with media_demo(tmp_path_factory.mktemp("ingest"), SECRET) as (url, env):
        yield url, env


def classroom_recording(path: Path, seconds: int = 6) -> None:
    """What a 录播主机 sends: H.264 (no B-frames) and AAC in FLV."""
    out = av.open(str(path), "w", format="flv")
    video = out.add_stream("libx264", rate=25)
    video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
    video.options = {"bf": "0", "g": "25", "preset": "ultrafast"}
    audio = out.add_stream("aac", rate=44100)
    audio.layout = "mono"
    samples = 0
    for index in range(seconds * 25):
        image = np.full((240, 320, 3), index % 255, np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = index, fractions.Fraction(1, 25)
        for packet in video.encode(frame):
            out.mux(packet)
        while samples < (index + 1) * 44100 // 25:
            tone = (np.sin(np.arange(1024) / 8.0) * 6000).astype(np.float32).reshape(1, -1) / 32768
            sound = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = (
                44100,
                samples,
                fractions.Fraction(1, 44100),
            )
            for packet in audio.encode(sound):
                out.mux(packet)
            samples += 1024
    for stream in (video, audio):
        for packet in stream.encode(None):
            out.mux(packet)
    out.close()


def test_media_token_refuses_an_unknown_role(server: tuple[str, dict[str, str]]) -> None:
    _, env = server
    result = run_sanke(
        "media", "token", "--room", "r", "--identity", "x", "--role", "janitor", env=env
    )
    assert result.returncode == 2 and "--role: expected one of" in result.stderr


async def test_ingest_a_classroom_encoder_into_a_room(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = server
    recording = tmp_path / "classroom.flv"
    classroom_recording(recording)
    issued = run_sanke(
        "media",
        "token",
        "--room",
        "ingest-1",
        "--identity",
        "recorder-box",
        "--role",
        "teacher",
        "--name",
        "录播主机",
        env=env,
    )
    assert issued.returncode == 0, issued.stderr
    process = await asyncio.create_subprocess_exec(
        SANKE,
        "ingest",
        str(recording),
        "--room",
        "ingest-1",
        "--token",
        issued.stdout.strip(),
        "--server",
        url,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    now = datetime.now(UTC)
    viewer = sign_grant(
        media_grant("ingest-1", "inspector-1", "inspector", "巡课", now), media_secret(SECRET), now
    )
    player, tracks, answer = await whep_player(f"{url}/media/whep/ingest-1", viewer, attempts=60)
    try:
        assert answer.status_code == 201, answer.text
        await wait_for_tracks(tracks, "video", "audio")
        video = await count_frames(tracks["video"], 2.5)
        audio = await count_frames(tracks["audio"], 0.5)
        assert len(video) >= 30 and video[-1].width == 320  # type: ignore[attr-defined]
        assert len(audio) >= 10
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        result = json.loads(out)
        assert result["video_packets"] >= 140 and result["transcoded_audio"] is True
    finally:
        await player.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
