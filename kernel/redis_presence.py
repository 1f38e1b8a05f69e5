"""Redis presence: room membership shared by every app instance.

Each room is a sorted set (member → expiry in ms) plus a hash (member → info).
Expiry is computed from Redis's own clock inside Lua scripts, so app instances
with skewed clocks agree on who is present.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from kernel.health import LiveStateHealth
from kernel.presence import PresenceEntry
from kernel.redis_guard import guarded, milliseconds

_COMPONENT = "presence"

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_PRUNE = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
"""

_KEEP_KEYS = """
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #last > 0 then
  redis.call('PEXPIREAT', KEYS[1], last[2])
  redis.call('PEXPIREAT', KEYS[2], last[2])
end
"""

_JOIN = (
    _NOW
    + _PRUNE
    + """
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
"""
    + _KEEP_KEYS
    + "return expires"
)

_TOUCH = (
    _NOW
    + _PRUNE
    + """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
"""
    + _KEEP_KEYS
    + "return 1"
)

_LEAVE = (
    _NOW
    + _PRUNE
    + """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
"""
)

_MEMBERS = (
    _NOW
    + _PRUNE
    + """
local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #rows, 2 do
  out[#out + 1] = rows[i]
  out[#out + 1] = rows[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], rows[i]) or '{}'
end
return out
"""
)


class RedisPresence:
    """Presence over Redis; keys are ``{prefix}{room}`` and ``{prefix}{room}:info``."""

    def __init__(
        self, client: Redis, health: LiveStateHealth, *, prefix: str = "sanke:presence:"
    ) -> None:
        self._client = client
        self._health = health
        self._prefix = prefix
        self._join = client.register_script(_JOIN)
        self._touch = client.register_script(_TOUCH)
        self._leave = client.register_script(_LEAVE)
        self._members = client.register_script(_MEMBERS)

    def _keys(self, room: str) -> list[str]:
        return [self._prefix + room, self._prefix + room + ":info"]

    async def join(
        self, room: str, member: str, info: Mapping[str, Any], ttl: float
    ) -> PresenceEntry:
        payload = json.dumps(dict(info), ensure_ascii=False)
        expires_ms = await guarded(
            self._health,
            _COMPONENT,
            self._join(keys=self._keys(room), args=[member, milliseconds(ttl), payload]),
        )
        return PresenceEntry(member, int(expires_ms) / 1000, dict(info))

    async def touch(self, room: str, member: str, ttl: float) -> bool:
        done = await guarded(
            self._health,
            _COMPONENT,
            self._touch(keys=self._keys(room), args=[member, milliseconds(ttl)]),
        )
        return bool(done)

    async def leave(self, room: str, member: str) -> bool:
        removed = await guarded(
            self._health, _COMPONENT, self._leave(keys=self._keys(room), args=[member])
        )
        return bool(removed)

    async def members(self, room: str) -> list[PresenceEntry]:
        rows = await guarded(self._health, _COMPONENT, self._members(keys=self._keys(room)))
        entries = [
            PresenceEntry(_text(rows[i]), float(rows[i + 1]) / 1000, json.loads(rows[i + 2]))
            for i in range(0, len(rows), 3)
        ]
        return sorted(entries, key=lambda e: e.member)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
