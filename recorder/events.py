"""Events of the recorder: what the lesson's log and the pages learn about recording."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class RecordingFailed(Event):
    """A room's recording stopped on an error (the disk is full, say); the lesson goes on."""

    TYPE = "recording.failed"

    lesson: str
    error: str

    @property
    def key(self) -> str:
        return self.lesson
