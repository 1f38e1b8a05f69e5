"""The recording agent: a recorder for every room that should be recorded, started
and stopped as rooms open and end. Run as its own process (``sanke record``), so a
crash of the recorder never touches the lessons; restarted, it goes on recording each
room into new segments of the same recording folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from recorder.capture import RoomRecorder

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0
RETRY_FAILED_SECONDS = 60.0  # a room whose recording failed (disk full) is tried again after


class RecorderAgent:
    def __init__(
        self,
        url: str,
        rooms: Callable[[], list[str]],
        token: Callable[[str], str],
        root: Path,
        *,
        segment_seconds: float = 2.0,
        on_finished: Callable[[str], None] | None = None,
        on_failed: Callable[[str, str], None] | None = None,
    ) -> None:
        """``rooms()`` says which rooms to record now; ``token(room)`` signs a recorder's
        media grant for one; recordings go to ``root/<room>/``; ``on_finished(room)`` is
        called when a room's recording is over (the lesson ended); ``on_failed(room, error)``
        when it stopped on an error (it is tried again after ``RETRY_FAILED_SECONDS``)."""
        self.url = url
        self._rooms = rooms
        self._token = token
        self.root = root
        self.segment_seconds = segment_seconds
        self.recorders: dict[str, RoomRecorder] = {}
        self._on_finished = on_finished
        self._on_failed = on_failed
        self._failed_at: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        finally:
            await asyncio.gather(*(r.stop() for r in self.recorders.values()))

    async def step(self) -> None:
        try:
            wanted = set(await asyncio.to_thread(self._rooms))
        except Exception:  # the database is away for a moment: keep what runs
            logger.exception("RecorderAgent: cannot tell which rooms to record")
            return
        for room, recorder in list(self.recorders.items()):
            if recorder.state == "stopped" or room not in wanted:
                await recorder.stop()
                del self.recorders[room]
                logger.info("RecorderAgent stopped recording %s (%s)", room,
                            recorder.error or "room closed")  # fmt: skip
                if recorder.error.startswith("write_failed"):
                    self._failed_at[room] = time.monotonic()
                    if self._on_failed is not None:
                        await asyncio.to_thread(self._on_failed, room, recorder.error)
                elif self._on_finished is not None and recorder.sessions:
                    await asyncio.to_thread(self._on_finished, room)
        now = time.monotonic()
        for room in sorted(wanted - set(self.recorders)):
            if now - self._failed_at.get(room, -RETRY_FAILED_SECONDS) < RETRY_FAILED_SECONDS:
                continue
            recorder = RoomRecorder(
                self.url, lambda room=room: self._token(room), self.root / room,  # type: ignore[misc]
                segment_seconds=self.segment_seconds,
            )  # fmt: skip
            recorder.start()
            self.recorders[room] = recorder
            logger.info("RecorderAgent records %s into %s", room, recorder.folder)
