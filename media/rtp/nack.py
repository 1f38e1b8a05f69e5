"""Which packets of a publisher to ask for again (generic NACK, RFC 4585 §6.2.1).

``NackGenerator.add`` is told every arriving sequence number and returns what to
NACK now; ``due`` returns what to NACK again later. Each missing packet is asked for
a few times, then given up, so that a burst loss cannot cause a NACK storm.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.rtp.rewrite import seq_newer

MAX_TRACKED = 256
MAX_RETRIES = 5
RETRY_MS = 40.0
MAX_AGE_MS = 1000.0


@dataclass(slots=True)
class _Missing:
    first_seen_ms: float
    last_sent_ms: float
    sent: int


class NackGenerator:
    def __init__(self) -> None:
        self._highest: int | None = None
        self._missing: dict[int, _Missing] = {}
        self.recovered = 0

    @property
    def missing(self) -> list[int]:
        return sorted(self._missing)

    def add(self, sequence: int, now_ms: float) -> list[int]:
        """Record an arrival; returns the newly missing numbers to NACK at once."""
        if self._highest is None:
            self._highest = sequence
            return []
        if sequence in self._missing:
            del self._missing[sequence]
            self.recovered += 1
            return []
        if not seq_newer(sequence, self._highest):
            return []  # duplicate or very late
        gap = (sequence - self._highest) & 0xFFFF
        self._highest = sequence
        if gap > MAX_TRACKED:  # a jump (a new stream or a long outage): start afresh
            self._missing.clear()
            return []
        fresh = [(sequence - back) & 0xFFFF for back in range(gap - 1, 0, -1)]
        for lost in fresh:
            self._missing[lost] = _Missing(now_ms, now_ms, 1)
        while len(self._missing) > MAX_TRACKED:
            self._missing.pop(next(iter(self._missing)))
        return fresh

    def due(self, now_ms: float) -> list[int]:
        """Missing numbers to NACK again; gives up on old or often-asked ones."""
        again: list[int] = []
        for sequence, entry in list(self._missing.items()):
            if entry.sent >= MAX_RETRIES or now_ms - entry.first_seen_ms > MAX_AGE_MS:
                del self._missing[sequence]
            elif now_ms - entry.last_sent_ms >= RETRY_MS:
                entry.last_sent_ms = now_ms
                entry.sent += 1
                again.append(sequence)
        return again
