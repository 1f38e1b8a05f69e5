"""Redis event bus: events cross app instances through Redis PSUBSCRIBE.

One pub/sub connection per bus carries every pattern any local subscriber wants
(reference-counted), so a thousand open pages cost one Redis connection. One reader
task owns that connection: it alone sends PSUBSCRIBE/PUNSUBSCRIBE (queued by
subscribers) and reads, because redis-py's reconnect logic is not safe when two
tasks use one pub/sub connection. When Redis goes away the reader marks health
degraded, retries with backoff and, on a new connection, subscribes every live
pattern: subscriptions recover by themselves.
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
        poll_interval: float = 0.05,
    ) -> None:
        self._client = client
        self._health = health
        self._prefix = prefix
        self._max_pending = max_pending
        self._confirm_timeout = confirm_timeout
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._poll_interval = poll_interval
        self._subscriptions: set[Subscription] = set()
        self._refs: Counter[str] = Counter()
        self._confirmed: set[str] = set()  # patterns Redis confirmed on the current connection
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._commands: asyncio.Queue[tuple[str, tuple[str, ...]]] = asyncio.Queue()
        self._pubsub: PubSub | None = None  # owned by the reader task
        self._reader: asyncio.Task[None] | None = None
        self._wanted = asyncio.Event()
        self._closed = False

    async def publish(self, event: Event) -> None:
        await guarded(
            self._health,
            _COMPONENT,
            self._client.publish(self._prefix + event.channel, encode_event(event)),
        )

    @asynccontextmanager
    async def subscribe(self, *patterns: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(validate_patterns(patterns), self._max_pending)
        wanted = set(subscription.patterns)
        fresh = tuple(p for p in wanted if self._refs[p] == 0)
        self._refs.update(wanted)
        self._subscriptions.add(subscription)
        try:
            await self._listen(fresh, wanted)
            yield subscription
        finally:
            self._forget(subscription)

    async def aclose(self) -> None:
        self._closed = True
        for subscription in self._subscriptions:
            subscription.close()
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        self._waiters.clear()
        if self._reader is not None:
            self._reader.cancel()
            with suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()
        self._subscriptions.clear()
        self._refs.clear()

    async def _listen(self, fresh: tuple[str, ...], wanted: set[str]) -> None:
        """Ask the reader to subscribe ``fresh``; wait until all ``wanted`` are confirmed.

        If Redis is down the subscription is kept; it starts when Redis answers
        again, and health shows the outage meanwhile.
        """
        loop = asyncio.get_running_loop()
        waits = []
        for pattern in wanted - self._confirmed:
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(pattern, []).append(future)
            waits.append(future)
        if fresh:
            self._commands.put_nowait(("psubscribe", fresh))
        self._wake()
        try:
            if waits:
                # asyncio.wait does not cancel on timeout: a late confirmation still lands
                await asyncio.wait(waits, timeout=self._confirm_timeout)
        finally:
            mine = set(waits)
            for pattern in wanted:
                left = [f for f in self._waiters.get(pattern, []) if f not in mine]
                if left:
                    self._waiters[pattern] = left
                else:
                    self._waiters.pop(pattern, None)

    def _forget(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        self._refs.subtract(set(subscription.patterns))
        unused = tuple(p for p in set(subscription.patterns) if self._refs[p] <= 0)
        for pattern in unused:
            del self._refs[pattern]
            self._confirmed.discard(pattern)
        if unused and not self._closed:
            self._commands.put_nowait(("punsubscribe", unused))
            self._wake()

    def _wake(self) -> None:
        if self._closed:
            return
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="RedisEventBus.reader")
        self._wanted.set()

    async def _read(self) -> None:
        delay = self._retry_delay
        while True:
            if self._pubsub is None and not self._refs:
                self._drain_commands()  # nothing to subscribe; nothing to undo
                self._wanted.clear()
                await self._wanted.wait()
                continue
            try:
                pubsub = await self._connected()
                while not self._commands.empty():
                    kind, patterns = self._commands.get_nowait()
                    names = [self._prefix + p for p in patterns]
                    if kind == "psubscribe":
                        await pubsub.psubscribe(*names)
                    else:
                        await pubsub.punsubscribe(*names)
                message = await pubsub.get_message(timeout=self._poll_interval)
                if message is not None:
                    self._handle_safely(message)
                delay = self._retry_delay
            except REDIS_ERRORS as exc:
                self._health.failure(_COMPONENT, exc)
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_delay)

    async def _connected(self) -> PubSub:
        """The pub/sub connection, opened with every live pattern if there is none."""
        if self._pubsub is not None:
            return self._pubsub
        pubsub = self._client.pubsub()
        self._pubsub = pubsub
        self._drain_commands()  # the new connection subscribes everything live
        self._confirmed.clear()
        await pubsub.psubscribe(*(self._prefix + p for p in self._refs))
        logger.info("RedisEventBus subscribed %d patterns", len(self._refs))
        return pubsub

    def _drain_commands(self) -> None:
        while not self._commands.empty():
            self._commands.get_nowait()

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._confirmed.clear()
        if pubsub is not None:
            with suppress(*REDIS_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle_safely(self, message: dict[str, object]) -> None:
        """One bad message must never stop the reader."""
        try:
            self._handle(message)
        except Exception:
            logger.exception("RedisEventBus could not handle a message; skipped it")

    def _handle(self, message: dict[str, object]) -> None:
        kind = message.get("type")
        pattern = _text(message.get("pattern") or message.get("channel"))[len(self._prefix) :]
        if kind == "punsubscribe":
            self._confirmed.discard(pattern)
            return
        if kind == "psubscribe":
            self._health.success(_COMPONENT)
            if self._refs[pattern] <= 0:
                return  # a late reply for a subscriber that has left: confirms nothing
            self._confirmed.add(pattern)
            for future in self._waiters.pop(pattern, []):
                if not future.done():
                    future.set_result(None)
            return
        if kind != "pmessage":
            return
        channel = _text(message["channel"])[len(self._prefix) :]
        try:
            event = decode_event(message["data"])  # type: ignore[arg-type]
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
        return value.decode(errors="replace")
    return str(value)
