"""Wiring the recorder (``recorder/``) to this deployment: which rooms to record (the
open and live lesson rooms), recorder grants signed with the media key, and where
recordings go: always first ``<data dir>/recordings/<lesson>/``, built into
``<data dir>/assets/<lesson>/``; with ``SANKE_S3_URL`` the job worker then moves both into
the bucket (``recorder.transfer``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from media.aiortc_tap import use_loopback_candidates
from media.grants import sign_grant
from recorder.agent import RecorderAgent
from recorder.errors import StorageUnavailable
from recorder.events import RecordingFailed, RecordingReady, RecordingUnprocessed
from recorder.jobs import JobQueue
from recorder.retention import RetentionPolicy, parse_policy
from recorder.review_store import ReviewStore
from recorder.worker import ASSETS, JobWorker
from rooms.media_grants import RECORDER, media_grant
from rooms.store import RoomStore
from web.archive import run_retention
from web.demo_live import signalling_url
from web.reviews import Reviews
from web.services import media_secret, s3_storage
from web.settings import SankeSettings, secret_key

logger = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


def recordings_root(settings: SankeSettings) -> Path:
    return settings.data_dir / "recordings"


def recorder_agent(settings: SankeSettings, engine: Engine) -> RecorderAgent:
    if settings.media_loopback:
        use_loopback_candidates()
    store = RoomStore(engine)
    key = media_secret(secret_key(settings))

    def rooms() -> list[str]:
        return [room.lesson for room, _ in store.unfinished() if room.joinable]

    def token(room: str) -> str:
        now = datetime.now(UTC)
        return sign_grant(media_grant(room, RECORDER, RECORDER, "录制", now), key, now)

    queue = JobQueue(engine)

    def finished(room: str) -> None:  # build its assets once the last segment is closed
        queue.enqueue(room, ASSETS, datetime.now(UTC), delay=timedelta(seconds=5))

    def failed(room: str, error: str) -> None:  # into the lesson's log, for pages and reports
        store.append([RecordingFailed(at=datetime.now(UTC), lesson=room, error=error)])
        logger.error("Recording of %s failed: %s", room, error)

    return RecorderAgent(
        signalling_url(settings.base_url), rooms, token, recordings_root(settings),
        on_finished=finished, on_failed=failed,
    )  # fmt: skip


def job_worker(settings: SankeSettings, engine: Engine) -> JobWorker:
    """The worker that builds recordings' assets (remux, HLS, previews, talk time), their
    composites, and the clips reviewers cut; with ``SANKE_S3_URL``, it makes the bucket if
    it is missing, and moves what it builds into it. A store that does not answer is
    logged and does not stop the worker: recordings wait on the disk, and their jobs are
    retried."""
    remote = s3_storage(settings)
    if remote is not None:
        try:
            remote.ensure_bucket()
        except StorageUnavailable as error:
            logger.error("Recordings store unavailable, recordings wait in %s: %s",
                         recordings_root(settings), error)  # fmt: skip
    store = ReviewStore(engine)

    def clip_range(clip_id: int) -> tuple[float, float]:
        clip = store.clip(clip_id)
        return clip.start, clip.end

    rooms = RoomStore(engine)

    def on_event(kind: str, data: dict[str, Any]) -> None:  # into the lesson's log
        now, lesson = datetime.now(UTC), str(data["recording"])
        if data["kind"] != ASSETS:
            return
        if kind == "recording.job.done":
            result = data["result"]
            rooms.append([RecordingReady(
                at=now, lesson=lesson, duration=float(result["duration"]),
                tracks=tuple(result["tracks"]), skipped=tuple(result["skipped"]),
                missing=tuple(result["missing"]),
            )])  # fmt: skip
        elif kind == "recording.job.failed" and data["final"]:
            rooms.append([RecordingUnprocessed(at=now, lesson=lesson, error=data["error"])])

    return JobWorker(
        JobQueue(engine), recordings_root(settings), settings.data_dir / "assets",
        f"{socket.gethostname()}:{os.getpid()}", clips=clip_range, on_event=on_event,
        store=remote,
    )  # fmt: skip


def retention_policy(settings: SankeSettings) -> RetentionPolicy:
    return parse_policy(settings.retention)


async def hourly_retention(reviews: Reviews, policy: RetentionPolicy, stop: asyncio.Event) -> None:
    """Apply the retention policy now and every hour until ``stop``."""
    while not stop.is_set():
        try:
            result = await asyncio.to_thread(run_retention, reviews, policy, datetime.now(UTC),
                                             apply=True)  # fmt: skip
            for deletion in result["deleted"]:
                logger.info("Retention deleted %s (%s)", deletion["recording"], deletion["reason"])
        except Exception:  # the database is away for a moment: the next hour will do
            logger.exception("Retention run failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RETENTION_EVERY_S)
