"""The last packets of a published stream, to answer subscribers' NACKs.

A ring indexed by sequence number: O(1) store and lookup, fixed memory per track.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CachedPacket:
    sequence: int
    timestamp: int
    marker: bool
    payload: bytes
    audio_level: bytes | None
    arrival_ms: float


class PacketCache:
    def __init__(self, size: int = 1024) -> None:
        if size & (size - 1):
            raise ValueError("the cache size must be a power of two")
        self._mask = size - 1
        self._slots: list[CachedPacket | None] = [None] * size

    def put(self, packet: CachedPacket) -> None:
        self._slots[packet.sequence & self._mask] = packet

    def get(self, sequence: int, now_ms: float, max_age_ms: float = 1000.0) -> CachedPacket | None:
        """The packet with this sequence number if still held and not too old to help."""
        packet = self._slots[sequence & self._mask]
        if packet is None or packet.sequence != sequence:
            return None
        if now_ms - packet.arrival_ms > max_age_ms:
            return None
        return packet
