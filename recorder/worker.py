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
is retried (``StorageUnavailable`` included: the store was away).

With a remote ``store`` (S3), capture and the build still happen on this machine's disk;
the assets job then moves the recording's segments and assets into the store and removes
the local copies (a recording whose segments are in the store already is fetched to be
built), and the composite and clip jobs fetch the built files they need into a scratch
folder and put what they make into the store (``recorder.transfer``). Without one, the
folders are the store (``LocalStorage`` over the data directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recorder.clips import CLIP, cut_clip
from recorder.composite import COMPOSITE as COMPOSITE_FILE
from recorder.composite import VIDEO, composite
from recorder.errors import ClipInvalid, RecorderError
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg
from recorder.jobs import Job, JobQueue, JobState
from recorder.pipeline import ASSETS as ASSETS_FILE
from recorder.pipeline import process_recording
from recorder.storage import Storage
from recorder.transfer import (
    ASSETS_TOP,
    fetch_assets,
    fetch_recording,
    upload_assets,
    upload_files,
    upload_folder,
    upload_recording,
)

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
    jobs fail); ``tools`` defaults to ``find_ffmpeg()``, looked up for each job; ``store``
    is a remote recordings store that built recordings move into (see the module)."""

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
        store: Storage | None = None,
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
        self.store = store
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
        spool, out = self.root / recording, self.assets_root / recording
        if self.store is None:
            assets = process_recording(spool, out, report, tools=self._tools)
            return _summary(assets, str(out / ASSETS_FILE))
        if spool.exists():  # recorded here: build it, then move it all into the store
            assets = process_recording(spool, out, report, tools=self._tools)
            upload_recording(self.store, spool, out, recording)
        else:  # its segments are in the store (Egress, or a move cut short): fetch them
            with self._scratch(recording) as scratch:
                fetched = fetch_recording(self.store, recording, scratch)
                assets = process_recording(fetched, out, report, tools=self._tools)
                upload_assets(self.store, out, recording)
        return _summary(assets, f"{ASSETS_TOP}/{recording}/{ASSETS_FILE}")

    def _composite(self, recording: str, _: str, report: Report) -> dict[str, Any]:
        tools = self._tools or find_ffmpeg()
        if self.store is None:
            out = self.assets_root / recording
            return composite(out, out, tools=tools, report=report)
        with self._scratch(recording) as scratch:
            fetch_assets(self.store, recording, scratch)
            made = composite(scratch, scratch, tools=tools, report=report)
            upload_files(self.store, scratch, f"{ASSETS_TOP}/{recording}/",
                         [VIDEO, COMPOSITE_FILE])  # fmt: skip
        return made

    def _clip(self, recording: str, clip: str, report: Report) -> dict[str, Any]:
        if not clip.isdigit():
            raise ValueError(f"not a clip id: {clip!r}")
        if self._clips is None:
            raise ValueError(f"this worker cannot look clip {clip} up (no clips lookup)")
        start, end = self._clips(int(clip))
        report(0)
        tools = self._tools or find_ffmpeg()
        if self.store is None:
            out = self.assets_root / recording
            return cut_clip(out, start, end, out / CLIPS / clip, tools=tools)
        with self._scratch(recording) as scratch:
            fetch_assets(self.store, recording, scratch)
            made = cut_clip(scratch, start, end, scratch / CLIPS / clip, tools=tools)
            upload_folder(self.store, scratch / CLIPS / clip,
                          f"{ASSETS_TOP}/{recording}/{CLIPS}/{clip}/", last=CLIP)  # fmt: skip
        return made

    @contextlib.contextmanager
    def _scratch(self, recording: str) -> Iterator[Path]:
        """A folder for one job's files, on the disk the assets are built on (a lesson's
        files do not fit a small /tmp), removed afterwards."""
        self.assets_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".job-{recording}-", dir=self.assets_root) as path:
            yield Path(path)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self._on_event(kind, data)
        except Exception:  # a broken listener must not stop the queue
            logger.exception("JobWorker(%s) event listener failed on %s", self.worker_id,
                             kind)  # fmt: skip


def _summary(assets: dict[str, Any], where: str) -> dict[str, Any]:
    """An assets job's result: what ``assets.json`` (at ``where``) says of the build."""
    return {
        "assets": where,
        "duration": assets["duration"],
        "tracks": sorted(assets["tracks"]),
        "skipped": assets["skipped"],
        "missing": assets["missing"],
        "failed_tracks": sorted(n for n, t in assets["tracks"].items() if "error" in t),
    }
