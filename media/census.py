"""What the SFU holds right now, for monitoring: participants by role, subscriptions,
and the RTP packets and bytes forwarded to subscribers since it started.

Forwarding is already counted where it happens, per subscriber (``DownTrack.packets``
and ``bytes``), so the hot path pays nothing more for these totals. When a subscriber's
connection goes, its counts move to :class:`Retired`, so the totals only ever grow
(Prometheus counters must not go down).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from media.forwarding import DownTrack
from media.room import Room


@dataclass
class Retired:
    """What was forwarded to subscriptions that no longer exist."""

    packets: int = 0
    bytes: int = 0

    def add(self, down: DownTrack) -> None:
        self.packets += down.packets
        self.bytes += down.bytes


@dataclass(frozen=True)
class Census:
    participants: dict[str, int]  # by grant role; lost ones awaiting a rejoin included
    subscriptions: int  # subscriber m-sections attached to a source
    forwarded_packets: int
    forwarded_bytes: int


def take_census(rooms: Iterable[Room], retired: Retired) -> Census:
    """Count who is in ``rooms`` and what they were sent, plus what ``retired`` holds."""
    roles: Counter[str] = Counter()
    subscriptions, packets, size = 0, retired.packets, retired.bytes
    for room in rooms:
        for participant in room.participants.values():
            roles[participant.grant.role] += 1
            for down in participant.downs_by_mid.values():
                subscriptions += down.source_id is not None
                packets += down.packets
                size += down.bytes
    return Census(dict(roles), subscriptions, packets, size)
