"""A recorded lesson the app can review: the dated lesson in the timetable (the demo
teacher's English lesson, ended 10 minutes ago), its assets where the app keeps them,
and its post-processing job done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from recorder.jobs import JobQueue
from recorder.worker import ASSETS
from tests.recorder.recorded import install_assets
from tests.web.live_fixtures import lessons_now


def recorded_lesson(engine: Engine, data_dir: Path, assets: Path) -> str:
    """Publish the lesson and install ``assets`` as its processed recording; returns the
    lesson (= recording) id."""
    lesson = lessons_now(engine, started_minutes_ago=50)[0].id
    install_assets(assets, data_dir, lesson)
    queue, now = JobQueue(engine), datetime.now(UTC)
    queue.enqueue(lesson, ASSETS, now)
    job = queue.claim("test", now, timedelta(minutes=1))
    assert job is not None
    queue.done(job, {"duration": 14.0}, now)
    return lesson
