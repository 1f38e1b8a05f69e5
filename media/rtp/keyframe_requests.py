"""Rate-limited keyframe requests (PLI) to a publisher.

Every new subscriber, lost picture or layer switch wants a keyframe, but a burst of
PLIs makes an encoder send keyframe after keyframe and starve the bitrate. Requests
inside the quiet interval are merged into one sent when it ends.
"""

from __future__ import annotations

MIN_INTERVAL_MS = 500.0


class KeyframeRequests:
    def __init__(self, min_interval_ms: float = MIN_INTERVAL_MS) -> None:
        self._interval = min_interval_ms
        self._last_sent: float | None = None
        self._pending = False
        self.sent = 0
        self.merged = 0

    def request(self, now_ms: float) -> bool:
        """Ask for a keyframe; True if a PLI should be sent now."""
        if self._last_sent is None or now_ms - self._last_sent >= self._interval:
            self._last_sent = now_ms
            self._pending = False
            self.sent += 1
            return True
        if self._pending:
            self.merged += 1
        self._pending = True
        return False

    def due(self, now_ms: float) -> bool:
        """True if a merged request is now due."""
        if (
            self._pending
            and self._last_sent is not None
            and now_ms - self._last_sent >= self._interval
        ):
            self._pending = False
            self._last_sent = now_ms
            self.sent += 1
            return True
        return False

    def keyframe_arrived(self) -> None:
        """A keyframe answers every request still waiting."""
        self._pending = False
