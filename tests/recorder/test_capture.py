"""The room recorder against a real SFU: it records whatever codec the publisher sends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from recorder.capture import RoomRecorder, track_name
from recorder.segments import SegmentWriter
from tests.media.conftest import MediaServer
from tests.media.peers import publish

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("codec", "suffix"), [("h264", ".ts"), ("vp8", ".mkv")])
async def test_the_recorder_keeps_the_publishers_codec(
    media_server: MediaServer, tmp_path: Path, codec: str, suffix: str
) -> None:
    publisher = await publish(media_server.sfu, "r", "teacher", codec=codec)
    token = media_server.token("r", "recorder", publish=set(), hidden=True, role="recorder")
    recorder = RoomRecorder(media_server.ws_url, lambda: token, tmp_path, segment_seconds=1.0)
    recorder.start()
    camera = track_name("teacher/camera")
    try:
        for _ in range(100):  # bounded: 10 s
            if len(SegmentWriter.read_timeline(tmp_path, camera)) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await recorder.stop()
        await publisher.close()
    segments = SegmentWriter.read_timeline(tmp_path, camera)
    assert len(segments) >= 2 and segments[0].segment.endswith(suffix)
    manifest = json.loads((tmp_path / "recording.json").read_text())
    assert manifest["tracks"][camera] == {"source": "teacher/camera", "codec": codec,
                                          "clock_rate": 90_000}  # fmt: skip
    assert manifest["tracks"][track_name("teacher/microphone")]["codec"] == "opus"
