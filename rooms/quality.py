"""Quality of a live lesson, measured from what each page receives.

Every few seconds each page posts its condensed ``getStats()`` (see
:mod:`rooms.quality_report`). A :class:`QualityMonitor` per lesson turns the
cumulative counters into figures over the interval since that page's previous
report, emits a ``quality.sample`` per report and a ``quality.alert`` when an alert
starts or clears, and sums the lesson up for the reports (DESIGN.md §2: indicators
come from events). It does no I/O and reads no clock: time is passed in.

Counters that go down (a reloaded page, a new peer connection after a network
loss) start a new stream: its figures count from its next report, never negative.
Timers of an inbound stream run only while media is expected on it: subscribed
(its ``source`` is set) and not muted by the SFU.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from kernel.events import Event
from rooms.quality_events import QualityAlert, QualitySample
from rooms.quality_report import ClientReport, InboundStats, parse_report
from rooms.quality_summary import LessonQuality, QualityFigures, QualityTally, summarize

__all__ = [
    "Alert",
    "ClientReport",
    "LessonQuality",
    "QualityFigures",
    "QualityMonitor",
    "Thresholds",
    "parse_report",
]

VIDEO_FROZEN = "video_frozen"
NO_AUDIO = "no_audio"
POOR_NETWORK = "poor_network"


@dataclass(frozen=True)
class Thresholds:
    """When alerts start and clear. Durations in seconds."""

    video_stall: float = 3.0  # no frame decoded this long: video_frozen
    frozen_share: float = 0.5  # or the browser counted freezes for this share of the window
    audio_stall: float = 5.0  # no audio bytes this long: no_audio
    audio_silence: float = 10.0  # or no audio energy this long
    window: float = 10.0  # loss, RTT and freezes are judged over the last this many seconds
    loss_raise: float = 0.05  # poor_network above 5 % loss ...
    rtt_raise_ms: float = 400.0  # ... or 400 ms RTT,
    loss_clear: float = 0.02  # cleared below 2 % ...
    rtt_clear_ms: float = 300.0  # ... and 300 ms (hysteresis against flapping)
    min_packets: int = 50  # fewer packets in the window: loss is not judged
    min_interval: float = 1.0  # a report sooner after the last is ignored (rate limit)
    max_interval: float = 30.0  # a longer gap (a throttled tab) starts afresh


@dataclass(frozen=True)
class Alert:
    identity: str
    alert: str  # video_frozen | no_audio | poor_network
    since: datetime
    detail: str


@dataclass
class _Stream:
    last: InboundStats
    moved_at: datetime  # frames decoded (video) or bytes received (audio) last rose
    sounded_at: datetime  # audio energy last rose


@dataclass(frozen=True)
class _Interval:
    at: datetime
    seconds: float
    lost: int
    received: int
    rtt_ms: float | None
    freeze_seconds: float


@dataclass
class _Peer:
    """The state of one participant's page."""

    at: datetime  # of the last accepted report
    streams: dict[str, _Stream] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)  # bytes sent per outbound mid
    recent: deque[_Interval] = field(default_factory=deque)
    alerts: dict[str, Alert] = field(default_factory=dict)


class QualityMonitor:
    """Per-lesson quality state: feed it reports, publish the events it returns."""

    def __init__(self, lesson: str, thresholds: Thresholds | None = None) -> None:
        self.lesson = lesson
        self.thresholds = thresholds or Thresholds()
        self._peers: dict[str, _Peer] = {}
        self._tallies: dict[str, QualityTally] = {}

    def observe(self, identity: str, report: ClientReport, now: datetime) -> list[Event]:
        """Take one page's report; a sample (from its second report on) and alert changes."""
        peer = self._peers.get(identity)
        if peer is not None:
            seconds = (now - peer.at).total_seconds()
            if seconds < self.thresholds.min_interval:
                return []  # too soon, a repeat, or out of order: the next one measures
            if seconds > self.thresholds.max_interval:
                peer = None
        if peer is None:  # first report, or after a long gap: a baseline, no figures
            peer = self._peers[identity] = _Peer(at=now, alerts=self._active(identity))
            self._measure(peer, report, now, 0.0)
            return self._judge(identity, peer, now)
        sample = self._sample(identity, self._measure(peer, report, now, seconds), now, seconds)
        peer.at = now
        events: list[Event] = [sample]
        events += self._judge(identity, peer, now)
        tally = self._tallies.setdefault(identity, QualityTally())
        tally.add(sample, frozen=VIDEO_FROZEN in peer.alerts)
        return events

    def forget(self, identity: str, now: datetime) -> list[Event]:
        """The participant left: its alerts clear; its figures stay in the summary."""
        peer = self._peers.pop(identity, None)
        if peer is None:
            return []
        return [self._clear(a, now, "participant left") for a in peer.alerts.values()]

    def alerts(self) -> list[Alert]:
        """The alerts now active, oldest first."""
        active = [a for peer in self._peers.values() for a in peer.alerts.values()]
        return sorted(active, key=lambda a: (a.since, a.identity, a.alert))

    def summary(self) -> LessonQuality:
        """The lesson's figures so far, in total and per participant."""
        return summarize(self.lesson, self._tallies)

    # --- measuring ----------------------------------------------------------------

    def _active(self, identity: str) -> dict[str, Alert]:
        old = self._peers.get(identity)
        return old.alerts if old is not None else {}

    def _measure(
        self, peer: _Peer, report: ClientReport, now: datetime, seconds: float
    ) -> _Measured:
        """Deltas since the last report; updates the streams' baselines and timers."""
        out = _Measured(rtt_ms=None if report.rtt is None else report.rtt * 1000)
        streams: dict[str, _Stream] = {}
        for new in report.inbound:
            stream = peer.streams.get(new.mid)
            if stream is None or seconds == 0 or _restarted(stream.last, new):
                streams[new.mid] = _Stream(new, now, now)  # figures from the next report
                continue
            out.add(new, stream.last, seconds)
            if new.frames_decoded > stream.last.frames_decoded or (
                new.kind == "audio" and new.bytes_received > stream.last.bytes_received
            ):
                stream.moved_at = now
            if new.total_audio_energy > stream.last.total_audio_energy:
                stream.sounded_at = now
            if not new.expected:  # unsubscribed or muted: silence is no fault
                stream.moved_at = stream.sounded_at = now
            stream.last = new
            streams[new.mid] = stream
        peer.streams = streams
        sent = {s.mid: s.bytes_sent for s in report.outbound}
        if seconds > 0:
            for mid, octets in sent.items():
                before = peer.sent.get(mid)
                if before is not None and before <= octets:  # else a new or restarted stream
                    out.sent_bytes += octets - before
        peer.sent = sent
        peer.recent.append(
            _Interval(now, seconds, out.lost, out.received, out.rtt_ms, out.freeze_seconds)
        )
        while peer.recent and (now - peer.recent[0].at).total_seconds() >= self.thresholds.window:
            peer.recent.popleft()
        return out

    def _sample(self, identity: str, m: _Measured, now: datetime, seconds: float) -> QualitySample:
        kbps = 8 / 1000 / seconds
        return QualitySample(
            at=now,
            lesson=self.lesson,
            identity=identity,
            seconds=round(seconds, 3),
            video_kbps=round(m.video_bytes * kbps, 1),
            audio_kbps=round(m.audio_bytes * kbps, 1),
            sent_kbps=round(m.sent_bytes * kbps, 1),
            packets=m.lost + m.received,
            loss=round(m.loss, 4),
            rtt_ms=None if m.rtt_ms is None else round(m.rtt_ms, 1),
            jitter_ms=round(m.jitter_ms, 1),
            fps=round(statistics.fmean(m.fps), 1) if m.fps else None,
            freezes=m.freezes,
            freeze_seconds=round(m.freeze_seconds, 3),
            inbound=m.detail,
        )

    # --- alerts -------------------------------------------------------------------

    def _judge(self, identity: str, peer: _Peer, now: datetime) -> list[Event]:
        wanted = {
            VIDEO_FROZEN: self._frozen(peer, now),
            NO_AUDIO: self._silent(peer, now),
            POOR_NETWORK: self._poor(peer, active=POOR_NETWORK in peer.alerts),
        }
        events: list[Event] = []
        for name, detail in wanted.items():
            if detail is not None and name not in peer.alerts:
                peer.alerts[name] = Alert(identity, name, now, detail)
                events.append(QualityAlert(at=now, lesson=self.lesson, identity=identity,
                                           alert=name, active=True, detail=detail))  # fmt: skip
            elif detail is None and name in peer.alerts:
                alert = peer.alerts.pop(name)
                lasted = (now - alert.since).total_seconds()
                events.append(self._clear(alert, now, f"back after {lasted:.0f} s"))
        return events

    def _clear(self, alert: Alert, now: datetime, detail: str) -> QualityAlert:
        return QualityAlert(at=now, lesson=self.lesson, identity=alert.identity,
                            alert=alert.alert, active=False, detail=detail)  # fmt: skip

    def _frozen(self, peer: _Peer, now: datetime) -> str | None:
        for stream in peer.streams.values():
            still = (now - stream.moved_at).total_seconds()
            if stream.last.kind == "video" and still >= self.thresholds.video_stall:
                return f"no video frames from {stream.last.source} for {still:.0f} s"
        seconds = sum(i.seconds for i in peer.recent)
        frozen = sum(i.freeze_seconds for i in peer.recent)
        if seconds > 0 and frozen >= self.thresholds.frozen_share * seconds:
            return f"video froze {frozen:.1f} s of the last {seconds:.0f} s"
        return None

    def _silent(self, peer: _Peer, now: datetime) -> str | None:
        for stream in peer.streams.values():
            if stream.last.kind != "audio":
                continue
            still = (now - stream.moved_at).total_seconds()
            if still >= self.thresholds.audio_stall:
                return f"no audio from {stream.last.source} for {still:.0f} s"
            quiet = (now - stream.sounded_at).total_seconds()
            if quiet >= self.thresholds.audio_silence:
                return f"silent audio from {stream.last.source} for {quiet:.0f} s"
        return None

    def _poor(self, peer: _Peer, *, active: bool) -> str | None:
        t = self.thresholds
        packets = sum(i.lost + i.received for i in peer.recent)
        loss = sum(i.lost for i in peer.recent) / packets if packets >= t.min_packets else None
        rtts = [i.rtt_ms for i in peer.recent if i.rtt_ms is not None]
        rtt = statistics.fmean(rtts) if rtts else None
        if active:
            bad = (loss is not None and loss >= t.loss_clear) or (
                rtt is not None and rtt >= t.rtt_clear_ms
            )
        else:
            bad = (loss is not None and loss > t.loss_raise) or (
                rtt is not None and rtt > t.rtt_raise_ms
            )
        if not bad:
            return None
        shown = [f"loss {loss:.0%}" if loss is not None else "", f"RTT {rtt:.0f} ms" if rtt else ""]
        return ", ".join(s for s in shown if s) + f" over the last {t.window:.0f} s"


@dataclass
class _Measured:
    """One report's figures over its interval, all streams of one page together."""

    rtt_ms: float | None
    video_bytes: int = 0
    audio_bytes: int = 0
    sent_bytes: int = 0
    lost: int = 0
    received: int = 0
    jitter_ms: float = 0.0
    fps: list[float] = field(default_factory=list)
    freezes: int = 0
    freeze_seconds: float = 0.0
    detail: list[dict[str, object]] = field(default_factory=list)

    @property
    def loss(self) -> float:
        return self.lost / (self.lost + self.received) if self.lost + self.received else 0.0

    def add(self, new: InboundStats, old: InboundStats, seconds: float) -> None:
        received = new.packets_received - old.packets_received
        lost = max(0, new.packets_lost - old.packets_lost)  # late packets lower the count
        octets = new.bytes_received - old.bytes_received
        freezes = new.freeze_count - old.freeze_count
        frozen = new.total_freezes_duration - old.total_freezes_duration
        fps = (new.frames_decoded - old.frames_decoded) / seconds
        self.received += received
        self.lost += lost
        self.jitter_ms = max(self.jitter_ms, new.jitter * 1000)
        if new.kind == "video":
            self.video_bytes += octets
            self.freezes += freezes
            self.freeze_seconds += frozen
            if new.expected:
                self.fps.append(fps)
        else:
            self.audio_bytes += octets
        self.detail.append({
            "mid": new.mid, "kind": new.kind, "source": new.source,
            "kbps": round(octets * 8 / 1000 / seconds, 1),
            "loss": round(lost / (lost + received), 4) if lost + received else 0.0,
            "fps": round(fps, 1), "freezes": freezes, "freeze_seconds": round(frozen, 3),
            "width": new.frame_width, "height": new.frame_height,
            "energy": round(new.total_audio_energy - old.total_audio_energy, 6),
        })  # fmt: skip


def _restarted(old: InboundStats, new: InboundStats) -> bool:
    """A counter went down or the kind changed: the page began a new stream on this mid."""
    return (
        new.kind != old.kind
        or new.packets_received < old.packets_received
        or new.bytes_received < old.bytes_received
        or new.frames_decoded < old.frames_decoded
        or new.freeze_count < old.freeze_count
        or new.total_freezes_duration < old.total_freezes_duration
        or new.total_audio_energy < old.total_audio_energy
    )
