"""One outgoing RTP stream made of packets from changing sources.

A subscriber's video may come from the high layer, then the low one, then another
publisher altogether. The subscriber must see one SSRC whose sequence numbers run on
without gaps or jumps and whose timestamps advance with wall-clock time across each
switch, or its jitter buffer stalls (RFC 3550 §8.2, as mediasoup and Galène do).
"""

from __future__ import annotations

from dataclasses import dataclass

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
_SEGMENTS_KEPT = 4


def seq_newer(a: int, b: int) -> bool:
    """``a`` comes after ``b`` in 16-bit serial arithmetic (RFC 1982)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


@dataclass(slots=True)
class _Segment:
    source: int  # source stream key (SSRC)
    first_in: int  # first incoming sequence number of the segment
    seq_offset: int
    ts_offset: int
    first_out: int


class StreamRewriter:
    """Maps (source, seq, ts) of incoming packets to the outgoing stream's numbers."""

    def __init__(self, first_sequence: int, first_timestamp: int) -> None:
        self._segments: list[_Segment] = []
        self._last_out_seq = (first_sequence - 1) & 0xFFFF
        self._last_out_ts = first_timestamp & 0xFFFFFFFF
        self._last_out_ms: float | None = None
        self._clock_rate = 90_000

    @property
    def source(self) -> int | None:
        return self._segments[-1].source if self._segments else None

    @property
    def last_sequence(self) -> int:
        return self._last_out_seq

    @property
    def last_timestamp(self) -> int:
        return self._last_out_ts

    def switch(
        self, source: int, sequence: int, timestamp: int, clock_rate: int, now_ms: float
    ) -> None:
        """Start a new segment at this packet of ``source`` (the first of a keyframe)."""
        gap = 1
        if self._last_out_ms is not None:
            elapsed = max(now_ms - self._last_out_ms, 1.0)
            gap = max(1, int(elapsed * clock_rate / 1000))
        out_seq = (self._last_out_seq + 1) & 0xFFFF
        out_ts = (self._last_out_ts + gap) & 0xFFFFFFFF if self._segments else self._last_out_ts
        self._clock_rate = clock_rate
        self._segments.append(
            _Segment(
                source=source,
                first_in=sequence,
                seq_offset=(out_seq - sequence) & 0xFFFF,
                ts_offset=(out_ts - timestamp) & 0xFFFFFFFF,
                first_out=out_seq,
            )
        )
        del self._segments[:-_SEGMENTS_KEPT]

    def rewrite(
        self, source: int, sequence: int, timestamp: int, now_ms: float
    ) -> tuple[int, int] | None:
        """Outgoing (seq, ts) of a packet of the current source, or None to drop it.

        Packets older than the switch point belong to frames the subscriber never
        got the start of; they are dropped.
        """
        if not self._segments:
            return None
        segment = self._segments[-1]
        if segment.source != source:
            return None
        # serial-number comparisons inlined: this runs once per packet per subscriber
        if ((sequence - segment.first_in) & 0xFFFF) >= 0x8000:
            return None  # older than the switch point
        out_seq = (sequence + segment.seq_offset) & 0xFFFF
        out_ts = (timestamp + segment.ts_offset) & 0xFFFFFFFF
        ahead = (out_seq - self._last_out_seq) & 0xFFFF
        if 0 < ahead < 0x8000:
            self._last_out_seq = out_seq
            self._last_out_ts = out_ts
            self._last_out_ms = now_ms
        return out_seq, out_ts

    def original(self, out_sequence: int) -> tuple[int, int] | None:
        """(source, incoming seq) of an outgoing sequence number, for NACKs."""
        for segment in reversed(self._segments):
            if out_sequence == segment.first_out or seq_newer(out_sequence, segment.first_out):
                if seq_newer(out_sequence, self._last_out_seq):
                    return None
                return segment.source, (out_sequence - segment.seq_offset) & 0xFFFF
        return None

    def outgoing_timestamp(self, source: int, timestamp: int) -> int | None:
        """The outgoing timestamp of a source timestamp (to translate sender reports)."""
        if not self._segments or self._segments[-1].source != source:
            return None
        return (timestamp + self._segments[-1].ts_offset) & 0xFFFFFFFF
