"""The benchmark's pre-encoded media: 720p30 H.264 (~1.5 Mbit/s) and Opus, made once.

Encoded with PyAV (libx264, constrained baseline, no B-frames, a keyframe every 2 s)
into MPEG-TS, so packets are Annex B with timestamps, as aiortc's H.264 packer wants.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack

CACHE = Path("var/bench")
SECONDS = 20


def ensure_media(folder: Path = CACHE) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    video, audio = folder / "720p30-h264.ts", folder / "opus.ogg"
    if not video.exists():
        _encode_video(video)
    if not audio.exists():
        _encode_audio(audio)
    return video, audio


def _encode_video(path: Path) -> None:
    tmp = path.with_suffix(".part")
    source = av.open("testsrc2=size=1280x720:rate=30", format="lavfi")
    out = av.open(str(tmp), "w", format="mpegts")
    stream = out.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
    stream.bit_rate = 1_500_000
    stream.options = {
        "profile": "baseline",
        "preset": "veryfast",
        "tune": "zerolatency",
        "g": "60",
        "bf": "0",
        "x264-params": "nal-hrd=cbr:force-cfr=1",
        "maxrate": "1600k",
        "bufsize": "800k",
    }
    for index, frame in enumerate(source.decode(video=0)):
        if index >= SECONDS * 30:
            break
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = index, fractions.Fraction(1, 30)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    source.close()
    tmp.rename(path)


def _encode_audio(path: Path) -> None:
    tmp = path.with_suffix(".part")
    out = av.open(str(tmp), "w", format="ogg")
    stream = out.add_stream("libopus", rate=48000)
    stream.bit_rate = 32000
    stream.layout = "mono"
    samples = 960
    t = np.arange(samples) / 48000.0
    for index in range(SECONDS * 50):
        tone = (0.2 * np.sin(2 * np.pi * 440 * (t + index * samples / 48000.0)) * 32767).astype(
            np.int16
        )
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, index * samples
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    tmp.rename(path)


def load_packets(path: Path) -> list[tuple[float, bytes, bool]]:
    """(seconds from the start, data, keyframe) of every packet of the first stream."""
    container = av.open(str(path))
    stream = container.streams[0]
    result: list[tuple[float, bytes, bool]] = []
    first: int | None = None
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        first = packet.pts if first is None else first
        seconds = float((packet.pts - first) * (stream.time_base or 1))
        result.append((seconds, bytes(packet), packet.is_keyframe))
    container.close()
    return result


class PacedPackets(MediaStreamTrack):
    """An encoded track: hands aiortc ``av.Packet``s at real time, looping the clip."""

    def __init__(
        self,
        kind: str,
        packets: list[tuple[float, bytes, bool]],
        start: float,
        clock_rate: int,
        window: tuple[float, float],
    ) -> None:
        super().__init__()
        self.kind = kind
        self._packets = packets
        self._start = start
        self._rate = clock_rate
        self._index = 0
        self._lap = 0
        self._length = packets[-1][0] + (packets[1][0] - packets[0][0])
        self._window = window
        self.sent_in_window = 0

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        offset, data, _key = self._packets[self._index]
        at = self._start + self._lap * self._length + offset
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(data)
        packet.pts = int(round((self._lap * self._length + offset) * self._rate))
        packet.time_base = fractions.Fraction(1, self._rate)
        now = time.time()
        if self._window[0] <= now <= self._window[1]:
            self.sent_in_window += 1
        self._index += 1
        if self._index == len(self._packets):
            self._index, self._lap = 0, self._lap + 1
        return packet


def prefer_h264(transceiver: Any) -> None:
    """Send the clip as it is (H.264 constrained baseline, with RTX), as classroom boxes do."""
    from aiortc import RTCRtpSender

    caps = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences(
        [
            c
            for c in caps
            if c.mimeType == "video/H264" and c.parameters.get("profile-level-id") == "42e01f"
        ]
        + [c for c in caps if c.mimeType == "video/rtx"]
    )
