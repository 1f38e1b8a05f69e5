"""Calls through the injected ``LiveKitAPI``: their failures as :class:`BackendError`.

``livekit-api`` raises ``ServerError`` (a Twirp error with ``code`` and ``status``) when
LiveKit refuses a call, and aiohttp's errors when it cannot be reached; Sanke's code
handles one media error instead (``media/errors.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import aiohttp
from livekit.api import ServerError

from media.errors import BackendError

T = TypeVar("T")


async def call(what: str, request: Awaitable[T]) -> T:
    """Await a LiveKit API call named ``what`` (its Twirp method)."""
    try:
        return await request
    except ServerError as exc:
        raise BackendError(exc.code, f"LiveKit refused {what}: {exc.message}", exc.status) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise BackendError("unavailable", f"LiveKit is unreachable ({what}): {exc!r}") from exc
