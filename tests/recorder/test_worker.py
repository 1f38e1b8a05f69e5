"""recorder.worker: a job taken from the queue (SQLite and PostgreSQL), built with the
real ffmpeg, its progress and end recorded and announced."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from recorder.ffmpeg_binary import Ffmpeg
from recorder.jobs import JobQueue, JobState
from recorder.worker import ASSETS, JobWorker
from tests.recorder.test_pipeline import record

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_a_job_is_built_and_announced(engine: Engine, tools: Ffmpeg, tmp_path: Path) -> None:
    record(tools, tmp_path / "rec" / "lesson-1")
    queue = JobQueue(engine)
    job_id = queue.enqueue("lesson-1", ASSETS, T0)
    events: list[tuple[str, dict[str, Any]]] = []
    worker = JobWorker(queue, tmp_path / "rec", tmp_path / "assets", "w1",
                       on_event=lambda kind, data: events.append((kind, data)),
                       clock=lambda: T0)  # fmt: skip

    assert await worker.run_once() is not None
    assert await worker.run_once() is None  # nothing left

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
