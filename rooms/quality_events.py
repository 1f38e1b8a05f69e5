"""Events of the quality monitor (:mod:`rooms.quality`): samples and alerts.

The key is the dated lesson's id, like every lesson event, so ``quality.*/<lesson>``
follows one lesson's quality and ``*/<lesson>`` everything about it. Samples are
stored for the reports (freeze minutes, loss, RTT); alerts feed the patrol wall.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class QualitySample(Event):
    """What one participant's page received over the interval since its last report.

    Rates are over ``seconds``; ``loss`` is the fraction of the ``packets`` lost;
    ``fps`` is the mean over the inbound video streams (``None`` without video);
    ``jitter_ms`` the worst inbound stream's; ``inbound`` has one small dict per
    stream: ``mid, kind, source, kbps, loss, fps, freezes, freeze_seconds, width,
    height, energy`` (audio energy gained, 0 for video).
    """

    TYPE = "quality.sample"

    lesson: str
    identity: str
    seconds: float
    video_kbps: float
    audio_kbps: float
    sent_kbps: float
    packets: int  # inbound packets received and lost
    loss: float
    rtt_ms: float | None
    jitter_ms: float
    fps: float | None
    freezes: int
    freeze_seconds: float
    inbound: list[dict[str, Any]]

    @property
    def key(self) -> str:
        return self.lesson


@dataclass(frozen=True, kw_only=True)
class QualityAlert(Event):
    """An alert started (``active``) or cleared for one participant.

    ``alert`` is ``video_frozen``, ``no_audio`` or ``poor_network``; ``detail`` is a
    short English sentence for the patrol wall (which source, for how long).
    """

    TYPE = "quality.alert"

    lesson: str
    identity: str
    alert: str
    active: bool
    detail: str

    @property
    def key(self) -> str:
        return self.lesson


@dataclass(frozen=True, kw_only=True)
class QualitySummary(Event):
    """One participant's quality over the whole lesson, logged when the room ends.

    What its ``quality.sample`` events and ``video_frozen`` alerts add up to, as
    :class:`rooms.quality_summary.QualityTally` counts them: the reports fold this one
    event instead of the participant's samples (a term holds some 10 M), and get the
    same figures. The medians are kept unrounded.
    """

    TYPE = "quality.summary"

    lesson: str
    identity: str
    samples: int
    freezes: int
    freeze_seconds: float
    video_seconds: float
    video_kbits: float
    minutes: int  # clock minutes with video measured
    frozen_minutes: int
    median_loss: float | None  # over the samples that had packets
    median_rtt_ms: float | None

    @property
    def key(self) -> str:
        return self.lesson
