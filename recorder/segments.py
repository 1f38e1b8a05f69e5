"""One track's encoded frames into short segment files, crash-safe, with a timeline.

No decoding and no encoding: PyAV only muxes. VP8 and Opus go into Matroska (``.mkv``);
H.264 into MPEG-TS (``.ts``), which carries the Annex-B access units with their in-band
SPS/PPS as they come (Matroska would need an avcC record and the picture size up
front). Files in ``folder``:

- ``{track}-{n:06d}.mkv.part``: the open segment; a crash loses it and nothing else.
- ``{track}-{n:06d}.mkv``: a finished segment, closed, fsynced, then renamed.
- ``{track}.timeline.jsonl``: a line per finished segment (``SegmentInfo``), appended
  and fsynced after the rename: its RTP timestamps, the wall-clock time of its first
  frame, its frame count and duration.

Closing a segment and making it durable (close, fsync, rename, fsync the folder, the
timeline line) takes milliseconds of waiting on the disk; given a ``finisher`` (an
executor), the writer does it there, in the same order and one segment after the other,
and goes on with the next segment meanwhile, so that an event loop does not wait. A crash
loses no more than when the writer waits: while a segment is being made durable, it and
the media that came since (now at the start of the open segment; else still unread in a
socket) are what a crash would lose.

Packet times are RTP ticks (time base 1/clock rate) since the segment's first frame, so
every segment plays on its own from 0 (a Matroska Duration counts from 0, and ffmpeg's
concat demuxer adds it up); the timeline's ``wall`` places each on the wall clock.

Every track is cut every ``segment_seconds`` of media (video also where a VP8 keyframe
changes the picture size). A writer's first segment starts with a keyframe; the ones
after it go on from the previous one's frames: WebRTC sends a keyframe only when a
receiver asks (a keyframe every 2 s would cost every classroom's link), so video
segments are a chain that decodes from the writer's first keyframe, concatenated in
order. A crash loses the open segment and ends the chain; the recorder's new
subscription starts a new one with a fresh keyframe. A new writer for the same track
deletes stale ``.part`` files and numbers on after the last finished segment.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import re
import struct
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from recorder.frames import Frame

logger = logging.getLogger(__name__)

CONTAINERS = {"vp8": ("matroska", ".mkv"), "opus": ("matroska", ".mkv"), "h264": ("mpegts", ".ts")}
TRACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A finished segment, as its timeline line says (the line's keys are these names):
    its file name, the unwrapped RTP timestamps of its first and last frames, the
    wall-clock time of its first frame (UTC epoch seconds), its frame count, and its
    seconds of media (up to the next segment's first frame, or one frame interval more)."""

    segment: str
    first_ts: int
    last_ts: int
    wall: float
    frames: int
    seconds: float


@dataclass(slots=True)
class _Segment:
    name: str
    container: OutputContainer
    stream: Stream
    first_timestamp: int
    first_wall: float
    size: tuple[int, int] | None
    frames: int = 0


class SegmentWriter:
    """Writes one track (``vp8``, ``h264`` or ``opus``) of a recording into ``folder``."""

    def __init__(
        self,
        folder: Path,
        track: str,
        codec: str,
        clock_rate: int,
        *,
        segment_seconds: float = 2.0,
        width: int | None = None,
        height: int | None = None,
        finisher: Executor | None = None,
    ) -> None:
        """``track`` is a file-name stem; ``width`` and ``height`` are used when a VP8
        keyframe does not give the picture size; ``finisher`` closes segments and makes
        them durable (see the module's docstring), or the caller does when it is None."""
        assert TRACK_NAME.match(track), f"not a safe file-name stem: {track!r}"
        self.codec = codec.lower()
        if self.codec not in CONTAINERS:
            raise ValueError(f"cannot record {codec!r}")
        self.folder = folder
        self.track = track
        self.clock_rate = clock_rate
        self.segment_seconds = segment_seconds
        self.width, self.height = width, height
        self.segments_written = 0
        self.skipped_frames = 0  # not written: before a keyframe, or not after the last
        self._format, self._suffix = CONTAINERS[self.codec]
        self._video = self.codec != "opus"
        self._time_base = Fraction(1, clock_rate)
        self._segment: _Segment | None = None
        self._pending: Frame | None = None  # muxed when the next frame gives its duration
        self._last: int | None = None
        self._gap = clock_rate // (30 if self._video else 50)  # until two frames tell
        self._timeline = folder / f"{track}.timeline.jsonl"
        self._number: int | None = None  # found at the first segment: see _recover
        self._chained = False  # a segment was opened: the next may start on any frame
        self._size: tuple[int, int] | None = None  # the picture size of the chain
        self._finisher = finisher
        self._finishing: Future[None] | None = None  # the last segment handed to it
        self._template: InputContainer | None = None  # Opus: see _ogg_opus_head

    def write(self, frame: Frame, wall: float) -> None:
        """Add the next frame; ``wall`` is its wall-clock time (UTC epoch seconds)."""
        if self._last is not None and frame.timestamp <= self._last:
            self.skipped_frames += 1
            return
        size = vp8_size(frame.data) if self.codec == "vp8" and frame.keyframe else None
        segment = self._segment
        if segment is not None and self._cuts(segment, frame, size):
            self._finish(frame.timestamp)
            segment = None
        if segment is None:
            starts = frame.keyframe or not self._video or self._chained
            segment = self._open(frame, wall, size) if starts else None
            if segment is None:
                self.skipped_frames += 1
                return
        elif self._pending is not None:
            self._mux(segment, self._pending, frame.timestamp - self._pending.timestamp)
        if self._last is not None and frame.timestamp - self._last <= self.clock_rate:
            self._gap = frame.timestamp - self._last  # a pause is no frame interval
        self._pending, self._last = frame, frame.timestamp
        segment.frames += 1

    def close(self) -> None:
        """Finish the open segment, if any; when this returns, every finished segment is
        durable and in the timeline (or what failed is raised)."""
        if self._template is not None:
            self._template.close()
            self._template = None
        if self._segment is not None:
            self._finish(None)
        finishing, self._finishing = self._finishing, None
        if finishing is not None:
            finishing.result()

    @staticmethod
    def read_timeline(folder: Path, track: str) -> list[SegmentInfo]:
        """The finished segments of ``track`` in order, skipping a torn (last) line."""
        try:
            lines = (folder / f"{track}.timeline.jsonl").read_bytes().split(b"\n")
        except FileNotFoundError:
            return []
        segments: list[SegmentInfo] = []
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                segments.append(
                    SegmentInfo(
                        str(data["segment"]),
                        int(data["first_ts"]),
                        int(data["last_ts"]),
                        float(data["wall"]),
                        int(data["frames"]),
                        float(data["seconds"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                if number < len(lines) - 1:
                    logger.warning("SegmentWriter(%s) skips timeline line %d", track, number + 1)
        return segments

    # --- segments -------------------------------------------------------------------
    def _cuts(self, segment: _Segment, frame: Frame, size: tuple[int, int] | None) -> bool:
        if frame.timestamp - segment.first_timestamp >= self.segment_seconds * self.clock_rate:
            return True
        return size is not None and size != segment.size

    def _open(self, frame: Frame, wall: float, size: tuple[int, int] | None) -> _Segment | None:
        if size is None:
            size = self._size or ((self.width, self.height) if self.width and self.height else None)
        if self.codec == "vp8" and size is None:
            return None  # Matroska needs the picture size; a keyframe without one is broken
        if self._number is None:
            self._number = self._recover()
        name = f"{self.track}-{self._number:06d}{self._suffix}"
        path = self.folder / f"{name}.part"
        container = av.open(str(path), "w", format=self._format)
        stream: Stream
        try:
            if self.codec == "opus":
                if self._template is None:  # opened once: it costs more than the segment
                    self._template = av.open(io.BytesIO(_ogg_opus_head()), "r", format="ogg")
                stream = container.add_stream_from_template(self._template.streams.audio[0])
            elif size is not None:
                stream = container.add_mux_stream(self.codec, width=size[0], height=size[1])
            else:
                stream = container.add_mux_stream(self.codec)
            stream.time_base = self._time_base
        except BaseException:
            container.close()
            path.unlink(missing_ok=True)
            raise
        self._segment = _Segment(name, container, stream, frame.timestamp, wall, size)
        self._chained, self._size = True, size
        return self._segment

    def _mux(self, segment: _Segment, frame: Frame, duration: int) -> None:
        packet = av.Packet(frame.data)
        packet.stream = segment.stream
        packet.time_base = self._time_base
        packet.pts = packet.dts = frame.timestamp - segment.first_timestamp
        packet.duration = duration
        packet.is_keyframe = frame.keyframe
        segment.container.mux(packet)

    def _finish(self, following: int | None) -> None:
        """End the open segment (``following``: the next frame's timestamp) and have it
        made durable, here or by the finisher; raise what failed in an earlier one."""
        finishing = self._finishing
        if finishing is not None and finishing.done():
            self._finishing = None
            finishing.result()  # the disk is full or gone: the caller must know
        segment, pending = self._segment, self._pending
        assert segment is not None and pending is not None
        self._segment = self._pending = None
        duration = self._gap if following is None else following - pending.timestamp
        self._mux(segment, pending, duration)
        self._number = (self._number or 0) + 1
        info = SegmentInfo(
            segment.name, segment.first_timestamp, pending.timestamp, segment.first_wall,
            segment.frames,
            (pending.timestamp + duration - segment.first_timestamp) / self.clock_rate,
        )  # fmt: skip
        if self._finisher is None:
            self._make_durable(segment.container, info, None)
        else:
            self._finishing = self._finisher.submit(
                self._make_durable, segment.container, info, self._finishing
            )

    def _make_durable(
        self, container: OutputContainer, info: SegmentInfo, previous: Future[None] | None
    ) -> None:
        """Close a segment, make it durable, rename it, then record it in the timeline;
        after the one before it (``previous``), so that the timeline stays in order."""
        try:
            if previous is not None:
                previous.result()  # and after a failure, nothing more: the caller stops
        except BaseException:
            with contextlib.suppress(Exception):
                container.close()
            raise
        container.close()
        final = self.folder / info.segment
        part = final.with_name(f"{info.segment}.part")
        _fsync(part)
        part.replace(final)
        _fsync(self.folder)
        with self._timeline.open("a", encoding="utf-8") as timeline:
            timeline.write(json.dumps(asdict(info)) + "\n")
            timeline.flush()
            os.fsync(timeline.fileno())
        self.segments_written += 1

    def _recover(self) -> int:
        """Delete stale ``.part`` files, mend a torn timeline; the next segment number.
        Done at the first segment, not on construction, so that a writer made to replace
        another sees the segment the other finishes on closing."""
        self.folder.mkdir(parents=True, exist_ok=True)
        pattern = re.compile(rf"{re.escape(self.track)}-(\d{{6,}})\.(?:mkv|ts)(\.part)?")
        numbers = [-1]
        for entry in self.folder.iterdir():
            match = pattern.fullmatch(entry.name)
            if match is None:
                continue
            if match[2]:
                logger.info("SegmentWriter(%s) deletes the unfinished %s", self.track, entry.name)
                entry.unlink()
            else:
                numbers.append(int(match[1]))
        if self._timeline.exists():
            data = self._timeline.read_bytes()
            if data and not data.endswith(b"\n"):  # a torn line: later lines must not join it
                with self._timeline.open("r+b") as timeline:
                    timeline.truncate(data.rfind(b"\n") + 1)
                    os.fsync(timeline.fileno())
        else:
            self._timeline.touch()
            _fsync(self.folder)
        for info in self.read_timeline(self.folder, self.track):
            match = pattern.fullmatch(info.segment)
            if match is not None:
                numbers.append(int(match[1]))
        return max(numbers) + 1


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a VP8 keyframe (RFC 6386 §9.1), or None."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF  # the top 2 bits are a scale
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@functools.cache
def _ogg_opus_head() -> bytes:
    """A minimal Ogg Opus stream (RFC 7845): PyAV sets a mux stream's extradata only
    from a template stream, and Matroska needs the OpusHead (2 channels, 48 kHz, no
    pre-skip: timestamps stay RTP time) to be remuxed into MP4 later."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 0, 48_000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 5) + b"sanke" + struct.pack("<I", 0)
    silence = b"\xf8\xff\xfe"  # one 20 ms CELT frame: the demuxer wants a packet
    return _ogg_page(head, 0, 0x02, 0) + _ogg_page(tags, 1, 0, 0) + _ogg_page(silence, 2, 0x04, 960)


def _ogg_page(packet: bytes, sequence: int, flags: int, granule: int) -> bytes:
    page = bytearray(b"OggS" + struct.pack("<BBqIIIB", 0, flags, granule, 1, sequence, 0, 1))
    page += bytes([len(packet)]) + packet
    checksum = 0  # CRC-32, polynomial 0x04C11DB7, not reflected (RFC 3533 §6)
    for byte in page:
        checksum ^= byte << 24
        for _ in range(8):
            checksum = (checksum << 1) ^ (0x04C11DB7 if checksum & 0x80000000 else 0)
            checksum &= 0xFFFFFFFF
    page[22:26] = struct.pack("<I", checksum)
    return bytes(page)
