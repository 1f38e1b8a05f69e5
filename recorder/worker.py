"""The worker that empties the post-processing queue: claims a job, runs it in a thread
(ffmpeg and the decoding of levels block), records its progress and its end, and tells
``on_event`` about each (``"recording.job.started"``, ``".progress"``, ``".done"``,
``".failed"``), for the caller to publish. Runs inside ``sanke record``, next to the
recording agent; any number of workers, in any number of processes, can share a queue.

The kinds of job: ``assets`` builds a recording's assets (``recorder.pipeline``) and, once
done, queues its ``composite`` (``recorder.composite``); ``clip:<id>`` cuts clip ``<id>``,
whose times the ``clips`` lookup gives, into ``<assets>/clips/<id>/`` (``recorder.clips``).
A job fails for good, without retries, on an error that another attempt would meet again
(a kind no worker knows, a clip that cannot be cut); a ``RecorderError`` or ``OSError``
is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recorder.clips import cut_clip
from recorder.composite import composite
from recorder.errors import ClipInvalid, RecorderError
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg
from recorder.jobs import Job, JobQueue, JobState
from recorder.pipeline import ASSETS as ASSETS_FILE
from recorder.pipeline import process_recording

logger = logging.getLogger(__name__)

ASSETS = "assets"  # the job kind that builds a recording's assets
COMPOSITE = "composite"  # ... its side-by-side composite, queued when the assets are done
CLIP_PREFIX = "clip:"  # "clip:<id>" cuts clip <id> of the recording
FOLLOW_UPS = {ASSETS: (COMPOSITE,)}  # kinds queued when a job of a kind is done
CLIPS = "clips"  # the folder of a recording's assets that holds its clips
LEASE = timedelta(minutes=30)  # longer than any build; progress pushes it on
POLL_SECONDS = 5.0
EventSink = Callable[[str, dict[str, Any]], None]
ClipLookup = Callable[[int], tuple[float, float]]  # clip id -> (start, end) in lesson seconds
Report = Callable[[int], None]


def _now() -> datetime:
    return datetime.now(UTC)


class JobWorker:
    """Run the queue's jobs: a recording ``root/<lesson>/`` is built into
    ``assets_root/<lesson>/``. ``clips`` gives a clip's times by its id (without it, clip
    jobs fail); ``tools`` defaults to ``find_ffmpeg()``, looked up for each job."""

    def __init__(
        self,
        queue: JobQueue,
        root: Path,
        assets_root: Path,
        worker_id: str,
        *,
        on_event: EventSink | None = None,
        lease: timedelta = LEASE,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], datetime] = _now,
        clips: ClipLookup | None = None,
        tools: Ffmpeg | None = None,
    ) -> None:
        self.queue = queue
        self.root = root
        self.assets_root = assets_root
        self.worker_id = worker_id
        self._on_event = on_event or (lambda kind, data: None)
        self.lease = lease
        self.poll_seconds = poll_seconds
        self._clock = clock
        self._clips = clips
        self._tools = tools
        self._kinds: dict[str, Callable[[str, str, Report], dict[str, Any]]] = {
            ASSETS: self._assets,
            COMPOSITE: self._composite,
            CLIP_PREFIX: self._clip,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set (a job under way is finished first)."""
        while not stop.is_set():
            try:
                job = await self.run_once()
            except Exception:  # the database is away for a moment: try again later
                logger.exception("JobWorker(%s) cannot use the queue", self.worker_id)
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)

    async def run_once(self) -> Job | None:
        """Claim one due job and run it to its end; the job as claimed, or ``None``."""
        job = await asyncio.to_thread(self.queue.claim, self.worker_id, self._clock(), self.lease)
        if job is None:
            return None
        loop = asyncio.get_running_loop()
        base = {"job": job.id, "recording": job.recording, "kind": job.kind}
        self._emit("recording.job.started", {**base, "attempt": job.attempts})
        last = -1

        def report(percent: int) -> None:  # called in the worker thread
            nonlocal last
            if percent == last:
                return
            last = percent
            self.queue.progress(job, percent, self._clock(), extend=self.lease)
            loop.call_soon_threadsafe(
                self._emit, "recording.job.progress", {**base, "percent": percent}
            )

        try:
            result = await asyncio.to_thread(self._perform, job, report)
        except Exception as error:
            again = not isinstance(error, ClipInvalid)  # the same times fail alike
            retry = again and isinstance(error, RecorderError | OSError)
            logger.warning("JobWorker(%s) job %d (%s of %s) failed: %s", self.worker_id,
                           job.id, job.kind, job.recording, error,
                           exc_info=not retry)  # fmt: skip
            reason = f"{type(error).__name__}: {error}"
            state = await asyncio.to_thread(
                self.queue.fail, job, reason, self._clock(), retry=retry
            )
            self._emit("recording.job.failed", {
                **base, "error": reason, "final": state is JobState.FAILED,
            })  # fmt: skip
            return job
        if await asyncio.to_thread(self.queue.done, job, result, self._clock()):
            self._emit("recording.job.done", {**base, "result": result})
            for kind in FOLLOW_UPS.get(job.kind, ()):
                await asyncio.to_thread(self.queue.enqueue, job.recording, kind, self._clock())
        else:
            logger.warning("JobWorker(%s) lost job %d before it was done", self.worker_id,
                           job.id)  # fmt: skip
        return job

    def _perform(self, job: Job, report: Report) -> dict[str, Any]:
        """Run ``job`` by its kind: ``assets``, ``composite``, or ``clip:`` and an id."""
        name, colon, argument = job.kind.partition(":")
        perform = self._kinds.get(name + colon)
        if perform is None:
            raise ValueError(f"no worker for jobs of kind {job.kind!r}")
        if "/" in job.recording or job.recording in ("", ".", ".."):
            raise ValueError(f"not a recording id: {job.recording!r}")
        return perform(job.recording, argument, report)

    def _assets(self, recording: str, _: str, report: Report) -> dict[str, Any]:
        out = self.assets_root / recording
        assets = process_recording(self.root / recording, out, report, tools=self._tools)
        return {
            "assets": str(out / ASSETS_FILE),
            "duration": assets["duration"],
            "tracks": sorted(assets["tracks"]),
            "skipped": assets["skipped"],
            "missing": assets["missing"],
            "failed_tracks": sorted(n for n, t in assets["tracks"].items() if "error" in t),
        }

    def _composite(self, recording: str, _: str, report: Report) -> dict[str, Any]:
        out = self.assets_root / recording
        return composite(out, out, tools=self._tools or find_ffmpeg(), report=report)

    def _clip(self, recording: str, clip: str, report: Report) -> dict[str, Any]:
        if not clip.isdigit():
            raise ValueError(f"not a clip id: {clip!r}")
        if self._clips is None:
            raise ValueError(f"this worker cannot look clip {clip} up (no clips lookup)")
        start, end = self._clips(int(clip))
        report(0)
        out = self.assets_root / recording
        return cut_clip(out, start, end, out / CLIPS / clip, tools=self._tools or find_ffmpeg())

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self._on_event(kind, data)
        except Exception:  # a broken listener must not stop the queue
            logger.exception("JobWorker(%s) event listener failed on %s", self.worker_id,
                             kind)  # fmt: skip
