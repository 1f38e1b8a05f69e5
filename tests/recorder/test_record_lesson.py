"""A real lesson recorded through the SFU by ``sanke record``, killed once mid-lesson.

``sanke serve`` runs a lesson that is live now; a synthetic teacher (aiortc) publishes
VP8 camera and Opus microphone; ``sanke record`` records it as its own process, is
killed with SIGKILL in the middle and started again. The finished tracks keep the
source's codecs (no transcoding) and cover the lesson but for at most one segment
(2 s) per crash, plus the time the recorder was down.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from media.grants import sign_grant
from media.synthetic import TEACHER_FEEDS, SyntheticPublisher
from recorder.assemble import assemble_track
from recorder.segments import SegmentWriter
from rooms.media_grants import media_grant
from tests.conftest import free_port
from tests.web.live_fixtures import TEACHER, lessons_now
from tests.web.processes import ROOT, SANKE, sanke_env, sanke_server
from tests.web.test_pages_browser import ARTIFACTS
from web.database import make_engine, upgrade
from web.services import media_secret
from web.settings import load_settings, secret_key

pytestmark = pytest.mark.slow


def start_recorder(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [SANKE, "record"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def wait_segments(folder: Path, track: str, at_least: int, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        count = len(SegmentWriter.read_timeline(folder, track)) if folder.exists() else 0
        if count >= at_least:
            return count
        time.sleep(0.2)
    pytest.fail(f"{track}: {count} segments after {seconds} s, wanted {at_least}")


def test_a_lesson_recorded_through_the_sfu_survives_a_killed_recorder(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sanke.db'}")
    upgrade(engine)
    lesson = lessons_now(engine)[0].id
    engine.dispose()
    port = free_port()
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port), SANKE_ENV="development",
                    SANKE_MEDIA_LOOPBACK="1")  # fmt: skip
    settings = load_settings(env="development", data_dir=tmp_path)
    key = media_secret(secret_key(settings))
    folder = tmp_path / "recordings" / lesson
    camera = f"teacher_{TEACHER}_camera".replace(":", "_")
    log = tmp_path / "recorder.log"

    def token() -> str:
        now = datetime.now(UTC)
        grant = media_grant(lesson, f"teacher:{TEACHER}", "teacher", "王晓燕", now)
        return sign_grant(grant, key, now)

    async def lesson_with_a_crash() -> dict[str, float]:
        publisher = SyntheticPublisher(f"ws://127.0.0.1:{port}/media/ws", token, "王晓燕",
                                       TEACHER_FEEDS)  # fmt: skip
        publisher.start()
        await publisher.wait_published(20)
        marks = {"published": time.time()}
        recorder = start_recorder(env, log)
        await asyncio.to_thread(wait_segments, folder, camera, 3)
        marks["killed"] = time.time()
        recorder.send_signal(signal.SIGKILL)  # no chance to close anything
        recorder.wait(10)
        marks["restarted"] = time.time()
        recorder = start_recorder(env, log)
        before = len(SegmentWriter.read_timeline(folder, camera))
        await asyncio.to_thread(wait_segments, folder, camera, before + 3)
        recorder.send_signal(signal.SIGTERM)
        recorder.wait(20)
        marks["stopped"] = time.time()
        await publisher.close()
        return marks

    with sanke_server("serve", env=env, port=port):
        marks = asyncio.run(lesson_with_a_crash())
    assert not list(folder.glob("*.part"))  # the killed one's was cleared; SIGTERM closed the rest
    manifest = json.loads((folder / "recording.json").read_text())
    assert {t["source"] for t in manifest["tracks"].values()} >= {
        f"teacher:{TEACHER}/camera",
        f"teacher:{TEACHER}/microphone",
    }
    timeline = SegmentWriter.read_timeline(folder, camera)
    walls = [s.wall for s in timeline]
    assert walls == sorted(walls)
    # segments on both sides of the crash, and the gap is the recorder's downtime + ≤ 2 s
    before = [s for s in timeline if s.wall < marks["killed"]]
    after = [s for s in timeline if s.wall >= marks["restarted"]]
    assert before and after
    lost = after[0].wall - (before[-1].wall + before[-1].seconds)
    downtime = marks["restarted"] - marks["killed"]
    assert lost <= downtime + 2.0 + 2.5, f"lost {lost:.1f} s for a {downtime:.1f} s outage"

    out = tmp_path / "assets"
    video = assemble_track(folder, camera, out)
    audio = assemble_track(folder, f"teacher_{TEACHER}_microphone".replace(":", "_"), out)
    assert video.codec == "vp8" and audio.codec == "opus"  # as published: nothing transcoded
    recorded = sum(s.seconds for s in timeline)
    assert abs(video.duration - video.lost_seconds - recorded) < 1.5, (video, recorded)
    assert video.duration >= 10.0  # six segments at least, three on each side of the crash
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "recorder-crash.json").write_text(json.dumps({
        "downtime_s": round(downtime, 2), "lost_s": round(lost, 2),
        "lost_beyond_downtime_s": round(lost - downtime, 2), "video_codec": video.codec,
        "audio_codec": audio.codec, "video_s": round(video.duration, 2),
        "recorded_s": round(recorded, 2), "segments": len(timeline),
    }, indent=2))  # fmt: skip
