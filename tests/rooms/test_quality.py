"""The quality monitor on hand-written report sequences with known answers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.events import Event, decode_event, encode_event
from rooms.quality import Alert, QualityMonitor, Thresholds, parse_report
from rooms.quality_events import QualityAlert, QualitySample

LESSON = "P1-3-20261123"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TEACHER_CAMERA = "teacher:7/camera"
TEACHER_MIC = "teacher:7/microphone"


@dataclass
class Page:
    """A receiving classroom's page: the teacher's camera on mid 0, microphone on mid 1.

    Each ``step`` advances the browser's cumulative counters as a real stream would:
    video 1 Mbit/s at 30 fps in 100 packets/s, audio 32 kbit/s in 50 packets/s; it
    sends its own camera at 500 kbit/s.
    """

    video_packets: int = 0
    video_lost: int = 0
    video_bytes: int = 0
    frames: int = 0
    freezes: int = 0
    freeze_seconds: float = 0.0
    audio_packets: int = 0
    audio_bytes: int = 0
    energy: float = 0.0
    rtt: float | None = 0.05
    muted: bool = False
    subscribed: bool = True
    sent_bytes: int = 0  # its own camera, 500 kbit/s

    def step(
        self,
        seconds: float = 1.0,
        *,
        frames: bool = True,
        loss: float = 0.0,
        audio: bool = True,
        voice: bool = True,
    ) -> None:
        if frames:
            packets = round(100 * seconds)
            lost = round(packets * loss)
            self.video_packets += packets - lost
            self.video_lost += lost
            self.video_bytes += round(125_000 * seconds)
            self.frames += round(30 * seconds)
        self.sent_bytes += round(62_500 * seconds)
        if audio:
            self.audio_packets += round(50 * seconds)
            self.audio_bytes += round(4_000 * seconds)
            if voice:
                self.energy += 0.01 * seconds

    def doc(self) -> dict[str, Any]:
        def inbound(kind: str, mid: str, source: str, **counters: Any) -> dict[str, Any]:
            entry = {
                "kind": kind, "mid": mid, "source": source if self.subscribed else None,
                "muted": self.muted, "packetsReceived": 0, "packetsLost": 0,
                "bytesReceived": 0, "framesDecoded": 0, "framesPerSecond": 0, "frameWidth": 0,
                "frameHeight": 0, "freezeCount": 0, "totalFreezesDuration": 0, "jitter": 0.004,
                "totalAudioEnergy": 0, "nackCount": 0, "pliCount": 0,
            }  # fmt: skip
            return entry | counters

        return {
            "rtt": self.rtt,
            "availableOutgoingBitrate": 2_000_000,
            "inbound": [
                inbound(
                    "video",
                    "0",
                    TEACHER_CAMERA,
                    packetsReceived=self.video_packets,
                    packetsLost=self.video_lost,
                    bytesReceived=self.video_bytes,
                    framesDecoded=self.frames,
                    framesPerSecond=30,
                    frameWidth=640,
                    frameHeight=360,
                    freezeCount=self.freezes,
                    totalFreezesDuration=self.freeze_seconds,
                ),
                inbound(
                    "audio",
                    "1",
                    TEACHER_MIC,
                    packetsReceived=self.audio_packets,
                    bytesReceived=self.audio_bytes,
                    totalAudioEnergy=self.energy,
                ),
            ],
            "outbound": [
                {
                    "kind": "video",
                    "mid": "2",
                    "source": "camera",
                    "packetsSent": 0,
                    "bytesSent": self.sent_bytes,
                    "framesEncoded": 0,
                    "frameWidth": 320,
                    "qualityLimitationReason": "none",
                    "nackCount": 0,
                    "pliCount": 0,
                },
            ],  # fmt: skip
        }


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def tick(self, seconds: float = 1.0) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def feed(
    monitor: QualityMonitor, page: Page, clock: Clock, identity: str = "classroom:3"
) -> list[Event]:
    return monitor.observe(identity, parse_report(page.doc()), clock.now)


def run(monitor: QualityMonitor, page: Page, clock: Clock, steps: int, **how: Any) -> list[Event]:
    """``steps`` one-second reports, the page doing ``how`` in each."""
    events: list[Event] = []
    for _ in range(steps):
        page.step(1.0, **how)
        clock.tick(1.0)
        events += feed(monitor, page, clock)
    return events


def alerts(events: list[Event]) -> list[tuple[str, bool]]:
    return [(e.alert, e.active) for e in events if isinstance(e, QualityAlert)]


def samples(events: list[Event]) -> list[QualitySample]:
    return [e for e in events if isinstance(e, QualitySample)]


def start() -> tuple[QualityMonitor, Page, Clock]:
    monitor, page, clock = QualityMonitor(LESSON), Page(), Clock()
    assert feed(monitor, page, clock) == []  # the first report is a baseline
    return monitor, page, clock


def test_a_steady_stream_gives_its_figures_and_no_alert() -> None:
    monitor, page, clock = start()
    events = run(monitor, page, clock, 20)
    assert alerts(events) == [] and monitor.alerts() == []
    found = samples(events)
    assert len(found) == 20
    last = found[-1]
    assert (last.lesson, last.identity, last.key, last.seconds) == (
        LESSON,
        "classroom:3",
        LESSON,
        1.0,
    )
    assert (last.video_kbps, last.audio_kbps, last.fps, last.loss, last.packets) == (
        1000.0, 32.0, 30.0, 0.0, 150,
    )  # fmt: skip
    assert (last.rtt_ms, last.jitter_ms, last.freezes, last.freeze_seconds) == (50.0, 4.0, 0, 0.0)
    assert last.sent_kbps == 500.0
    video, audio = last.inbound
    assert video == {
        "mid": "0", "kind": "video", "source": TEACHER_CAMERA, "kbps": 1000.0, "loss": 0.0,
        "fps": 30.0, "freezes": 0, "freeze_seconds": 0.0, "width": 640, "height": 360,
        "energy": 0.0,
    }  # fmt: skip
    assert audio["kbps"] == 32.0 and audio["energy"] == 0.01


def test_frames_stop_for_four_seconds_raise_video_frozen_once() -> None:
    monitor, page, clock = start()
    run(monitor, page, clock, 5)
    stalled = run(monitor, page, clock, 4, frames=False)
    assert alerts(stalled) == [("video_frozen", True)]
    assert [e.at for e in stalled if isinstance(e, QualityAlert)] == [T0 + timedelta(seconds=8)]
    (alert,) = monitor.alerts()
    assert alert == Alert("classroom:3", "video_frozen", T0 + timedelta(seconds=8),
                          f"no video frames from {TEACHER_CAMERA} for 3 s")  # fmt: skip
    assert samples(stalled)[-1].fps == 0.0
    resumed = run(monitor, page, clock, 10)
    assert alerts(resumed) == [("video_frozen", False)]
    assert resumed[1] == QualityAlert(
        at=T0 + timedelta(seconds=10), id=resumed[1].id, lesson=LESSON, identity="classroom:3",
        alert="video_frozen", active=False, detail="back after 2 s",
    )  # fmt: skip
    assert monitor.alerts() == []


def test_freezes_the_browser_counts_over_half_the_window_are_video_frozen() -> None:
    monitor, page, clock = start()
    run(monitor, page, clock, 10)
    events = []
    for second in range(8):  # frames trickle through, frozen 0.8 s of every second
        page.freezes += 1
        page.freeze_seconds += 0.8
        events += run(monitor, page, clock, 1)
        if second == 6:  # 5.6 s of the last 10 s
            assert monitor.alerts()[0].detail == "video froze 5.6 s of the last 10 s"
    assert alerts(events) == [("video_frozen", True)]
    assert alerts(run(monitor, page, clock, 10)) == [("video_frozen", False)]


def test_ten_percent_loss_is_a_poor_network_cleared_with_hysteresis() -> None:
    monitor, page, clock = start()
    run(monitor, page, clock, 5)
    lossy = run(monitor, page, clock, 10, loss=0.1)
    assert alerts(lossy) == [("poor_network", True)]
    assert monitor.alerts()[0].detail == "loss 5%, RTT 50 ms over the last 10 s"
    assert [round(s.loss, 3) for s in samples(lossy)] == [0.067] * 10  # 10 of 150 packets
    assert alerts(run(monitor, page, clock, 20, loss=0.04)) == []  # better, not yet good
    cleared = run(monitor, page, clock, 20)
    assert alerts(cleared) == [("poor_network", False)]


def test_a_long_rtt_is_a_poor_network() -> None:
    monitor, page, clock = start()
    page.rtt = 0.5
    assert alerts(run(monitor, page, clock, 5)) == [("poor_network", True)]
    page.rtt = 0.35
    assert alerts(run(monitor, page, clock, 15)) == []
    page.rtt = 0.1
    assert alerts(run(monitor, page, clock, 15)) == [("poor_network", False)]


def test_a_few_lost_packets_of_few_are_not_judged() -> None:
    monitor = QualityMonitor(LESSON, Thresholds(min_packets=10_000))
    page, clock = Page(), Clock()
    feed(monitor, page, clock)
    assert alerts(run(monitor, page, clock, 5, loss=0.5)) == []


def test_audio_that_stops_or_goes_silent_is_no_audio() -> None:
    monitor, page, clock = start()
    run(monitor, page, clock, 3)
    gone = run(monitor, page, clock, 6, audio=False)
    assert alerts(gone) == [("no_audio", True)]
    assert monitor.alerts()[0].detail == f"no audio from {TEACHER_MIC} for 5 s"
    assert alerts(run(monitor, page, clock, 2)) == [("no_audio", False)]
    silent = run(monitor, page, clock, 11, voice=False)
    assert alerts(silent) == [("no_audio", True)]
    assert monitor.alerts()[0].detail == f"silent audio from {TEACHER_MIC} for 10 s"


def test_muted_or_unsubscribed_sources_are_expected_to_be_silent() -> None:
    monitor, page, clock = start()
    page.muted = True
    assert alerts(run(monitor, page, clock, 15, frames=False, audio=False)) == []
    page.muted, page.subscribed = False, False
    assert alerts(run(monitor, page, clock, 15, frames=False, audio=False)) == []
    page.subscribed = True
    assert alerts(run(monitor, page, clock, 2)) == []  # the timers start again


def test_a_reloaded_page_starts_new_streams_without_negative_figures() -> None:
    monitor, page, clock = start()
    run(monitor, page, clock, 5)
    page = Page()  # the page reloads: every counter starts again from zero
    events = run(monitor, page, clock, 5)
    assert alerts(events) == []
    first = samples(events)[0]
    assert (first.video_kbps, first.audio_kbps, first.packets, first.fps) == (0.0, 0.0, 0, None)
    assert samples(events)[1].video_kbps == 1000.0


def test_reports_too_soon_are_ignored_and_a_long_gap_starts_afresh() -> None:
    monitor, page, clock = start()
    page.step(0.5)
    assert monitor.observe("classroom:3", parse_report(page.doc()), clock.tick(0.5)) == []
    page.step(1.5)
    clock.tick(1.5)
    (sample,) = feed(monitor, page, clock)  # measured from the last accepted report
    assert isinstance(sample, QualitySample) and sample.seconds == 2.0
    assert sample.video_kbps == 1000.0
    clock.tick(120)  # a throttled background tab: no frames for two minutes, no reports
    assert feed(monitor, page, clock) == []  # a new baseline, not a two-minute sample
    assert alerts(run(monitor, page, clock, 2)) == []


def test_forget_clears_a_participants_alerts() -> None:
    monitor, page, clock = start()
    run(monitor, page, clock, 5, frames=False, audio=False)
    assert {a.alert for a in monitor.alerts()} == {"video_frozen", "no_audio"}
    events = monitor.forget("classroom:3", clock.now)
    assert sorted(alerts(events)) == [("no_audio", False), ("video_frozen", False)]
    assert all(isinstance(e, QualityAlert) and e.detail == "participant left" for e in events)
    assert monitor.alerts() == [] and monitor.forget("classroom:3", clock.now) == []
    assert "classroom:3" in monitor.summary().by_identity


def test_the_summary_of_two_minutes_with_one_freeze() -> None:
    monitor, page, clock = start()
    teacher, teacher_clock = Page(rtt=0.02), Clock()
    feed(monitor, teacher, teacher_clock, "teacher:7")
    for second in range(5, 121, 5):
        page.step(5)
        teacher.step(5, loss=0.1)
        if second == 90:
            page.freezes += 1
            page.freeze_seconds += 0.8
        clock.tick(5)
        feed(monitor, page, clock, "classroom:3")
        teacher_clock.tick(5)
        feed(monitor, teacher, teacher_clock, "teacher:7")
    summary = monitor.summary()
    classroom = summary.by_identity["classroom:3"]
    assert (classroom.freezes, classroom.freeze_seconds, classroom.video_minutes) == (1, 0.8, 2.0)
    assert classroom.minutes_without_freeze == 0.5  # 08:00 clean, 08:01 froze
    assert (classroom.median_loss, classroom.median_rtt_ms, classroom.mean_video_kbps) == (
        0.0, 50.0, 1000.0,
    )  # fmt: skip
    total = summary.total
    assert (total.freezes, total.video_minutes, total.minutes_without_freeze) == (1, 4.0, 0.75)
    assert total.median_rtt_ms == 35.0  # 24 samples at 50 ms, 24 at 20 ms
    assert summary.by_identity["teacher:7"].median_loss == round(50 / 750, 4)
    assert summary.lesson == LESSON


def test_an_empty_lesson_has_empty_figures() -> None:
    summary = QualityMonitor(LESSON).summary()
    assert summary.by_identity == {}
    assert summary.total.video_minutes == 0 and summary.total.minutes_without_freeze is None


def test_events_survive_the_bus() -> None:
    monitor, page, clock = start()
    events = run(monitor, page, clock, 4, frames=False)
    for event in events:
        assert decode_event(encode_event(event)) == event


# --- properties -----------------------------------------------------------------------

COUNT = st.integers(0, 2**53)
REAL = st.floats(0, 1e12)
INBOUND = st.fixed_dictionaries({
    "kind": st.sampled_from(["audio", "video"]), "mid": st.sampled_from(["0", "1", "2"]),
    "source": st.none() | st.just("s"), "muted": st.booleans(),
    "packetsReceived": COUNT, "packetsLost": COUNT, "bytesReceived": COUNT,
    "framesDecoded": COUNT, "framesPerSecond": REAL, "frameWidth": COUNT, "frameHeight": COUNT,
    "freezeCount": COUNT, "totalFreezesDuration": REAL, "jitter": REAL, "totalAudioEnergy": REAL,
    "nackCount": COUNT, "pliCount": COUNT,
})  # fmt: skip
OUTBOUND = st.fixed_dictionaries({
    "kind": st.sampled_from(["audio", "video"]), "mid": st.sampled_from(["0", "1"]),
    "source": st.none() | st.just("camera"), "packetsSent": COUNT, "bytesSent": COUNT,
    "framesEncoded": COUNT, "frameWidth": COUNT, "qualityLimitationReason": st.just("none"),
    "nackCount": COUNT, "pliCount": COUNT,
})  # fmt: skip
REPORT = st.fixed_dictionaries({
    "rtt": st.none() | REAL, "availableOutgoingBitrate": st.none() | REAL,
    "inbound": st.lists(INBOUND, max_size=3, unique_by=lambda d: d["mid"]),
    "outbound": st.lists(OUTBOUND, max_size=2, unique_by=lambda d: d["mid"]),
})  # fmt: skip
STEPS = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.floats(0, 60), REPORT), min_size=1, max_size=25
)


def plain_numbers(value: object) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in plain_numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in plain_numbers(v)]
    raise AssertionError(f"not JSON-friendly: {value!r}")


@settings(max_examples=200)
@given(STEPS)
def test_figures_are_finite_and_never_negative(
    steps: list[tuple[str, float, dict[str, Any]]],
) -> None:
    monitor, now = QualityMonitor(LESSON), T0
    for identity, seconds, doc in steps:
        now += timedelta(seconds=seconds)
        for event in monitor.observe(identity, parse_report(doc), now):
            assert isinstance(event, QualitySample | QualityAlert)
            if isinstance(event, QualitySample):
                numbers = plain_numbers(
                    [event.seconds, event.video_kbps, event.audio_kbps, event.sent_kbps,
                     event.packets, event.loss, event.rtt_ms, event.jitter_ms, event.fps,
                     event.freezes, event.freeze_seconds, event.inbound]
                )  # fmt: skip
                assert all(math.isfinite(n) and n >= 0 for n in numbers), event
                assert event.loss <= 1
    figures = monitor.summary()
    for each in [figures.total, *figures.by_identity.values()]:
        numbers = plain_numbers(list(vars(each).values()))
        assert all(math.isfinite(n) and n >= 0 for n in numbers), each
