"""Rooms, participants and sources: who is in a room and what they publish.

A source (a teacher's camera, a courseware screen, a classroom microphone) has one
or two layers (high, low), each an :class:`UpTrack`. Subscribers subscribe to a
source; the SFU picks the layer for each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from media.aiortc_tap import Connection, MediaSection
from media.forwarding import DownTrack, UpTrack
from media.grants import MediaGrant

VIDEO_SOURCES = frozenset({"camera", "screen"})
MAX_PUBLICATIONS = 8
MAX_SUBSCRIPTIONS = 64
AWAY_GRACE_MS = 10_000.0


def source_kind(source: str) -> str:
    return "video" if source in VIDEO_SOURCES else "audio"


@dataclass(eq=False)
class Source:
    id: str  # "<identity>/<source>"
    identity: str
    name: str
    source: str
    kind: str
    layers: dict[str, UpTrack] = field(default_factory=dict)
    downs: list[DownTrack] = field(default_factory=list)
    muted: bool = False
    revoked: bool = False  # the grant no longer allows it (e.g. the call on a classroom ended)

    def ordered_layers(self) -> list[UpTrack]:
        order = {"high": 0, "low": 1}
        return sorted(self.layers.values(), key=lambda up: order.get(up.layer, 2))

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "identity": self.identity,
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "layers": [up.layer for up in self.ordered_layers()],
            "muted": self.muted or self.revoked,
        }


@dataclass(eq=False)
class Participant:
    identity: str
    grant: MediaGrant
    connection: Connection | None = None
    sections: dict[str, MediaSection] = field(default_factory=dict)
    ups_by_ssrc: dict[int, UpTrack] = field(default_factory=dict)
    ups_by_mid: dict[str, UpTrack] = field(default_factory=dict)
    downs_by_mid: dict[str, DownTrack] = field(default_factory=dict)
    downs_by_ssrc: dict[int, DownTrack] = field(default_factory=dict)
    rtcp_ssrc: dict[str, int] = field(default_factory=dict)  # up track id -> our SSRC
    away_since_ms: float | None = None
    sent_bps: float = 0.0  # everything the SFU sent it over the last report interval
    session: int = 0  # bumped on every (re)join with a new connection

    @property
    def hidden(self) -> bool:
        return self.grant.hidden


@dataclass(eq=False)
class Room:
    id: str
    participants: dict[str, Participant] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)

    def may_receive(self, viewer: str, publisher: str) -> bool:
        """Does ``publisher``'s grant let ``viewer`` (by role) receive its media?"""
        owner = self.participants.get(publisher)
        who = self.participants.get(viewer)
        return owner is None or who is None or owner.grant.shown_to(who.grant.role)

    def visible_sources(self, viewer: str) -> list[dict[str, object]]:
        return [
            source.describe()
            for source in self.sources.values()
            if source.identity != viewer and source.layers
            and self.may_receive(viewer, source.identity)
        ]  # fmt: skip

    def participant_list(self, viewer: str) -> list[dict[str, object]]:
        return [
            {"identity": p.identity, "name": p.grant.name, "role": p.grant.role}
            for p in self.participants.values()
            if not p.hidden and p.identity != viewer
        ]
