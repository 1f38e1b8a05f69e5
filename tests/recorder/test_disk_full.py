"""The disk fills up mid-lesson: the recording stops cleanly, the lesson goes on, and
the lesson's log gets a ``recording.failed`` event.

The recordings folder is a 96 KiB tmpfs (``mount`` needs root, as CI runs); ENOSPC is
then real, not simulated.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from media.grants import sign_grant
from media.synthetic import TEACHER_FEEDS, SyntheticPublisher
from rooms.lifecycle import RoomState
from rooms.media_grants import media_grant
from rooms.store import RoomStore
from tests.conftest import free_port, services_required
from tests.recorder.test_record_lesson import start_recorder
from tests.web.live_fixtures import TEACHER, lessons_now
from tests.web.processes import sanke_env, sanke_server
from web.database import make_engine, upgrade
from web.services import media_secret
from web.settings import load_settings, secret_key

pytestmark = pytest.mark.slow


def small_disk(path: Path) -> None:
    path.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        if services_required():
            pytest.fail("the disk-full test mounts a tmpfs: run it as root")
        pytest.skip("mounting a small tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(path)], check=True)


def test_a_full_disk_stops_the_recording_not_the_lesson(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sanke.db'}")
    upgrade(engine)
    lesson = lessons_now(engine)[0].id
    recordings = tmp_path / "recordings"
    small_disk(recordings)
    port = free_port()
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port), SANKE_ENV="development",
                    SANKE_MEDIA_LOOPBACK="1")  # fmt: skip
    key = media_secret(secret_key(load_settings(env="development", data_dir=tmp_path)))
    store = RoomStore(engine)

    def token() -> str:
        now = datetime.now(UTC)
        grant = media_grant(lesson, f"teacher:{TEACHER}", "teacher", "王晓燕", now)
        return sign_grant(grant, key, now)

    def failures() -> list[dict[str, Any]]:
        return store.events(lesson, ("recording.failed",))

    async def lesson_on_a_full_disk() -> tuple[list[dict[str, Any]], str]:
        publisher = SyntheticPublisher(f"ws://127.0.0.1:{port}/media/ws", token, "王晓燕",
                                       TEACHER_FEEDS)  # fmt: skip
        publisher.start()
        await publisher.wait_published(20)
        recorder = start_recorder(env, tmp_path / "recorder.log")
        try:
            found: list[dict[str, Any]] = []
            for _ in range(300):  # bounded: 60 s
                found = await asyncio.to_thread(failures)
                if found:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # the lesson goes on after it
            return found, publisher.state
        finally:
            recorder.terminate()
            recorder.wait(20)
            await publisher.close()

    try:
        with sanke_server("serve", env=env, port=port):
            found, publishing = asyncio.run(lesson_on_a_full_disk())
            room = store.get(lesson)
        assert found, "no recording.failed event in the lesson's log"
        assert "No space left" in str(found[0]["data"]["error"])
        assert publishing == "published"
        assert room is not None and room[0].state is RoomState.LIVE
        assert list(recordings.glob(f"{lesson}/*.mkv"))  # what fitted is kept
        assert "Recorder(" in (tmp_path / "recorder.log").read_text()
    finally:
        subprocess.run(["umount", str(recordings)], check=False)
        engine.dispose()
