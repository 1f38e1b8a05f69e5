"""A lesson's quality in a few figures, summed from its ``quality.sample`` events.

:class:`~rooms.quality.QualityMonitor` keeps one :class:`QualityTally` per participant
while the lesson runs; the reports can rebuild the same tallies from the stored
samples (and ``video_frozen`` alerts), since a tally reads nothing but the events.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rooms.quality_events import QualitySample, QualitySummary


@dataclass(frozen=True)
class QualityFigures:
    """A participant's, or the whole lesson's, quality so far.

    ``freezes`` and ``freeze_seconds`` are the browsers' own counts (webrtc-stats
    ``freezeCount``, ``totalFreezesDuration``). A minute with a freeze is a clock
    minute in which the browser counted one or ``video_frozen`` was active; the share
    without is over the minutes in which video was received and measured.
    """

    freezes: int
    freeze_seconds: float
    video_minutes: float
    minutes_without_freeze: float | None  # 0..1; None without video
    median_loss: float | None  # fraction, over the samples that had packets
    median_rtt_ms: float | None
    mean_video_kbps: float | None  # over the time video was received


@dataclass(frozen=True)
class LessonQuality:
    lesson: str
    total: QualityFigures  # every participant's minutes and samples pooled
    by_identity: dict[str, QualityFigures]


@dataclass
class QualityTally:
    """What one participant's samples add up to."""

    freezes: int = 0
    freeze_seconds: float = 0.0
    video_seconds: float = 0.0
    video_kbits: float = 0.0
    minutes: int = 0
    frozen_minutes: int = 0
    losses: list[float] = field(default_factory=list)
    rtts: list[float] = field(default_factory=list)
    _minutes: set[int] = field(default_factory=set, init=False, repr=False)
    _frozen: set[int] = field(default_factory=set, init=False, repr=False)

    samples: int = 0

    def add(self, sample: QualitySample, *, frozen: bool = False) -> None:
        """Count one sample; ``frozen`` if ``video_frozen`` was active at its end."""
        self.count(sample.at, {
            "seconds": sample.seconds, "freezes": sample.freezes,
            "freeze_seconds": sample.freeze_seconds, "packets": sample.packets,
            "loss": sample.loss, "rtt_ms": sample.rtt_ms, "fps": sample.fps,
            "video_kbps": sample.video_kbps,
        }, frozen)  # fmt: skip

    def count(self, at: datetime, data: Mapping[str, Any], frozen: bool = False) -> None:
        """Count one sample as the event log holds it (``at`` and its data): the reports
        fold a term's millions of samples without making an event of each."""
        seconds = data["seconds"]
        self.samples += 1
        freezes = data.get("freezes", 0)
        freeze_seconds = data.get("freeze_seconds", 0.0)
        self.freezes += freezes
        self.freeze_seconds += freeze_seconds
        if data.get("packets", 0):
            self.losses.append(data.get("loss", 0.0))
        rtt = data.get("rtt_ms")
        if rtt is not None:
            self.rtts.append(rtt)
        if data.get("fps") is None:  # no video was expected over this interval
            return
        end = at.timestamp()  # the clock minutes the interval (end - seconds, end] touches
        touched = range(math.floor((end - seconds) / 60), math.ceil(end / 60))
        self.video_seconds += seconds
        self.video_kbits += data.get("video_kbps", 0.0) * seconds
        self._minutes.update(touched)
        if frozen or freezes or freeze_seconds:
            self._frozen.update(touched)
        self.minutes = len(self._minutes)
        self.frozen_minutes = len(self._frozen)

    def figures(self) -> QualityFigures:
        return QualityFigures(
            freezes=self.freezes,
            freeze_seconds=round(self.freeze_seconds, 3),
            video_minutes=round(self.video_seconds / 60, 3),
            minutes_without_freeze=(
                round(1 - self.frozen_minutes / self.minutes, 4) if self.minutes else None
            ),
            median_loss=round(statistics.median(self.losses), 4) if self.losses else None,
            median_rtt_ms=round(statistics.median(self.rtts), 1) if self.rtts else None,
            mean_video_kbps=(
                round(self.video_kbits / self.video_seconds, 1) if self.video_seconds else None
            ),
        )

    def summary(self, lesson: str, identity: str, at: datetime) -> QualitySummary:
        """This tally as the event that stands for its samples in the log."""
        return QualitySummary(
            at=at, lesson=lesson, identity=identity, samples=self.samples,
            freezes=self.freezes, freeze_seconds=self.freeze_seconds,
            video_seconds=self.video_seconds, video_kbits=self.video_kbits,
            minutes=self.minutes, frozen_minutes=self.frozen_minutes,
            median_loss=statistics.median(self.losses) if self.losses else None,
            median_rtt_ms=statistics.median(self.rtts) if self.rtts else None,
        )  # fmt: skip

    @classmethod
    def summarized(cls, data: Mapping[str, Any]) -> QualityTally:
        """A tally back from its ``quality.summary`` data: the same figures; its loss
        and RTT lists hold just their medians, and it takes no more samples."""
        loss, rtt = data["median_loss"], data["median_rtt_ms"]
        return cls(
            freezes=data["freezes"], freeze_seconds=data["freeze_seconds"],
            video_seconds=data["video_seconds"], video_kbits=data["video_kbits"],
            minutes=data["minutes"], frozen_minutes=data["frozen_minutes"],
            losses=[] if loss is None else [loss], rtts=[] if rtt is None else [rtt],
            samples=data["samples"],
        )  # fmt: skip

    @classmethod
    def pooled(cls, tallies: Iterable[QualityTally]) -> QualityTally:
        """Everyone's figures together (minutes are participant-minutes); for ``figures``."""
        tallies = list(tallies)
        return cls(
            freezes=sum(t.freezes for t in tallies),
            freeze_seconds=sum(t.freeze_seconds for t in tallies),
            video_seconds=sum(t.video_seconds for t in tallies),
            video_kbits=sum(t.video_kbits for t in tallies),
            minutes=sum(t.minutes for t in tallies),
            frozen_minutes=sum(t.frozen_minutes for t in tallies),
            losses=[x for t in tallies for x in t.losses],
            rtts=[x for t in tallies for x in t.rtts],
        )


def summarize(lesson: str, tallies: Mapping[str, QualityTally]) -> LessonQuality:
    """The lesson's figures in total and per participant."""
    return LessonQuality(
        lesson=lesson,
        total=QualityTally.pooled(tallies.values()).figures(),
        by_identity={identity: t.figures() for identity, t in sorted(tallies.items())},
    )


class QualityFold:
    """Each participant's tally from a lesson's log, read oldest first as stored.

    A sample counts with the ``video_frozen`` alert state of its participant at that
    point of the log. A participant's ``quality.summary`` (logged when the room ends)
    stands for all its samples: the tally becomes the summary's, and later samples of
    that participant are not counted. ``identities`` limits the fold to some
    participants (the reports count the receiving classrooms only).
    """

    def __init__(self, identities: Iterable[str] | None = None) -> None:
        self.tallies: dict[str, QualityTally] = {}
        self._wanted = None if identities is None else frozenset(identities)
        self._frozen: set[str] = set()
        self._summarized: set[str] = set()

    def sample(self, at: datetime, data: Mapping[str, Any]) -> None:
        identity = data["identity"]
        if identity in self._summarized:
            return
        if self._wanted is not None and identity not in self._wanted:
            return
        tally = self.tallies.get(identity)
        if tally is None:
            tally = self.tallies[identity] = QualityTally()
        tally.count(at, data, identity in self._frozen)

    def alert(self, data: Mapping[str, Any]) -> None:
        if data.get("alert") != "video_frozen":
            return
        if data.get("active"):
            self._frozen.add(data["identity"])
        else:
            self._frozen.discard(data["identity"])

    def summary(self, data: Mapping[str, Any]) -> None:
        identity = data["identity"]
        if self._wanted is not None and identity not in self._wanted:
            return
        self.tallies[identity] = QualityTally.summarized(data)
        self._summarized.add(identity)

    def read(self, kind: str, at: datetime, data: Mapping[str, Any]) -> None:
        """Take any logged event; those that are not about quality are passed over."""
        if kind == "quality.sample":
            self.sample(at, data)
        elif kind == "quality.alert":
            self.alert(data)
        elif kind == "quality.summary":
            self.summary(data)


def summaries(
    lesson: str, log: Iterable[tuple[str, datetime, Mapping[str, Any]]], at: datetime
) -> list[QualitySummary]:
    """Each participant's ``quality.summary`` at ``at`` (the room's end), from the
    lesson's quality log as stored, oldest first."""
    fold = QualityFold()
    for kind, when, data in log:
        fold.read(kind, when, data)
    return [fold.tallies[i].summary(lesson, i, at) for i in sorted(fold.tallies)]
