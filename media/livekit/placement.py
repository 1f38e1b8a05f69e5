"""Rooms before the bell: which rooms to create ahead of time, on which node, and the load
they are expected to put on each node.

The timetable is known, so a room can exist before its first participant arrives, with
settings chosen for it, and the forwarding load of every node is known in advance: a
subscribed track costs the SFU its bitrate once per subscriber, so a room forwards
``bitrate × tracks × subscribers`` for each group of alike tracks (a :class:`Feed`).
Pure: time passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

CLUSTER = ""  # the node of a room LiveKit places itself


@dataclass(frozen=True)
class Feed:
    """Alike tracks (e.g. a teacher's camera) and how many subscribers receive each one."""

    bitrate_bps: float
    tracks: int
    subscribers: int

    @property
    def forwarded_bps(self) -> float:
        return self.bitrate_bps * self.tracks * self.subscribers


@dataclass(frozen=True)
class RoomPlan:
    """A room the timetable will need between ``opens_at`` and ``closes_at``."""

    room: str
    opens_at: datetime
    closes_at: datetime
    feeds: tuple[Feed, ...]
    max_participants: int = 0  # 0: no limit

    @property
    def forwarded_bps(self) -> float:
        return sum(feed.forwarded_bps for feed in self.feeds)

    def open_at(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at

    def empty_timeout(self, now: datetime) -> int:
        """Seconds LiveKit keeps the room while nobody is in it: until it closes, so that a
        room created before the bell is still there when the first participant comes."""
        return max(60, int((self.closes_at - now).total_seconds()))


def due(plans: Iterable[RoomPlan], now: datetime, ahead: timedelta) -> list[RoomPlan]:
    """The rooms to exist now: those opening within ``ahead`` and not yet closed."""
    return [p for p in plans if p.opens_at - ahead <= now < p.closes_at]


def place(plans: Iterable[RoomPlan], nodes: Sequence[str]) -> dict[str, str]:
    """A node for each room: heaviest room first, onto the node whose peak load while the
    room is open would be lowest. Without ``nodes`` every room goes to :data:`CLUSTER`
    and LiveKit's own node selector decides (``CreateRoomRequest.node_id`` stays empty)."""
    if not nodes:
        return {plan.room: CLUSTER for plan in plans}
    placed: dict[str, str] = {}
    on: dict[str, list[RoomPlan]] = {node: [] for node in nodes}
    for plan in sorted(plans, key=lambda p: (-p.forwarded_bps, p.room)):
        node = min(nodes, key=lambda n: (_peak_while_open(plan, on[n]), n))
        placed[plan.room] = node
        on[node].append(plan)
    return placed


def _peak_while_open(plan: RoomPlan, others: Sequence[RoomPlan]) -> float:
    """The highest load of ``others`` at any moment ``plan`` is open (a load only rises
    when a room opens, so the moments to look at are openings)."""
    moments = [plan.opens_at, *(p.opens_at for p in others if plan.open_at(p.opens_at))]
    return max(sum(p.forwarded_bps for p in others if p.open_at(m)) for m in moments)


def expected_load(
    plans: Iterable[RoomPlan], placement: dict[str, str], at: datetime
) -> dict[str, float]:
    """Forwarded bits per second each node is expected to carry at ``at``."""
    load: dict[str, float] = {}
    for plan in plans:
        if plan.open_at(at):
            node = placement.get(plan.room, CLUSTER)
            load[node] = load.get(node, 0.0) + plan.forwarded_bps
    return load


def peak_load(
    plans: Sequence[RoomPlan], placement: dict[str, str]
) -> dict[str, tuple[datetime, float]]:
    """Each node's highest expected load over the plans, and when it starts."""
    peaks: dict[str, tuple[datetime, float]] = {}
    for moment in sorted({p.opens_at for p in plans}):
        for node, bps in expected_load(plans, placement, moment).items():
            if bps > peaks.get(node, (moment, -1.0))[1]:
                peaks[node] = (moment, bps)
    return peaks
