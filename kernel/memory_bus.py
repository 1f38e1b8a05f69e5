"""In-process event bus: the real bus for a single ``sanke serve`` process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kernel.events import Event, Subscription, validate_patterns


class MemoryEventBus:
    """Delivers events to subscribers in this process, synchronously on publish."""

    def __init__(self, max_pending: int = 10_000) -> None:
        self._subscriptions: set[Subscription] = set()
        self._max_pending = max_pending

    async def publish(self, event: Event) -> None:
        channel = event.channel
        for subscription in list(self._subscriptions):
            if subscription.matches(channel):
                subscription.deliver(event)

    @asynccontextmanager
    async def subscribe(self, *patterns: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(validate_patterns(patterns), self._max_pending)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    async def aclose(self) -> None:
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions.clear()
