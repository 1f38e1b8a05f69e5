"""Presence port: who is in which room, each entry expiring unless refreshed.

A participant joins with a time to live and refreshes (``touch``) before it runs
out; a crashed client simply stops refreshing and disappears. Rooms here are
opaque strings: the caller decides what a room is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class PresenceEntry:
    """One member of a room; ``expires_at`` is in seconds since the epoch."""

    member: str
    expires_at: float
    info: Mapping[str, Any] = field(default_factory=dict)


class Presence(Protocol):
    """Room membership with expiry."""

    async def join(
        self, room: str, member: str, info: Mapping[str, Any], ttl: float
    ) -> PresenceEntry:
        """Add or replace ``member`` in ``room`` for ``ttl`` seconds."""

    async def touch(self, room: str, member: str, ttl: float) -> bool:
        """Extend a live member by ``ttl`` seconds; ``False`` if it had expired or left."""

    async def leave(self, room: str, member: str) -> bool:
        """Remove ``member``; ``False`` if it was not present."""

    async def members(self, room: str) -> list[PresenceEntry]:
        """The live members of ``room``, ordered by member id."""
