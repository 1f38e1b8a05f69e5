"""In-process locks: the real locks for a single ``sanke serve`` process."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable

from kernel.locks import Lease


class MemoryLocks:
    """Leases held in this process; ``clock`` gives monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}
        self._fences: Counter[str] = Counter()

    async def acquire(self, name: str, ttl: float) -> Lease | None:
        if self._holder(name) is not None:
            return None
        token = secrets.token_hex(16)
        self._held[name] = (token, self._clock() + ttl)
        self._fences[name] += 1
        return Lease(name, token, self._fences[name])

    async def renew(self, lease: Lease, ttl: float) -> bool:
        if self._holder(lease.name) != lease.token:
            return False
        self._held[lease.name] = (lease.token, self._clock() + ttl)
        return True

    async def release(self, lease: Lease) -> bool:
        if self._holder(lease.name) != lease.token:
            return False
        del self._held[lease.name]
        return True

    def _holder(self, name: str) -> str | None:
        held = self._held.get(name)
        if held is None:
            return None
        token, expires_at = held
        if expires_at <= self._clock():
            del self._held[name]
            return None
        return token
