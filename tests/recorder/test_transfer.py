"""recorder.transfer, and the worker's use of it, on a store in a folder (``LocalStorage``,
which passes the same contract as the S3 adapter; the S3 end to end is
``tests/web/test_s3_recordings.py``): what moves into the store and in what order, what
comes back for the composite and clips, and a recording built from the store's segments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from recorder.errors import AssemblyFailed, StorageKeyInvalid
from recorder.ffmpeg_binary import Ffmpeg
from recorder.jobs import JobQueue, JobState
from recorder.storage import LocalStorage
from recorder.transfer import fetch_assets, upload_folder, upload_recording
from recorder.worker import ASSETS, JobWorker
from tests.recorder.storage_contract import read
from tests.recorder.test_pipeline import record
from web.database import upgrade

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ASSETS_DOC = {
    "duration": 12.5, "skipped": [], "missing": [],
    "tracks": {
        "teacher_t1_camera": {"source": "teacher:t1/camera", "file": "teacher_t1_camera.webm"},
        "classroom_c2_camera": {"source": "classroom:c2/camera", "error": "no usable segment"},
    },
}  # fmt: skip


class OrderedStore(LocalStorage):
    """A store in a folder that remembers the order its objects were put in."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts: list[str] = []

    def put_file(self, key: str, path: Path) -> None:
        super().put_file(key, path)
        self.puts.append(key)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_a_recording_moves_into_the_store_its_descriptors_last(tmp_path: Path) -> None:
    spool, built = tmp_path / "recordings" / "lesson-1", tmp_path / "assets" / "lesson-1"
    write(spool / "recording.json", "{}")
    write(spool / "teacher_t1_camera-000001.mkv", b"segment 1")
    write(spool / "teacher_t1_camera-000002.mkv.part", b"open when the recorder died")
    write(spool / "teacher_t1_camera.timeline.jsonl", "{}\n")
    write(built / "assets.json", json.dumps(ASSETS_DOC))
    write(built / "teacher_t1_camera.webm", b"webm")
    write(built / ".teacher_t1_camera.hls.part", b"cut short")
    write(built / "hls" / "teacher_t1_camera-00001.ts", b"ts")
    store = OrderedStore(tmp_path / "bucket")

    assert upload_recording(store, spool, built, "lesson-1") == 6

    assert store.puts == [
        "recordings/lesson-1/teacher_t1_camera-000001.mkv",
        "recordings/lesson-1/teacher_t1_camera.timeline.jsonl",
        "recordings/lesson-1/recording.json",
        "assets/lesson-1/hls/teacher_t1_camera-00001.ts",
        "assets/lesson-1/teacher_t1_camera.webm",
        "assets/lesson-1/assets.json",
    ]
    assert not spool.exists() and not built.exists()


def test_the_built_files_come_back_for_the_composite_and_clips(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "bucket")
    with pytest.raises(AssemblyFailed, match="no assets.json of lesson-1"):
        fetch_assets(store, "lesson-1", tmp_path / "scratch")
    store.put_bytes("assets/lesson-1/assets.json", json.dumps(ASSETS_DOC).encode())
    store.put_bytes("assets/lesson-1/teacher_t1_camera.webm", b"webm")
    store.put_bytes("assets/lesson-1/teacher_t1_camera.sprite.jpg", b"not needed")

    assert fetch_assets(store, "lesson-1", tmp_path / "scratch") == ASSETS_DOC

    fetched = sorted(p.name for p in (tmp_path / "scratch").iterdir())
    assert fetched == ["assets.json", "teacher_t1_camera.webm"]
    assert (tmp_path / "scratch" / "teacher_t1_camera.webm").read_bytes() == b"webm"
    tampered = {"tracks": {"x": {"source": "teacher:t1/camera", "file": "../../etc/passwd"}}}
    store.put_bytes("assets/lesson-2/assets.json", json.dumps(tampered).encode())
    with pytest.raises(StorageKeyInvalid):
        fetch_assets(store, "lesson-2", tmp_path / "scratch-2")


async def test_a_recording_in_the_store_is_fetched_built_and_its_assets_put(
    sqlite_engine: Engine, tools: Ffmpeg, tmp_path: Path
) -> None:
    upgrade(sqlite_engine)
    queue = JobQueue(sqlite_engine)
    store = LocalStorage(tmp_path / "bucket")
    record(tools, tmp_path / "egress" / "lesson-1")  # as LiveKit Egress leaves it in the store
    upload_folder(store, tmp_path / "egress" / "lesson-1", "recordings/lesson-1/")
    segments = [item.key for item in store.list("recordings/")]
    worker = JobWorker(queue, tmp_path / "recordings", tmp_path / "assets", "w1",
                       clock=lambda: T0, tools=tools, store=store)  # fmt: skip
    built, never = queue.enqueue("lesson-1", ASSETS, T0), queue.enqueue("lesson-2", ASSETS, T0)

    await worker.run_once()
    await worker.run_once()

    done = queue.get(built)
    assert done is not None and done.state is JobState.DONE and done.result is not None
    assert done.result["assets"] == "assets/lesson-1/assets.json"
    assets = json.loads(read(store, "assets/lesson-1/assets.json"))
    assert sorted(assets["tracks"]) == done.result["tracks"]
    assert store.exists("assets/lesson-1/teacher_t1_camera.webm")
    assert [item.key for item in store.list("recordings/")] == segments  # left as they were
    assert list((tmp_path / "assets").iterdir()) == []  # nothing built stays on the disk
    waiting = queue.get(never)  # nothing recorded yet: tried again later
    assert waiting is not None and waiting.state is JobState.QUEUED and waiting.error
    assert "no recording lesson-2 on this disk or in the store" in waiting.error
