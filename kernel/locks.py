"""Locks port: leases with fencing tokens.

Several app instances run the same timers (open a room ten minutes before the
bell); a lease makes one of them act. A lease expires unless renewed, so a killed
instance cannot hold a lock forever. ``fence`` grows with every grant of a name,
so a store can refuse writes from a holder whose lease was taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Lease:
    """A granted lock: ``token`` proves ownership, ``fence`` orders grants."""

    name: str
    token: str
    fence: int


class Locks(Protocol):
    """Named leases."""

    async def acquire(self, name: str, ttl: float) -> Lease | None:
        """Take ``name`` for ``ttl`` seconds, or ``None`` if someone holds it."""

    async def renew(self, lease: Lease, ttl: float) -> bool:
        """Extend a lease still held; ``False`` if it expired or was taken over."""

    async def release(self, lease: Lease) -> bool:
        """Give up a lease; ``False`` if it was no longer held."""
