"""A track's finished segments made into one file, by remux only (no decoding).

The capture side leaves, per track, segments ``{track}-{n:06d}.mkv`` (or ``.ts``) and a
``{track}.timeline.jsonl`` with one line per finished segment (``segment``, ``first_ts``,
``last_ts``, ``wall``, ``frames``, ``seconds``). ``assemble_track`` reads the timeline and
reads every listed segment once, with PyAV: it checks it (every packet demuxed, none
decoded), leaves out the corrupt and the missing ones, and muxes the rest one after the
other into the track's file. Each segment is shifted to start where the one before it
ends, or, where its wall-clock start is later than that (a recorder crash, a left-out
segment), at the wall-clock distance, so a gap stays a gap in the file's timeline and the
tracks of a lesson keep lining up: what ffmpeg's concat demuxer does with a ``duration``
per entry. Not that demuxer itself: it probes every file it opens, and probing H.264
decodes frames (to guess the decoder's delay), which for the 1,350 segments of a 45-minute
lesson was most of the time. Here every segment is opened with a short probe and its
decoder told to skip every frame (``PROBE``).

Output: WebM for VP8/VP9/Opus tracks, MP4 with ``+faststart`` for H.264 (with Opus or AAC).
``hls`` cuts an H.264 asset into a VOD playlist of fMP4 segments, again by remux.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import ffmpeg
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from recorder.errors import AssemblyFailed, SegmentCorrupt
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg
from recorder.segments import SegmentInfo, SegmentWriter

logger = logging.getLogger(__name__)

GAP_TOLERANCE_S = 0.25  # wall-clock jitter below this is not a gap
WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
# A segment declares its streams up front (Matroska's Tracks, MPEG-TS's PMT); probing on
# would decode a keyframe per segment, and even a short probe decodes the first one unless
# the decoder skips every frame (the options go to each stream's decoder as well): 3.5 ms
# a segment, against 0.3 ms. Not for audio in MPEG-TS, whose parser needs the probed
# parameters to time every packet: those get the full probe, still without decoding video.
PROBE = {"probesize": "4096", "analyzeduration": "0"}
NO_DECODING = {"skip_frame": "all"}


@dataclass(frozen=True)
class SegmentSpan:
    """What a segment holds: its codecs, and its first and end timestamps in seconds."""

    codecs: tuple[str, ...]
    start: float
    end: float
    packets: int
    quick: bool = True  # readable under the short probe (``PROBE``)


@dataclass(frozen=True)
class Gap:
    """Seconds of wall-clock time with no media, starting ``at`` seconds into the asset."""

    at: float
    seconds: float


@dataclass(frozen=True)
class TrackAsset:
    """One track of a recording as one file; ``skipped`` are corrupt segments left out,
    ``missing`` are segments the timeline lists but the folder does not hold."""

    track: str
    path: Path
    codec: str  # the video codec, or the audio codec of an audio-only track
    codecs: tuple[str, ...]
    duration: float
    start_wall: float
    segments: int
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def lost_seconds(self) -> float:
        """Wall-clock seconds inside the asset with no media (crashes, left-out segments)."""
        return sum(gap.seconds for gap in self.gaps)


@dataclass(frozen=True)
class HlsAsset:
    """A VOD playlist and its fMP4 segments in one folder."""

    playlist: Path
    segments: int


def check_segment(path: Path, frames: int) -> SegmentSpan:
    """Demux every packet of a segment (no decoding); ``SegmentCorrupt`` when it cannot be
    read, holds no packet, or holds fewer than the ``frames`` its timeline line counts."""
    with _open_segment(path) as container:
        return _read_segment(container, path, frames)[0]


def _open_segment(path: Path) -> InputContainer:
    try:
        container = av.open(str(path), options={**PROBE, **NO_DECODING})
        if "mpegts" in container.format.name and any(s.type == "audio" for s in container.streams):
            container.close()
            container = av.open(str(path), options=NO_DECODING)
    except av.FFmpegError as error:
        raise SegmentCorrupt(path.name, str(error)) from error
    return container


def _read_segment(
    container: InputContainer, path: Path, frames: int
) -> tuple[SegmentSpan, list[av.Packet[Stream]]]:
    """What a segment holds, and its packets, which stay usable after it is closed."""
    ends: list[float] = []
    starts: list[float] = []
    packets: list[av.Packet[Stream]] = []
    quick = "mpegts" not in container.format.name or not any(
        s.type == "audio" for s in container.streams
    )
    by_stream: dict[int, list[tuple[float, float]]] = {}
    try:
        codecs = tuple(s.codec_context.name for s in container.streams)
        for packet in container.demux():
            if packet.size == 0:
                continue
            packets.append(packet)
            if packet.pts is None or packet.time_base is None:
                continue
            tb = float(packet.time_base)
            by_stream.setdefault(packet.stream_index, []).append(
                (packet.pts * tb, (packet.duration or 0) * tb)
            )
    except av.FFmpegError as error:
        raise SegmentCorrupt(path.name, str(error)) from error
    if not packets:
        raise SegmentCorrupt(path.name, "no packets")
    if len(packets) < frames:
        raise SegmentCorrupt(path.name, f"{len(packets)} of {frames} frames (truncated)")
    if not by_stream:
        raise SegmentCorrupt(path.name, "no timestamps")
    for stamps in by_stream.values():
        stamps.sort()
        deltas = [b[0] - a[0] for a, b in zip(stamps, stamps[1:], strict=False) if b[0] > a[0]]
        typical = statistics.median(deltas) if deltas else 0.0
        starts.append(stamps[0][0])
        ends.append(max(t + (d or typical) for t, d in stamps))
    return SegmentSpan(codecs, min(starts), max(ends), len(packets), quick), packets


def plan(spans: list[tuple[SegmentInfo, SegmentSpan]]) -> tuple[list[float], list[Gap]]:
    """Each kept segment's duration in the track, and the gaps this leaves: a segment
    lasts its own span unless the next one starts later in wall-clock time."""
    durations: list[float] = []
    gaps: list[Gap] = []
    position = 0.0
    for i, (entry, span) in enumerate(spans):
        following = spans[i + 1][0] if i + 1 < len(spans) else None
        duration, natural = _duration(entry, span, following), span.end - span.start
        if duration != natural:
            gaps.append(Gap(round(position + natural, 3), round(duration - natural, 3)))
        durations.append(duration)
        position += duration
    return durations, gaps


def _duration(entry: SegmentInfo, span: SegmentSpan, following: SegmentInfo | None) -> float:
    """A segment's duration in the track: its own span, or up to the ``following``
    segment's wall-clock start where that is later (a gap)."""
    natural = span.end - span.start
    if following is not None:
        distance = following.wall - entry.wall
        if distance - natural > GAP_TOLERANCE_S:
            return distance
    return natural


def assemble_track(
    folder: Path, track: str, out_dir: Path, *, tools: Ffmpeg | None = None
) -> TrackAsset:
    """Remux a track's segments, in timeline order, into ``out_dir/{track}.webm`` or
    ``.mp4``; ``AssemblyFailed`` when none is usable. Written to a temporary name and
    renamed, so a job retried after a crash simply does it again. ``tools`` defaults to
    ``find_ffmpeg()``."""
    tools = tools or find_ffmpeg()
    out_dir.mkdir(parents=True, exist_ok=True)
    output = _Output(out_dir, track)
    kept: list[tuple[SegmentInfo, SegmentSpan]] = []
    skipped: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    position = 0.0  # where the next kept segment starts in the track, in seconds
    try:
        for entry in SegmentWriter.read_timeline(folder, track):
            if entry.segment in seen:  # a line written twice: keep the first
                continue
            seen.add(entry.segment)
            path = folder / entry.segment
            if Path(entry.segment).name != entry.segment or not path.is_file():
                missing.append(entry.segment)
                continue
            try:
                with _open_segment(path) as container:
                    span, packets = _read_segment(container, path, entry.frames)
                    if kept and span.codecs != kept[0][1].codecs:
                        logger.warning("Assemble(%s) skips %s: codecs %s, track is %s",
                                       track, entry.segment, span.codecs,
                                       kept[0][1].codecs)  # fmt: skip
                        skipped.append(entry.segment)
                        continue
                    if kept:  # the one before lasts until this one, now that it is known
                        position += _duration(*kept[-1], entry)
                    output.add(container, packets, position - span.start)
            except SegmentCorrupt as error:
                logger.warning("Assemble(%s) skips %s", track, error)
                skipped.append(entry.segment)
                continue
            kept.append((entry, span))
        if not kept:
            raise AssemblyFailed(f"track {track} has no usable segment in {folder}")
        target = output.finish()
    finally:
        output.discard()
    _, gaps = plan(kept)
    info = tools.probe(target)
    video = info.video
    codec = video.codec if video else (info.codecs[0] if info.codecs else kept[0][1].codecs[0])
    logger.info(
        "Assemble(%s) %d segments, %d skipped, %d missing, %.1f s lost -> %s",
        track,
        len(kept),
        len(skipped),
        len(missing),
        sum(g.seconds for g in gaps),
        target.name,
    )
    return TrackAsset(
        track=track,
        path=target,
        codec=codec,
        codecs=info.codecs,
        duration=info.duration,
        start_wall=kept[0][0].wall,
        segments=len(kept),
        skipped=skipped,
        missing=missing,
        gaps=gaps,
    )


class _Output:
    """A track's file as it is written: opened at its first segment, whose streams it
    takes, under a temporary name until ``finish``."""

    def __init__(self, out_dir: Path, track: str) -> None:
        self._out_dir, self._track = out_dir, track
        self._container: OutputContainer | None = None
        self._streams: list[Stream] = []
        self._part: Path | None = None
        self._target: Path | None = None
        self._last_dts: dict[int, tuple[int, Fraction]] = {}  # by stream: dts, time base

    def add(self, segment: InputContainer, packets: list[av.Packet[Stream]], shift: float) -> None:
        """Mux a segment's ``packets``, ``shift`` seconds later than they are stamped."""
        try:
            if self._container is None:
                self._open(segment)
            assert self._container is not None
            shifts: dict[int, int] = {}
            for packet in packets:
                index = packet.stream_index
                delta = shifts.get(index)
                if delta is None:
                    delta = shifts[index] = round(shift / packet.time_base)
                pts, dts = packet.pts, packet.dts
                if pts is not None:
                    packet.pts = pts = pts + delta
                if dts is not None:
                    dts += delta
                    last = self._last_dts.get(index)
                    if last is not None and last[1] == packet.time_base and dts <= last[0]:
                        # MP4 wants them increasing; a segment of one frame has no span
                        # where nothing gives a frame's duration (MPEG-TS, H.264 without
                        # VUI timing): as ffmpeg does, the later one moves on by a tick.
                        dts = last[0] + 1
                        if pts is not None and pts < dts:
                            packet.pts = dts
                    packet.dts = dts
                    self._last_dts[index] = (dts, packet.time_base)
                packet.stream = self._streams[index]
                self._container.mux(packet)
        except (av.FFmpegError, ValueError) as error:
            raise AssemblyFailed(f"remux of track {self._track}", str(error)) from error

    def _open(self, segment: InputContainer) -> None:
        codecs = [s.codec_context.name for s in segment.streams]
        webm = all(codec in WEBM_CODECS for codec in codecs)
        self._target = self._out_dir / f"{self._track}.{'webm' if webm else 'mp4'}"
        self._part = self._out_dir / f".{self._track}.part{self._target.suffix}"
        options = {} if webm else {"movflags": "+faststart"}
        self._container = av.open(
            str(self._part), "w", format="webm" if webm else "mp4", options=options
        )
        self._streams = [
            self._container.add_stream_from_template(s, opaque=True) for s in segment.streams
        ]

    def finish(self) -> Path:
        """Close the file and give it its name."""
        assert self._container is not None and self._part and self._target
        container, self._container = self._container, None
        try:
            container.close()
        except av.FFmpegError as error:
            raise AssemblyFailed(f"remux of track {self._track}", str(error)) from error
        os.replace(self._part, self._target)
        return self._target

    def discard(self) -> None:
        """Whatever is left of an unfinished file (a no-op after ``finish``)."""
        if self._container is not None:
            container, self._container = self._container, None
            try:
                container.close()
            except av.FFmpegError:
                pass  # it is deleted below: what it says no longer matters
        if self._part is not None:
            self._part.unlink(missing_ok=True)


def hls(
    asset: TrackAsset, out_dir: Path, *, tools: Ffmpeg | None = None, segment_seconds: float = 6.0
) -> HlsAsset | None:
    """An HLS VOD playlist (fMP4 segments of about ``segment_seconds``; remux, so cut at
    keyframes) in ``out_dir/{track}.hls/index.m3u8``, for H.264 tracks only.

    HLS needs H.264 for the browsers that matter (Safari has no VP8 in HLS): for a VP8 or
    audio-only track this logs why and returns ``None``, and the review page plays the
    track's WebM directly (every browser the review page supports plays WebM VP8/Opus)."""
    tools = tools or find_ffmpeg()
    if "h264" not in asset.codecs:
        logger.info(
            "Hls(%s) not built: HLS needs H.264, the track is %s; the review page "
            "plays %s directly",
            asset.track,
            "/".join(asset.codecs),
            asset.path.name,
        )
        return None
    target = out_dir / f"{asset.track}.hls"
    part = out_dir / f".{asset.track}.hls.part"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        tools.run(
            ffmpeg.input(str(asset.path)).output(
                str(part / "index.m3u8"),
                c="copy",
                map="0",
                f="hls",
                hls_time=f"{segment_seconds:g}",
                hls_playlist_type="vod",
                hls_segment_type="fmp4",
                hls_fmp4_init_filename="init.mp4",
                hls_segment_filename=str(part / "seg-%05d.m4s"),
            ),
            f"HLS of track {asset.track}",
        )
        shutil.rmtree(target, ignore_errors=True)
        part.rename(target)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    playlist = target / "index.m3u8"
    lines = playlist.read_text(encoding="utf-8").splitlines()
    return HlsAsset(playlist, sum(1 for line in lines if line.startswith("#EXTINF")))
