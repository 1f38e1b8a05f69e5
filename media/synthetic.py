"""A synthetic publisher: an aiortc client that joins a room and publishes generated media.

For demos and load tests. It speaks :mod:`media.signalling` over the WebSocket as
``static/sfu-client.js`` does (``join`` with a token, then an ``offer`` whose ``publish``
names each sendonly mid's source and layer), draws moving pictures (a colour per label,
a sweeping bar, the frame number; a slide for ``screen``) and a soft beep, and rejoins
with backoff when the socket or the connection drops. It gives up on what retrying
cannot fix (a refused token, ``replaced``, ``forbidden``, the caller's ``final_codes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from media.aiortc_tap import peer_connection
from media.errors import SignallingError

logger = logging.getLogger(__name__)

FINAL_CODES = frozenset({"replaced", "forbidden"})  # and every token_* code
REPLY_TIMEOUT_S = 10.0
MAX_BACKOFF_S = 5.0
AUDIO_RATE, AUDIO_SAMPLES = 48000, 960  # 20 ms per Opus packet

# 3x5 digits, row by row; colours as BT.601 (Y, U, V)
_DIGITS = ("111101101101111", "010110010010111", "111001111100111", "111001111001111",
           "101101111001001", "111100111001111", "111100111101111", "111001001001001",
           "111101111101111", "111101111001111")  # fmt: skip
_PALETTE = ((96, 163, 102), (114, 74, 105), (147, 52, 155), (115, 71, 185),
            (98, 141, 141), (98, 82, 158), (68, 98, 218), (109, 150, 64))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Feed:
    """One generated track: a source (``media.grants.SOURCES``), its layer, a video's size."""

    source: str
    layer: str = "high"
    width: int = 320
    height: int = 180
    fps: int = 10


TEACHER_FEEDS = (
    Feed("camera", "high", 640, 360, 15),
    Feed("camera", "low", 320, 180, 15),
    Feed("microphone"),
    Feed("screen", "high", 640, 360, 5),
)
CLASSROOM_FEEDS = (Feed("camera", "low", 320, 180, 10),)


@functools.cache
def _beep() -> np.ndarray[Any, np.dtype[np.int16]]:
    """4 s of audio: a 440 Hz beep for 200 ms at about -36 dBFS, then silence."""
    wave = 500 * np.sin(2 * np.pi * 440 * np.arange(AUDIO_RATE * 4) / AUDIO_RATE)
    wave[AUDIO_RATE // 5 :] = 0
    return wave.astype(np.int16)


class _Paced(MediaStreamTrack):
    """Frames at ``rate`` per second, numbered on a clock that outlives each session."""

    def __init__(self, rate: float, epoch: float) -> None:
        super().__init__()
        self._rate, self._epoch = rate, epoch
        self._n = int((time.monotonic() - epoch) * rate)

    async def _next(self) -> int:
        self._n += 1
        delay = self._epoch + self._n / self._rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:  # late (a busy machine): skip frames rather than burst them
            self._n = int((time.monotonic() - self._epoch) * self._rate)
        return self._n


class _Picture(_Paced):
    kind = "video"

    def __init__(self, feed: Feed, colour: tuple[int, int, int], epoch: float) -> None:
        super().__init__(feed.fps, epoch)
        self._feed, w, h = feed, feed.width, feed.height
        self._slide = feed.source == "screen"
        self._base = np.empty((h * 3 // 2, w), np.uint8)  # yuv420p: Y, then U and V
        y, u, v = (235, 128, 128) if self._slide else colour
        self._base[:h], self._base[h : h + h // 4], self._base[h + h // 4 :] = y, u, v
        if self._slide:  # a title band and lines of "text"
            self._base[: h // 6] = 60
            for row in range(5):
                top = h // 4 + row * h // 8
                self._base[top : top + h // 20, w // 10 : w * (7 - row % 3) // 8] = 150
        self._scale = s = max(2, h // 45)
        ones = np.ones((s, s), bool)
        self._glyphs = [
            np.kron(np.array([c == "1" for c in d]).reshape(5, 3), ones) for d in _DIGITS
        ]

    async def recv(self) -> av.VideoFrame:
        n = await self._next()
        w, h, fps, s = self._feed.width, self._feed.height, self._feed.fps, self._scale
        image = self._base.copy()
        if self._slide:  # the slide turns every 10 s
            number, x, y = 1 + n // (10 * fps), w - 10 * s, h // 24
        else:
            bar = (n * 4) % w
            image[:h, bar : bar + max(4, w // 40)] = 235
            number, x, y = n, 2 * s, 2 * s
        for i, digit in enumerate(str(number)[: (w - x) // (4 * s)]):
            left = x + i * 4 * s
            image[y : y + 5 * s, left : left + 3 * s][self._glyphs[int(digit)]] = 235
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts, frame.time_base = n * 90000 // fps, Fraction(1, 90000)
        return frame


class _Tone(_Paced):
    kind = "audio"

    def __init__(self, epoch: float) -> None:
        super().__init__(AUDIO_RATE / AUDIO_SAMPLES, epoch)

    async def recv(self) -> av.AudioFrame:
        n = await self._next()
        start = (n * AUDIO_SAMPLES) % len(_beep())
        samples = _beep()[start : start + AUDIO_SAMPLES].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts, frame.time_base = n * AUDIO_SAMPLES, Fraction(1, AUDIO_RATE)
        return frame


class SyntheticPublisher:
    """Joins one room as one identity and publishes ``feeds`` until closed.

    ``state``: new → joining → published, reconnecting between sessions, and at the end
    closed, or failed with ``error`` (a :class:`SignallingError` with the server's code).
    ``token`` may be a callable, called at each join: rejoins (and :meth:`rejoin`, to
    renew a grant) then use a fresh token.
    """

    def __init__(
        self,
        url: str,
        token: str | Callable[[], str],
        label: str,
        feeds: Sequence[Feed] = CLASSROOM_FEEDS,
        *,
        final_codes: Collection[str] = (),
    ) -> None:
        self.url, self.label, self.feeds = url, label, tuple(feeds)
        self.state = "new"
        self.error: SignallingError | None = None
        self.sessions = 0  # joins the server accepted
        self._token = token
        self._final = FINAL_CODES | frozenset(final_codes)
        self._colour = _PALETTE[zlib.crc32(label.encode()) % len(_PALETTE)]
        self._epoch = time.monotonic()
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()  # close() or rejoin()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def rejoin(self) -> None:
        """End the current session and join again at once (e.g. with a renewed token)."""
        self._wake.set()

    async def close(self) -> None:
        """Leave the room and stop (within a few seconds, whatever the server does)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 5)
        if self.state != "failed":
            self._set("closed")

    async def wait_published(self, timeout: float | None = None) -> None:
        """Until media flows to the SFU; raises ``error`` once it has given up."""
        async with asyncio.timeout(timeout):
            while self.state != "published":
                if self.error is not None:
                    raise self.error
                if self.state == "closed":
                    raise SignallingError("closed", f"{self.label} was closed")
                await self._changed.wait()

    def _set(self, state: str) -> None:
        self.state = state
        self._changed.set()
        self._changed = asyncio.Event()

    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            self._wake.clear()
            self._set("reconnecting" if self.sessions else "joining")
            try:
                if await self._session():
                    failures = 0
            except SignallingError as exc:
                if exc.code.startswith("token_") or exc.code in self._final:
                    logger.info("Synthetic(%s) stops: %s %s", self.label, exc.code, exc.message)
                    self.error = exc
                    self._set("failed")
                    return
                logger.info("Synthetic(%s) let go: %s %s", self.label, exc.code, exc.message)
            except (OSError, TimeoutError, WebSocketException) as exc:
                logger.info("Synthetic(%s) lost the server: %r", self.label, exc)
            except Exception:  # it runs unattended: log, and keep trying
                logger.exception("Synthetic(%s) session failed", self.label)
            if self._closing or self._wake.is_set():
                continue
            failures += 1
            self._set("reconnecting")
            with contextlib.suppress(TimeoutError):
                delay = min(MAX_BACKOFF_S, 0.25 * 2 ** min(failures, 5))
                await asyncio.wait_for(self._wake.wait(), delay)
        self._set("closed")

    async def _session(self) -> bool:
        """One join, until it is over; whether it got published."""
        token = self._token() if callable(self._token) else self._token
        pc = peer_connection()
        ended = asyncio.Event()
        published = False

        def changed() -> None:
            nonlocal published
            if pc.connectionState == "connected":
                published = True
                self._set("published")
            elif pc.connectionState in ("failed", "closed"):
                ended.set()

        pc.on("connectionstatechange", changed)
        try:
            async with connect(
                self.url, proxy=None, open_timeout=REPLY_TIMEOUT_S, close_timeout=2
            ) as ws:
                await ws.send(json.dumps({"type": "join", "token": token}))
                await _expect(ws, "joined")
                self.sessions += 1
                await ws.send(json.dumps(await self._offer(pc)))
                answer = await _expect(ws, "answer")
                await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
                await self._until_over(ws, ended)
                if self._closing:
                    await ws.send(json.dumps({"type": "leave"}))
        finally:
            await pc.close()
        return published

    async def _offer(self, pc: RTCPeerConnection) -> dict[str, Any]:
        sent = []
        for feed in self.feeds:
            track: MediaStreamTrack = (
                _Tone(self._epoch)
                if feed.source in ("microphone", "screen_audio")
                else _Picture(feed, self._colour, self._epoch)
            )
            sent.append((pc.addTransceiver(track, direction="sendonly"), feed))
        await pc.setLocalDescription(await pc.createOffer())
        publish = {t.mid: {"source": f.source, "layer": f.layer} for t, f in sent}
        return {"type": "offer", "sdp": pc.localDescription.sdp, "publish": publish}

    async def _until_over(self, ws: ClientConnection, ended: asyncio.Event) -> None:
        """Until the socket closes, the connection ends, the server lets go, or a wake."""
        waits = [
            asyncio.ensure_future(_expect(ws, "", timeout=None)),  # raises the server's error
            asyncio.ensure_future(ended.wait()),
            asyncio.ensure_future(self._wake.wait()),
        ]
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        for finished in done:
            finished.result()


async def _expect(
    ws: ClientConnection, kind: str, timeout: float | None = REPLY_TIMEOUT_S
) -> dict[str, Any]:
    """The next message of type ``kind`` (others are skipped); an error raises."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "error":
                raise SignallingError(str(message.get("code")), str(message.get("message")))
            if message.get("type") == kind:
                return dict(message)
