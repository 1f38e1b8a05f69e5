"""A track's finished segments made into one file, by remux only (``-c copy``).

The capture side leaves, per track, segments ``{track}-{n:06d}.mkv`` (or ``.ts``) and a
``{track}.timeline.jsonl`` with one line per finished segment (``segment``, ``first_ts``,
``last_ts``, ``wall``, ``frames``, ``seconds``). ``assemble_track`` reads the timeline,
checks every listed segment (demuxed with PyAV, no decoding: 2 s segments by the thousand
make one ffprobe process each far too slow), leaves out the corrupt and the missing ones, and
concatenates the rest with ffmpeg's concat demuxer. Each entry of the concat list is given
a ``duration``: the segment's own span, or, where the next segment's wall-clock start is
later than this one's end (a recorder crash, a left-out segment), the wall-clock distance,
so a gap stays a gap in the file's timeline and the tracks of a lesson keep lining up.
The concat *protocol* would not do: it joins bytes, which only MPEG-TS survives, and it
cannot leave room for a gap.

Output: WebM for VP8/VP9/Opus tracks, MP4 with ``+faststart`` for H.264 (with Opus or AAC).
``hls`` cuts an H.264 asset into a VOD playlist of fMP4 segments, again by remux.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import av
import ffmpeg

from recorder.errors import AssemblyFailed, SegmentCorrupt
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg
from recorder.segments import SegmentInfo, SegmentWriter

logger = logging.getLogger(__name__)

GAP_TOLERANCE_S = 0.25  # wall-clock jitter below this is not a gap
WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
# A segment declares its streams up front (Matroska's Tracks, MPEG-TS's PMT); probing on
# would decode a keyframe per segment, which for 1,350 H.264 segments (45 min) doubled
# the time of the check and of the remux. Not for audio in MPEG-TS, whose parser needs
# the probed parameters to time every packet. The same limits go into the concat list.
PROBE = {"probesize": "4096", "analyzeduration": "0"}


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
    ends: list[float] = []
    starts: list[float] = []
    packets = 0
    try:
        container = av.open(str(path), options=PROBE)
        quick = not (
            "mpegts" in container.format.name and any(s.type == "audio" for s in container.streams)
        )
        if not quick:
            container.close()
            container = av.open(str(path))
        with container:
            codecs = tuple(s.codec_context.name for s in container.streams)
            by_stream: dict[int, list[tuple[float, float]]] = {}
            for packet in container.demux():
                if packet.size == 0:
                    continue
                packets += 1
                if packet.pts is None or packet.time_base is None:
                    continue
                tb = float(packet.time_base)
                by_stream.setdefault(packet.stream_index, []).append(
                    (packet.pts * tb, (packet.duration or 0) * tb)
                )
    except av.FFmpegError as error:
        raise SegmentCorrupt(path.name, str(error)) from error
    if packets == 0:
        raise SegmentCorrupt(path.name, "no packets")
    if packets < frames:
        raise SegmentCorrupt(path.name, f"{packets} of {frames} frames (truncated)")
    if not by_stream:
        raise SegmentCorrupt(path.name, "no timestamps")
    for stamps in by_stream.values():
        stamps.sort()
        deltas = [b[0] - a[0] for a, b in zip(stamps, stamps[1:], strict=False) if b[0] > a[0]]
        typical = statistics.median(deltas) if deltas else 0.0
        starts.append(stamps[0][0])
        ends.append(max(t + (d or typical) for t, d in stamps))
    return SegmentSpan(codecs, min(starts), max(ends), packets, quick)


def plan(spans: list[tuple[SegmentInfo, SegmentSpan]]) -> tuple[list[float], list[Gap]]:
    """Each kept segment's duration in the concat list, and the gaps this leaves: a
    segment lasts its own span unless the next one starts later in wall-clock time."""
    durations: list[float] = []
    gaps: list[Gap] = []
    position = 0.0
    for i, (entry, span) in enumerate(spans):
        natural = span.end - span.start
        duration = natural
        if i + 1 < len(spans):
            distance = spans[i + 1][0].wall - entry.wall
            if distance - natural > GAP_TOLERANCE_S:
                duration = distance
                gaps.append(Gap(round(position + natural, 3), round(distance - natural, 3)))
        durations.append(duration)
        position += duration
    return durations, gaps


def assemble_track(
    folder: Path, track: str, out_dir: Path, *, tools: Ffmpeg | None = None
) -> TrackAsset:
    """Remux a track's segments, in timeline order, into ``out_dir/{track}.webm`` or
    ``.mp4``; ``AssemblyFailed`` when none is usable. Written to a temporary name and
    renamed, so a job retried after a crash simply does it again. ``tools`` defaults to
    ``find_ffmpeg()``."""
    tools = tools or find_ffmpeg()
    entries = SegmentWriter.read_timeline(folder, track)
    kept: list[tuple[SegmentInfo, SegmentSpan]] = []
    skipped: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.segment in seen:  # a line written twice: keep the first
            continue
        seen.add(entry.segment)
        path = folder / entry.segment
        if Path(entry.segment).name != entry.segment or not path.is_file():
            missing.append(entry.segment)
            continue
        try:
            span = check_segment(path, entry.frames)
        except SegmentCorrupt as error:
            logger.warning("Assemble(%s) skips %s", track, error)
            skipped.append(entry.segment)
            continue
        if kept and span.codecs != kept[0][1].codecs:
            logger.warning(
                "Assemble(%s) skips %s: codecs %s, track is %s",
                track,
                entry.segment,
                span.codecs,
                kept[0][1].codecs,
            )
            skipped.append(entry.segment)
            continue
        kept.append((entry, span))
    if not kept:
        raise AssemblyFailed(f"track {track} has no usable segment in {folder}")
    codecs = kept[0][1].codecs
    durations, gaps = plan(kept)
    webm = all(codec in WEBM_CODECS for codec in codecs)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{track}.{'webm' if webm else 'mp4'}"
    part = out_dir / f".{track}.part{target.suffix}"
    listing = out_dir / f".{track}.ffconcat"
    lines = ["ffconcat version 1.0"]
    quick = all(span.quick for _, span in kept)
    for (entry, _), duration in zip(kept, durations, strict=True):
        lines.append(f"file {_quote(str((folder / entry.segment).resolve()))}")
        lines += [f"option {key} {value}" for key, value in PROBE.items() if quick]
        lines.append(f"duration {duration:.6f}")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options: dict[str, str] = {"c": "copy", "map": "0", "f": "webm" if webm else "mp4"}
    if not webm:
        options["movflags"] = "+faststart"
    try:
        tools.run(
            ffmpeg.input(str(listing), f="concat", safe=0).output(str(part), **options),
            f"remux of track {track}",
        )
        os.replace(part, target)
    finally:
        listing.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
    info = tools.probe(target)
    video = info.video
    codec = video.codec if video else (info.codecs[0] if info.codecs else codecs[0])
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


def _quote(path: str) -> str:
    # ffconcat quoting: inside single quotes, a quote is written '\''.
    return "'" + path.replace("'", "'\\''") + "'"
