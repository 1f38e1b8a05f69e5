"""``sanke record``'s job worker as the app wires it: a finished recording is built into
its assets, then its composite; the lesson's log learns that the recording is ready, and
the review page gets the composite."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from recorder.jobs import JobQueue
from recorder.worker import ASSETS, COMPOSITE
from rooms.store import RoomStore
from tests.recorder.recorded import ROOM
from tests.web.conftest import ACCOUNTS, bearer
from tests.web.live_fixtures import lessons_now
from web.recording import job_worker
from web.services import Services

pytestmark = pytest.mark.slow


def test_the_worker_builds_assets_then_the_composite_and_logs_the_recording_ready(
    app: FastAPI, client: TestClient, engine: Engine, recorded_assets: Path
) -> None:
    services: Services = app.state.services
    settings = services.settings
    lesson = lessons_now(engine, started_minutes_ago=50)[0].id
    shutil.copytree(recorded_assets.parent.parent / "recording" / ROOM,
                    settings.data_dir / "recordings" / lesson)  # fmt: skip
    JobQueue(engine).enqueue(lesson, ASSETS, datetime.now(UTC))
    worker = job_worker(settings, engine)
    assert asyncio.run(worker.run_once()) is not None  # assets
    ready = RoomStore(engine).events(lesson, ["recording.ready"])
    assert len(ready) == 1 and ready[0]["data"]["duration"] > 12
    assert len(ready[0]["data"]["tracks"]) == 5
    job = asyncio.run(worker.run_once())  # the composite, queued as a follow-up
    assert job is not None and job.kind == COMPOSITE
    review = client.get(f"/api/v1/recordings/{lesson}",
                        headers=bearer(client, ACCOUNTS["researcher"])).json()  # fmt: skip
    assert review["state"] == "ready" and review["composite"]
    played = client.get(review["composite"], headers={"Range": "bytes=0-99"})
    assert played.status_code == 206 and played.content[4:8] == b"ftyp"
