"""Turns Redis connection failures into ``LiveStateUnavailable`` and health reports."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kernel.errors import LiveStateUnavailable
from kernel.health import LiveStateHealth

T = TypeVar("T")

#: What a lost or unreachable Redis raises through redis-py.
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


async def guarded(health: LiveStateHealth, component: str, call: Awaitable[T]) -> T:
    """Await ``call``; record the outcome in ``health``; map outages to our error."""
    try:
        result = await call
    except REDIS_ERRORS as exc:
        health.failure(component, exc)
        raise LiveStateUnavailable(f"{component}: Redis unreachable ({exc})") from exc
    health.success(component)
    return result


def milliseconds(seconds: float) -> int:
    """A Redis PX/ZSET duration in whole milliseconds, at least one."""
    return max(1, round(seconds * 1000))
