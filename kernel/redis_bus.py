"""Redis event bus: events cross app instances through Redis PSUBSCRIBE.

One pub/sub connection per bus carries every pattern any local subscriber wants
(reference-counted), so a thousand open pages cost one Redis connection. When Redis
goes away the reader marks health degraded, retries with backoff and, once Redis
is back, subscribes every live pattern again: subscriptions recover by themselves.
Events published during the outage are lost (pub/sub is at most once); ``publish``
raises ``LiveStateUnavailable`` so the caller knows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from kernel.errors import EventDecodeError
from kernel.events import (
    Event,
    Subscription,
    channel_matches,
    decode_event,
    encode_event,
    validate_patterns,
)
from kernel.health import LiveStateHealth
from kernel.redis_guard import REDIS_ERRORS, guarded

logger = logging.getLogger(__name__)

_COMPONENT = "event bus"


class RedisEventBus:
    """Event bus over Redis pub/sub, shared by every app instance on one Redis."""

    def __init__(
        self,
        client: Redis,
        health: LiveStateHealth,
        *,
        prefix: str = "sanke:ev:",
        max_pending: int = 10_000,
        confirm_timeout: float = 2.0,
        retry_delay: float = 0.1,
        max_retry_delay: float = 2.0,
    ) -> None:
        self._client = client
        self._health = health
        self._prefix = prefix
        self._max_pending = max_pending
        self._confirm_timeout = confirm_timeout
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._subscriptions: set[Subscription] = set()
        self._refs: Counter[str] = Counter()
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._wanted = asyncio.Event()
        self._lock = asyncio.Lock()

    async def publish(self, event: Event) -> None:
        await guarded(
            self._health,
            _COMPONENT,
            self._client.publish(self._prefix + event.channel, encode_event(event)),
        )

    @asynccontextmanager
    async def subscribe(self, *patterns: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(validate_patterns(patterns), self._max_pending)
        self._subscriptions.add(subscription)
        fresh = [p for p in set(subscription.patterns) if self._refs[p] == 0]
        self._refs.update(set(subscription.patterns))
        try:
            if fresh:
                await self._listen(fresh)
            yield subscription
        finally:
            await self._forget(subscription)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()
        self._subscriptions.clear()
        self._refs.clear()

    async def _listen(self, patterns: list[str]) -> None:
        """PSUBSCRIBE ``patterns`` and wait until Redis confirms them.

        If Redis is down the subscription is kept: the reader subscribes it as soon
        as Redis answers again, and health shows the outage meanwhile.
        """
        loop = asyncio.get_running_loop()
        waits = []
        for pattern in patterns:
            future = self._pending.get(pattern)
            if future is None or future.done():
                future = self._pending[pattern] = loop.create_future()
            waits.append(future)
        self._ensure_reader()
        try:
            async with self._lock:
                pubsub = self._pubsub or self._client.pubsub()
                self._pubsub = pubsub
                await pubsub.psubscribe(*(self._prefix + p for p in patterns))
        except REDIS_ERRORS as exc:
            self._health.failure(_COMPONENT, exc)
            await self._drop_pubsub()  # the reader reconnects and subscribes everything
            self._wanted.set()
            return
        self._wanted.set()
        # asyncio.wait does not cancel on timeout: a late confirmation still lands
        await asyncio.wait(waits, timeout=self._confirm_timeout)

    async def _forget(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        self._refs.subtract(set(subscription.patterns))
        unused = [p for p in set(subscription.patterns) if self._refs[p] <= 0]
        for pattern in unused:
            del self._refs[pattern]
            self._pending.pop(pattern, None)
        if unused and self._pubsub is not None:
            with suppress(*REDIS_ERRORS):
                async with self._lock:
                    await self._pubsub.punsubscribe(*(self._prefix + p for p in unused))

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="RedisEventBus.reader")

    async def _read(self) -> None:
        delay = self._retry_delay
        while True:
            if not self._refs:
                self._wanted.clear()
                await self._wanted.wait()
                continue
            try:
                await self._reconnect_if_needed()
                assert self._pubsub is not None
                if self._pubsub.connection is None:  # never connected: start afresh
                    await self._drop_pubsub()
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._handle(message)
                delay = self._retry_delay
            except REDIS_ERRORS as exc:
                self._health.failure(_COMPONENT, exc)
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_delay)

    async def _reconnect_if_needed(self) -> None:
        async with self._lock:
            if self._pubsub is not None:
                return
            pubsub = self._client.pubsub()
            self._pubsub = pubsub
            await pubsub.psubscribe(*(self._prefix + p for p in self._refs))
            logger.info("RedisEventBus resubscribed %d patterns", len(self._refs))

    async def _drop_pubsub(self) -> None:
        async with self._lock:
            pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with suppress(*REDIS_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, message: dict[str, object]) -> None:
        kind = message.get("type")
        pattern = _text(message.get("pattern") or message.get("channel"))[len(self._prefix) :]
        if kind == "psubscribe":
            self._health.success(_COMPONENT)
            future = self._pending.get(pattern)
            if future is not None and not future.done():
                future.set_result(None)
            return
        if kind != "pmessage":
            return
        channel = _text(message["channel"])[len(self._prefix) :]
        try:
            event = decode_event(_text(message["data"]))
        except EventDecodeError:
            logger.warning("RedisEventBus dropped a malformed message on %s", channel)
            return
        for subscription in list(self._subscriptions):
            # Redis sends one pmessage per matching pattern; deliver each event once,
            # through the first of the subscription's patterns that matches.
            first = next((p for p in subscription.patterns if channel_matches(p, channel)), None)
            if first == pattern:
                subscription.deliver(event)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
