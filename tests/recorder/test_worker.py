"""recorder.worker: a job taken from the queue (SQLite and PostgreSQL), built with the
real ffmpeg, its progress and end recorded and announced; the composite queued after the
assets, a clip cut by its id."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from recorder.ffmpeg_binary import Ffmpeg
from recorder.jobs import JobQueue, JobState
from recorder.worker import ASSETS, CLIP_PREFIX, COMPOSITE, JobWorker
from tests.recorder.test_clips import CAMERA, CLASSROOM, MICROPHONE, make_lesson
from tests.recorder.test_pipeline import record

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.slow
async def test_a_job_is_built_and_announced_and_its_composite_follows(
    engine: Engine, tools: Ffmpeg, tmp_path: Path
) -> None:
    record(tools, tmp_path / "rec" / "lesson-1")
    queue = JobQueue(engine)
    job_id = queue.enqueue("lesson-1", ASSETS, T0)
    events: list[tuple[str, dict[str, Any]]] = []
    worker = JobWorker(queue, tmp_path / "rec", tmp_path / "assets", "w1",
                       on_event=lambda kind, data: events.append((kind, data)),
                       clock=lambda: T0, tools=tools)  # fmt: skip

    assert await worker.run_once() is not None

    job = queue.get(job_id)
    assert job is not None
    assert (job.state, job.progress, job.attempts) == (JobState.DONE, 100, 1)
    assert job.result is not None
    assert job.result["tracks"] == [
        "classroom_c2_microphone", "teacher_t1_camera", "teacher_t1_microphone",
    ]  # fmt: skip
    assert (tmp_path / "assets" / "lesson-1" / "assets.json").is_file()
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "recording.job.started" and kinds[-1] == "recording.job.done"
    percents = [data["percent"] for kind, data in events if kind == "recording.job.progress"]
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents)
    assert all(data["recording"] == "lesson-1" for _, data in events)

    # the assets done, the composite is queued, and made next
    assert [(j.kind, j.state) for j in queue.for_recording("lesson-1")] == [
        (ASSETS, JobState.DONE), (COMPOSITE, JobState.QUEUED),
    ]  # fmt: skip
    events.clear()
    assert await worker.run_once() is not None
    assert await worker.run_once() is None  # nothing left
    composite = queue.for_recording("lesson-1")[1]
    assert (composite.state, composite.attempts) == (JobState.DONE, 1)
    assert composite.result is not None and composite.result["file"] == "composite.mp4"
    assert [t["track"] for t in composite.result["tiles"]] == ["teacher_t1_camera"]
    assert (tmp_path / "assets" / "lesson-1" / "composite.mp4").is_file()
    assert events[-1] == ("recording.job.done", {
        "job": composite.id, "recording": "lesson-1", "kind": COMPOSITE,
        "result": composite.result,
    })  # fmt: skip


async def test_a_clip_is_cut_by_its_id(engine: Engine, tools: Ffmpeg, tmp_path: Path) -> None:
    make_lesson(tools, tmp_path / "assets" / "lesson-1")
    queue = JobQueue(engine)
    job_id = queue.enqueue("lesson-1", f"{CLIP_PREFIX}7", T0)
    asked: list[int] = []

    def clips(clip: int) -> tuple[float, float]:
        asked.append(clip)
        return 3.1, 6.5

    worker = JobWorker(queue, tmp_path / "rec", tmp_path / "assets", "w1",
                       clock=lambda: T0, clips=clips, tools=tools)  # fmt: skip
    assert await worker.run_once() is not None

    job = queue.get(job_id)
    assert job is not None and job.state is JobState.DONE, job
    out = tmp_path / "assets" / "lesson-1" / "clips" / "7"
    assert asked == [7]
    clip = json.loads((out / "clip.json").read_text(encoding="utf-8"))
    assert job.result == clip
    assert (clip["start"], clip["end"]) == (2.0, 6.5)
    assert sorted(clip["tracks"]) == [CLASSROOM, CAMERA, MICROPHONE]
    assert all((out / t["file"]).is_file() for t in clip["tracks"].values())
    assert [j.kind for j in queue.for_recording("lesson-1")] == ["clip:7"]  # nothing follows


async def test_a_clip_that_cannot_be_cut_is_not_retried(
    engine: Engine, tools: Ffmpeg, tmp_path: Path
) -> None:
    make_lesson(tools, tmp_path / "assets" / "lesson-1")
    queue = JobQueue(engine)
    beyond = queue.enqueue("lesson-1", f"{CLIP_PREFIX}8", T0)
    unknown = queue.enqueue("lesson-1", f"{CLIP_PREFIX}9", T0)
    worker = JobWorker(queue, tmp_path / "rec", tmp_path / "assets", "w1", clock=lambda: T0,
                       clips={8: (20.0, 30.0)}.__getitem__, tools=tools)  # fmt: skip
    blind = JobWorker(queue, tmp_path / "rec", tmp_path / "assets", "w2", clock=lambda: T0,
                      tools=tools)  # fmt: skip

    await worker.run_once()
    await blind.run_once()

    failed = queue.get(beyond)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.error.startswith("ClipInvalid: no track of lesson-1 has media")
    failed = queue.get(unknown)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.error.startswith("ValueError: this worker cannot look clip 9 up")


async def test_a_failed_job_is_retried_later_and_the_failure_announced(
    engine: Engine, tmp_path: Path
) -> None:
    queue = JobQueue(engine, max_attempts=2, backoff=timedelta(seconds=10))
    job_id = queue.enqueue("lesson-absent", ASSETS, T0)
    events: list[tuple[str, dict[str, Any]]] = []
    now = [T0]
    worker = JobWorker(queue, tmp_path / "rec", tmp_path / "assets", "w1",
                       on_event=lambda kind, data: events.append((kind, data)),
                       clock=lambda: now[0])  # fmt: skip

    await worker.run_once()
    assert events[-1][0] == "recording.job.failed" and events[-1][1]["final"] is False
    assert await worker.run_once() is None  # backing off
    now[0] = T0 + timedelta(seconds=10)
    await worker.run_once()
    assert events[-1][1]["final"] is True
    job = queue.get(job_id)
    assert job is not None and job.state is JobState.FAILED
    assert "recording.json" in job.error


async def test_run_stops_when_told(engine: Engine, tmp_path: Path) -> None:
    worker = JobWorker(JobQueue(engine), tmp_path, tmp_path, "w1", poll_seconds=60)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
