"""Events the SFU emits: who is in a room, what is published, and media quality.

The key is the room id, so a page or the quality monitor follows one room with
``media.*/<room>``. Stats come every few seconds per track and direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class ParticipantJoined(Event):
    TYPE = "media.joined"

    room: str
    identity: str
    role: str
    hidden: bool
    rejoined: bool = False

    @property
    def key(self) -> str:
        return self.room


@dataclass(frozen=True, kw_only=True)
class ParticipantLeft(Event):
    TYPE = "media.left"

    room: str
    identity: str
    reason: str  # left | replaced | lost | removed

    @property
    def key(self) -> str:
        return self.room


@dataclass(frozen=True, kw_only=True)
class TrackPublished(Event):
    TYPE = "media.published"

    room: str
    identity: str
    track: str
    source: str
    layer: str
    kind: str
    codec: str

    @property
    def key(self) -> str:
        return self.room


@dataclass(frozen=True, kw_only=True)
class TrackUnpublished(Event):
    TYPE = "media.unpublished"

    room: str
    identity: str
    track: str

    @property
    def key(self) -> str:
        return self.room


@dataclass(frozen=True, kw_only=True)
class TrackStats(Event):
    """One track's figures over the last interval, as received or as sent."""

    TYPE = "media.stats"

    room: str
    identity: str  # the publisher (inbound) or the subscriber (outbound)
    track: str
    kind: str
    direction: str  # inbound | outbound
    bitrate: float  # bits per second
    packets: int
    packets_lost: int
    fraction_lost: float
    jitter_ms: float
    rtt_ms: float | None
    freezes: int
    plis: int
    nacks: int
    layer: str = ""

    @property
    def key(self) -> str:
        return self.room


@dataclass(frozen=True, kw_only=True)
class EgressUpdated(Event):
    """A recording or thumbnail job of the media backend (LiveKit Egress) changed state.

    ``status`` is ``starting``, ``active``, ``ending``, ``complete``, ``failed``,
    ``aborted`` or ``limit_reached``; ``files`` are where finished outputs were written.
    """

    TYPE = "media.egress"

    room: str
    egress: str
    status: str
    error: str = ""
    files: list[str] | None = None

    @property
    def key(self) -> str:
        return self.room
