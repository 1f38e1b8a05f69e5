"""A real lesson recorded for the review tests: a synthetic teacher (camera in two
layers, microphone, courseware) and one classroom (camera, microphone) publish into a
real SFU on loopback, the room recorder records them, and the post-processing pipeline
builds the assets the review page plays. Built once per test session (about 20 s)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

from media.sfu import Sfu
from media.synthetic import CLASSROOM_FEEDS, TEACHER_FEEDS, Feed, SyntheticPublisher
from recorder.capture import RoomRecorder
from recorder.pipeline import process_recording
from tests.conftest import free_port
from tests.media.conftest import MediaServer, serve_sfu

TEACHER = "teacher:cs-qingxi-shiyan-t1"
CLASSROOM = "classroom:tp-yangshuwan-r1"
ROOM = "recorded-lesson"


async def _record(folder: Path, seconds: float) -> None:
    sfu, secret, port = Sfu(), secrets.token_hex(32), free_port()
    server, task = await serve_sfu(sfu, secret, port)
    media = MediaServer(f"http://127.0.0.1:{port}", sfu, secret)
    teacher = SyntheticPublisher(
        media.ws_url,
        media.token(ROOM, TEACHER, publish={"camera", "microphone", "screen"}),
        "王晓燕",
        TEACHER_FEEDS,
    )
    classroom = SyntheticPublisher(
        media.ws_url,
        media.token(ROOM, CLASSROOM, publish={"camera", "microphone"}),
        "杨树湾教学点",
        (*CLASSROOM_FEEDS, Feed("microphone")),
    )
    token = media.token(ROOM, "recorder", publish=set(), hidden=True, role="recorder")
    recorder = RoomRecorder(media.ws_url, lambda: token, folder)
    try:
        teacher.start()
        classroom.start()
        await teacher.wait_published(15)
        await classroom.wait_published(15)
        recorder.start()
        await asyncio.sleep(seconds)
    finally:
        await recorder.stop()
        await teacher.close()
        await classroom.close()
        server.should_exit = True
        await sfu.stop()
        await asyncio.wait_for(task, 10)


def record_lesson(root: Path, seconds: float = 14.0) -> Path:
    """Record and process a lesson under ``root``; returns its assets folder."""
    folder, assets = root / "recording" / ROOM, root / "assets" / ROOM
    folder.mkdir(parents=True)
    asyncio.run(_record(folder, seconds))
    process_recording(folder, assets, lambda percent: None)
    return assets


def install_assets(assets: Path, data_dir: Path, lesson: str) -> Path:
    """A copy of recorded assets as lesson ``lesson``'s, where the app looks for them."""
    target = data_dir / "assets" / lesson
    shutil.copytree(assets, target)
    return target
