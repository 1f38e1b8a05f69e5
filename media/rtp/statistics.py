"""Receive statistics of one RTP stream: loss, jitter, bitrate, frames and freezes.

Loss and jitter as RFC 3550 A.3 and A.8 define them, for receiver reports; freezes
as the W3C stats do (an inter-frame gap longer than max(3 × mean, mean + 150 ms)).
"""

from __future__ import annotations

from collections import deque

from media.rtp.rewrite import seq_newer
from media.rtp.rtcp import ReportBlock


class ReceiveStatistics:
    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.packets = 0
        self.bytes = 0
        self.frames = 0
        self.freezes = 0
        self.freeze_ms = 0.0
        self.jitter = 0.0  # clock units
        self.recent_fraction_lost = 0.0  # over the last report interval
        self._base_seq: int | None = None
        self._cycles = 0
        self._max_seq = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._transit: float | None = None
        self._last_timestamp: int | None = None
        self._last_frame_ms: float | None = None
        self._frame_gaps: deque[float] = deque(maxlen=30)
        self._window_start_ms: float | None = None
        self._window_bytes = 0

    def add(self, sequence: int, timestamp: int, arrival_ms: float, size: int) -> None:
        self.packets += 1
        self.bytes += size
        self._window_bytes += size
        if self._window_start_ms is None:
            self._window_start_ms = arrival_ms
        if self._base_seq is None:
            self._base_seq = self._max_seq = sequence
        elif seq_newer(sequence, self._max_seq):
            if sequence < self._max_seq:
                self._cycles += 1 << 16
            self._max_seq = sequence
        transit = arrival_ms * self.clock_rate / 1000.0 - timestamp
        if self._transit is not None:
            delta = abs(transit - self._transit)
            if delta < self.clock_rate * 10:  # ignore timestamp jumps (source switches)
                self.jitter += (delta - self.jitter) / 16.0
        self._transit = transit
        if timestamp != self._last_timestamp:
            self._new_frame(arrival_ms)
            self._last_timestamp = timestamp

    def _new_frame(self, now_ms: float) -> None:
        self.frames += 1
        if self._last_frame_ms is not None:
            gap = now_ms - self._last_frame_ms
            if len(self._frame_gaps) >= 10:
                mean = sum(self._frame_gaps) / len(self._frame_gaps)
                if gap > max(3 * mean, mean + 150.0):
                    self.freezes += 1
                    self.freeze_ms += gap
            self._frame_gaps.append(gap)
        self._last_frame_ms = now_ms

    @property
    def extended_max(self) -> int:
        return self._cycles + self._max_seq

    @property
    def expected(self) -> int:
        return 0 if self._base_seq is None else self.extended_max - self._base_seq + 1

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.packets)

    def report_block(self, ssrc: int, lsr: int, dlsr: int) -> ReportBlock:
        """A receiver report block; also starts the next fraction-lost interval."""
        expected_interval = self.expected - self._expected_prior
        received_interval = self.packets - self._received_prior
        self._expected_prior = self.expected
        self._received_prior = self.packets
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        self.recent_fraction_lost = fraction / 256.0
        return ReportBlock(
            ssrc=ssrc,
            fraction_lost=fraction,
            packets_lost=self.lost,
            highest_sequence=self.extended_max & 0xFFFFFFFF,
            jitter=int(self.jitter),
            lsr=lsr,
            dlsr=dlsr,
        )

    def take_bitrate(self, now_ms: float) -> float:
        """Bits per second since the last call."""
        start = self._window_start_ms
        bits = self._window_bytes * 8
        self._window_start_ms = now_ms
        self._window_bytes = 0
        if start is None or now_ms <= start:
            return 0.0
        return bits * 1000.0 / (now_ms - start)
