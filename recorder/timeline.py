"""Wall-clock time of RTP timestamps, so that the tracks of a recording line up.

Each track's RTP clock starts at a random value and runs at its own rate; the SFU's
RTCP sender reports pair one RTP timestamp with the wall-clock time of the same instant
(RFC 3550 §6.4.1), and the SFU stamps every track from one clock. Until the first
report a track is anchored on the arrival of its first frame. Pure: time is an argument.
"""

from __future__ import annotations

_WRAP = 1 << 32
_HALF = 1 << 31


class RtpClock:
    """Wall-clock seconds (UTC epoch) of one track's RTP timestamps."""

    def __init__(self, clock_rate: int) -> None:
        if clock_rate < 1:
            raise ValueError("clock_rate must be positive")
        self.clock_rate = clock_rate
        self._report: tuple[float, int] | None = None  # wall, 32-bit RTP timestamp
        self._anchor: tuple[int, float] | None = None  # unwrapped timestamp, wall

    def sender_report(self, ntp_seconds: float, rtp_timestamp: int) -> None:
        """Take an RTCP sender report: ``ntp_seconds`` (converted to the UTC epoch) is
        the wall-clock time at which the RTP clock read ``rtp_timestamp``."""
        self._report = (ntp_seconds, rtp_timestamp % _WRAP)

    def wall(self, timestamp: int, arrival: float) -> float:
        """Wall-clock seconds of an unwrapped RTP ``timestamp``; ``arrival`` is the
        frame's arrival, the anchor of a track that has had no sender report yet."""
        if self._report is not None:
            reported_wall, reported = self._report
            # The report carries 32 bits: take it at the unwrapped count nearest the frame.
            ticks = (timestamp - reported + _HALF) % _WRAP - _HALF
            return reported_wall + ticks / self.clock_rate
        if self._anchor is None:
            self._anchor = (timestamp, arrival)
        anchored, anchored_wall = self._anchor
        return anchored_wall + (timestamp - anchored) / self.clock_rate
