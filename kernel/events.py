"""Typed events and the event-bus port.

Every step of Sanke emits events (DESIGN.md §2): ``lesson.scheduled``,
``room.opened``, ``participant.joined``, ... An event is a frozen dataclass that
subclasses :class:`Event` and names its ``TYPE``; it travels on the channel
``"{TYPE}/{key}"``, where ``key`` is what subscribers filter on (a room id, a
lesson id, or empty). Subscribers use glob patterns over channels, ``*`` being the
only wildcard: ``"room.*"`` would match nothing, ``"room.*/*"`` every room event,
``"*/R17"`` every event about room R17.

Delivery is live publish/subscribe, at most once: a subscriber sees the events
published after its subscription was confirmed. Durable history is the job of the
stores that consume events, not of the bus.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import types
import typing
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, ClassVar, Protocol

from kernel.errors import EventDecodeError, InvalidPattern

_REGISTRY: dict[str, type[Event]] = {}
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_PATTERN = re.compile(r"^[A-Za-z0-9_.:/*-]+$")


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. Subclasses set ``TYPE`` and add fields.

    Field values must be JSON-friendly: str, int, float, bool, None, datetime, and
    lists or dicts of those.
    """

    TYPE: ClassVar[str] = ""

    at: datetime
    id: str = dataclasses.field(default_factory=_new_id)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        type_name = cls.__dict__.get("TYPE", "")
        if not type_name:
            return
        if not _TYPE_NAME.match(type_name):
            raise TypeError(f"event type {type_name!r} must look like 'area.verb'")
        if type_name in _REGISTRY and _REGISTRY[type_name] is not cls:
            raise TypeError(f"event type {type_name!r} is already registered")
        _REGISTRY[type_name] = cls

    @property
    def type_name(self) -> str:
        return self.TYPE

    @property
    def key(self) -> str:
        """What subscribers filter on; subclasses return e.g. their room id."""
        return ""

    @property
    def channel(self) -> str:
        return f"{self.type_name}/{self.key}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RawEvent(Event):
    """An event whose type this process does not know (e.g. during a rolling upgrade)."""

    raw_type: str
    raw_key: str
    data: dict[str, Any]

    @property
    def type_name(self) -> str:
        return self.raw_type

    @property
    def key(self) -> str:
        return self.raw_key


def _is_datetime(annotation: Any) -> bool:
    if annotation is datetime:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return datetime in typing.get_args(annotation)
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def encode_event(event: Event) -> str:
    """Serialise an event to JSON for a bus that crosses processes."""
    if isinstance(event, RawEvent):
        data = dict(event.data)
    else:
        data = {
            f.name: _plain(getattr(event, f.name))
            for f in dataclasses.fields(event)
            if f.name not in ("at", "id")
        }
    return json.dumps(
        {
            "type": event.type_name,
            "key": event.key,
            "id": event.id,
            "at": event.at.isoformat(),
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_event(text: str | bytes) -> Event:
    """Parse JSON made by :func:`encode_event`; unknown types become :class:`RawEvent`."""
    try:
        doc = json.loads(text)  # bytes must be UTF-8; UnicodeDecodeError is a ValueError
        type_name = doc["type"]
        if not isinstance(type_name, str) or not isinstance(doc["data"], dict):
            raise TypeError("type must be a string and data an object")
        at = datetime.fromisoformat(doc["at"])
        event_id = str(doc["id"])
        data = doc["data"]
        key = str(doc.get("key", ""))
    except (ValueError, KeyError, TypeError) as exc:
        raise EventDecodeError(f"not a Sanke event: {exc}") from exc
    cls = _REGISTRY.get(type_name)
    if cls is None:
        return RawEvent(at=at, id=event_id, raw_type=type_name, raw_key=key, data=data)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    try:
        for f in dataclasses.fields(cls):
            if f.name in ("at", "id") or f.name not in data:
                continue
            value = data[f.name]
            if value is not None and _is_datetime(hints[f.name]):
                value = datetime.fromisoformat(value)
            kwargs[f.name] = value
        return cls(at=at, id=event_id, **kwargs)
    except (ValueError, TypeError) as exc:
        raise EventDecodeError(f"bad {type_name} event: {exc}") from exc


def validate_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """Check subscription patterns; ``*`` is the only wildcard both adapters agree on."""
    checked = tuple(patterns)
    if not checked:
        raise InvalidPattern("subscribe to at least one pattern")
    for pattern in checked:
        if not _PATTERN.match(pattern):
            raise InvalidPattern(
                f"pattern {pattern!r} may hold only letters, digits, '._:/-' and '*'"
            )
    return checked


def channel_matches(pattern: str, channel: str) -> bool:
    """Glob match with ``*`` as the only wildcard (same result as Redis PSUBSCRIBE)."""
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, channel, flags=re.DOTALL) is not None


class Subscription:
    """Events matching a subscription's patterns, in arrival order.

    Bounded: when a slow consumer lets ``max_pending`` events pile up, the oldest
    are dropped and counted in ``dropped``, so one stuck page cannot grow memory.
    When the bus closes, the subscription ends: ``get`` returns ``None`` and
    iteration stops.
    """

    def __init__(self, patterns: tuple[str, ...], max_pending: int = 10_000) -> None:
        self.patterns = patterns
        self.dropped = 0
        self.closed = False
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=max_pending)

    def matches(self, channel: str) -> bool:
        return any(channel_matches(p, channel) for p in self.patterns)

    def deliver(self, event: Event) -> None:
        """Called by the adapter; never blocks."""
        if not self.closed:
            self._put(event)

    def close(self) -> None:
        """End the stream (the bus is closing); events already queued are still read."""
        if not self.closed:
            self.closed = True
            self._put(None)

    def _put(self, item: Event | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` if ``timeout`` seconds pass or the stream ended."""
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if item is None:
            self._queue.put_nowait(None)  # stays ended for the next reader too
        return item

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while (event := await self.get()) is not None:
            yield event


class EventBus(Protocol):
    """Publish typed events; subscribe to channel patterns."""

    async def publish(self, event: Event) -> None:
        """Send ``event`` to every current subscriber whose pattern matches its channel.

        Raises ``LiveStateUnavailable`` when the backend cannot be reached.
        """

    def subscribe(self, *patterns: str) -> AbstractAsyncContextManager[Subscription]:
        """A subscription that is live when the context is entered and ends with it."""

    async def aclose(self) -> None:
        """Stop background work and release connections this bus opened."""
