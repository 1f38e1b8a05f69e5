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


@dataclass(frozen=True, kw_only=True)
class RecordingReady(Event):
    """A lesson's recording is built and can be reviewed: its length, its tracks, and the
    segments that were left out (corrupt or missing), for the quality figures."""

    TYPE = "recording.ready"

    lesson: str
    duration: float
    tracks: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.lesson


@dataclass(frozen=True, kw_only=True)
class RecordingUnprocessed(Event):
    """Building a recording's assets failed for good (after its retries)."""

    TYPE = "recording.unprocessed"

    lesson: str
    error: str

    @property
    def key(self) -> str:
        return self.lesson
