"""Redis locks: leases shared by every app instance (SET NX PX + fencing counter)."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from kernel.health import LiveStateHealth
from kernel.locks import Lease
from kernel.redis_guard import guarded, milliseconds

_COMPONENT = "locks"

_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLocks:
    """Leases over Redis; keys are ``{prefix}{name}`` and ``{prefix}{name}:fence``."""

    def __init__(
        self, client: Redis, health: LiveStateHealth, *, prefix: str = "sanke:lock:"
    ) -> None:
        self._health = health
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    async def acquire(self, name: str, ttl: float) -> Lease | None:
        token = secrets.token_hex(16)
        keys = [self._prefix + name, self._prefix + name + ":fence"]
        fence = await guarded(
            self._health, _COMPONENT, self._acquire(keys=keys, args=[token, milliseconds(ttl)])
        )
        return Lease(name, token, int(fence)) if int(fence) else None

    async def renew(self, lease: Lease, ttl: float) -> bool:
        done = await guarded(
            self._health,
            _COMPONENT,
            self._renew(keys=[self._prefix + lease.name], args=[lease.token, milliseconds(ttl)]),
        )
        return bool(done)

    async def release(self, lease: Lease) -> bool:
        done = await guarded(
            self._health,
            _COMPONENT,
            self._release(keys=[self._prefix + lease.name], args=[lease.token]),
        )
        return bool(done)
