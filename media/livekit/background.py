"""The LiveKit adapters' calls made in the background: each one's failure to reach
LiveKit is logged (the next reconcile tries again), and the calls still running can be
waited for or cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from media.errors import BackendError

logger = logging.getLogger(__name__)


class Background:
    def __init__(self, owner: str) -> None:
        self._owner = owner  # named in the log
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background; a ``BackendError`` is logged, not raised."""

        async def guarded() -> None:
            try:
                await work
            except BackendError as exc:
                logger.warning("%s: %s; reconcile will try again", self._owner, exc)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel the calls still running."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def settle(self) -> None:
        """Wait for the calls started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
