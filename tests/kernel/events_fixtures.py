"""Event types used by the kernel tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class RoomOpened(Event):
    TYPE = "test_room.opened"
    room: str
    bell: datetime
    receivers: list[str]

    @property
    def key(self) -> str:
        return self.room


@dataclass(frozen=True, kw_only=True)
class QualitySample(Event):
    TYPE = "test_quality.sample"
    room: str
    loss: float
    rtt_ms: int | None = None

    @property
    def key(self) -> str:
        return self.room
