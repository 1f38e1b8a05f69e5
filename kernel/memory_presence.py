"""In-process presence: the real presence for a single ``sanke serve`` process."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from kernel.presence import PresenceEntry


class MemoryPresence:
    """Room membership held in this process; ``clock`` gives epoch seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._rooms: dict[str, dict[str, PresenceEntry]] = {}

    async def join(
        self, room: str, member: str, info: Mapping[str, Any], ttl: float
    ) -> PresenceEntry:
        entry = PresenceEntry(member, self._clock() + ttl, dict(info))
        self._rooms.setdefault(room, {})[member] = entry
        return entry

    async def touch(self, room: str, member: str, ttl: float) -> bool:
        entry = self._live(room).get(member)
        if entry is None:
            return False
        self._rooms[room][member] = PresenceEntry(member, self._clock() + ttl, entry.info)
        return True

    async def leave(self, room: str, member: str) -> bool:
        present = member in self._live(room)
        self._rooms.get(room, {}).pop(member, None)
        return present

    async def members(self, room: str) -> list[PresenceEntry]:
        return sorted(self._live(room).values(), key=lambda e: e.member)

    def _live(self, room: str) -> dict[str, PresenceEntry]:
        now = self._clock()
        entries = self._rooms.get(room)
        if entries is None:
            return {}
        for member in [m for m, e in entries.items() if e.expires_at <= now]:
            del entries[member]
        if not entries:
            del self._rooms[room]
        return entries
