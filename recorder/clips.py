"""A stretch of a lesson cut out of its assets, by remux only (``-c copy``).

A remux can only start a video track on a keyframe, so ``align`` moves a clip's start
back to the last keyframe at or before it; the keyframes are read by demuxing the track
(PyAV, no decoding: ``keyframe_times``). ``cut_clip`` cuts every track of the lesson
(``assets.json``, as ``recorder.pipeline`` writes it) that has media in the clip: the
clip starts at the earliest aligned start of its video tracks, the audio tracks are cut
from that same lesson time, and ``clip.json`` gives each file's offset within the clip,
so the tracks line up as they did in the lesson.

Video files are seeked on input (fast: MP4 and WebM index their video keyframes); an
audio-only WebM has no index (Matroska cues are written for video only), where an input
seek lands at the file's start, so audio-only files are read from the start and cut on
output, to the packet.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import ffmpeg

from recorder.errors import AssemblyFailed, ClipInvalid
from recorder.ffmpeg_binary import Ffmpeg
from recorder.pipeline import ASSETS

logger = logging.getLogger(__name__)

CLIP = "clip.json"
CLIP_VERSION = 1
# A keyframe this close after a cut point is taken as at it: a time that went through a
# sum of floats, or milliseconds in JSON, must not move the cut back a whole GOP.
KEYFRAME_TOLERANCE_S = 0.001
FORMATS = {".mp4": "mp4", ".webm": "webm"}


@dataclass(frozen=True)
class CutTrack:
    """A track cut from ``start`` to ``end`` (seconds of the source file; ``start`` as
    aligned to a keyframe) into ``path``, which lasts ``duration`` seconds."""

    path: Path
    start: float
    end: float
    duration: float


def keyframe_times(path: Path) -> list[float]:
    """The presentation times of the first video stream's keyframes, in seconds from the
    file's start, in order; ``[]`` for a file without video (every audio packet is a cut
    point). Demuxed only; ``AssemblyFailed`` when the file cannot be read."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return []
            origin = (container.start_time or 0) / av.time_base
            times = [
                float(packet.pts * packet.time_base) - origin
                for packet in container.demux(container.streams.video[0])
                if packet.is_keyframe and packet.pts is not None and packet.time_base
            ]
    except av.FFmpegError as error:
        raise AssemblyFailed(f"cannot read the keyframes of {path.name}", str(error)) from error
    return sorted(times)


def align(keyframes: list[float], start: float, end: float, duration: float) -> tuple[float, float]:
    """The cut ``(start, end)`` a remux can make of a file lasting ``duration`` seconds:
    ``start`` moved back to the last keyframe at or before it (0 when there is none),
    ``end`` no later than ``duration``. ``ClipInvalid`` when ``start`` is negative or not
    before ``duration``, or ``end`` is not after ``start``."""
    if start < 0:
        raise ClipInvalid(f"a clip cannot start before the recording: start {start:g} s")
    if start >= duration:
        raise ClipInvalid(
            f"a clip must start before the recording ends: start {start:g} s, "
            f"recording {duration:g} s"
        )
    if end <= start:
        raise ClipInvalid(f"a clip must end after it starts: {start:g} s to {end:g} s")
    before = [k for k in keyframes if 0 <= k <= start + KEYFRAME_TOLERANCE_S]
    return (max(before) if before else 0.0), min(end, duration)


def cut_track(
    source_file: Path, start: float, end: float, out_file: Path, *, tools: Ffmpeg
) -> CutTrack:
    """Copy ``source_file`` from ``start`` (aligned to a keyframe) to ``end`` seconds into
    ``out_file``, in the same container (MP4 with ``+faststart``, or WebM): timestamps
    start at 0. Written under a temporary name and renamed. ``ClipInvalid`` as ``align``;
    ``AssemblyFailed`` when ffmpeg fails."""
    container = FORMATS.get(source_file.suffix)
    if container is None or out_file.suffix != source_file.suffix:
        raise ValueError(f"cannot cut {source_file.name} into {out_file.name}: MP4 or WebM, alike")
    info = tools.probe(source_file)
    if info.video is not None:
        keyframes = keyframe_times(source_file)
    else:
        keyframes = [start]  # audio: any packet is a cut point
    start, end = align(keyframes, start, end, info.duration)
    # ffmpeg seeks to the last keyframe at or before -ss: round up to its microseconds, so
    # that a keyframe's own time does not land a hair before it (and a GOP earlier).
    at, until = f"{math.ceil(start * 1e6) / 1e6:.6f}", f"{end:.6f}"
    options: dict[str, Any] = {"c": "copy", "map": "0", "f": container}
    options["avoid_negative_ts"] = "make_zero"  # the cut starts at 0, whatever the seek left
    if container == "mp4":
        options["movflags"] = "+faststart"
    if info.video is not None:
        source = ffmpeg.input(str(source_file), ss=at, to=until)
    else:
        source = ffmpeg.input(str(source_file))
        options.update(ss=at, to=until)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    part = out_file.with_name(f".{out_file.stem}.part{out_file.suffix}")
    try:
        tools.run(source.output(str(part), **options), f"cut of {source_file.name}")
        os.replace(part, out_file)
    finally:
        part.unlink(missing_ok=True)
    return CutTrack(out_file, start, end, tools.probe(out_file).duration)


@dataclass(frozen=True)
class _Span:
    """What to cut of one track: from ``start`` to ``end`` seconds of its file, which
    starts ``offset`` seconds into the lesson."""

    name: str
    track: dict[str, Any]
    offset: float
    start: float
    end: float
    video: bool


def cut_clip(
    assets_dir: Path, start: float, end: float, out_dir: Path, *, tools: Ffmpeg
) -> dict[str, Any]:
    """Cut lesson time ``start`` to ``end`` (seconds from the lesson's origin, as
    ``assets.json`` counts them) out of every usable track of ``assets_dir`` that has media
    in it, into ``out_dir``, and describe the clip in ``out_dir/clip.json`` (written last,
    atomically), which is returned.

    The clip starts at the earliest keyframe-aligned start of its video tracks (never
    later than ``start``); every track is placed by its ``offset`` from the clip's start.
    ``ClipInvalid`` when the times make no clip or no track has media in it;
    ``AssemblyFailed`` without a readable ``assets.json`` or when ffmpeg fails."""
    try:
        assets = json.loads((assets_dir / ASSETS).read_text(encoding="utf-8"))
        tracks: dict[str, dict[str, Any]] = dict(assets["tracks"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AssemblyFailed(f"no readable {ASSETS} in {assets_dir}: {error}") from error
    if start < 0 or end <= start:
        raise ClipInvalid(f"a clip must run forwards from 0 s or later: {start:g} s to {end:g} s")
    spans = _spans(assets_dir, tracks, start, end, tools)
    if not spans:
        raise ClipInvalid(
            f"no track of {assets_dir.name} has media from {start:g} s to {end:g} s "
            f"(the lesson lasts {float(assets.get('duration', 0)):g} s)"
        )
    clip_start = min([start] + [s.offset + s.start for s in spans if s.video])
    clip_end = clip_start
    described: dict[str, dict[str, Any]] = {}
    for span in spans:
        # Audio can be cut anywhere: from the clip's start, so that it lines up.
        cut_from = span.start if span.video else max(0.0, clip_start - span.offset)
        source = assets_dir / span.track["file"]
        target = out_dir / f"{span.name}{source.suffix}"
        cut = cut_track(source, cut_from, span.end, target, tools=tools)
        described[span.name] = {
            "file": cut.path.name,
            "source": span.track.get("source", ""),
            "codec": span.track.get("codec"),
            "offset": round(span.offset + cut.start - clip_start, 3),
            "duration": round(cut.duration, 3),
        }
        clip_end = max(clip_end, span.offset + cut.end)
    clip: dict[str, Any] = {
        "version": CLIP_VERSION,
        "recording": assets.get("recording", assets_dir.name),
        "start": round(clip_start, 3),
        "end": round(clip_end, 3),
        "requested": {"start": start, "end": end},
        "tracks": described,
    }
    part = out_dir / f".{CLIP}.part"
    part.write_text(json.dumps(clip, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(part, out_dir / CLIP)
    logger.info("Clip(%s) %.3f-%.3f s (asked %g-%g s): %d tracks into %s", assets_dir.name,
                clip_start, clip_end, start, end, len(described), out_dir)  # fmt: skip
    return clip


def _spans(
    assets_dir: Path, tracks: dict[str, dict[str, Any]], start: float, end: float, tools: Ffmpeg
) -> list[_Span]:
    """The usable tracks with media between lesson times ``start`` and ``end``, each with
    the part of its file to cut, a video track's start aligned to its keyframes."""
    spans: list[_Span] = []
    for name, track in sorted(tracks.items()):
        if "file" not in track:  # unusable: listed in assets.json with its error
            continue
        offset, length = float(track.get("offset", 0.0)), float(track["duration"])
        if not (offset < end and offset + length > start):
            continue
        source = assets_dir / track["file"]
        video = tools.probe(source).video is not None
        local = max(0.0, start - offset)
        keyframes = keyframe_times(source) if video else [local]
        cut_from, cut_to = align(keyframes, local, end - offset, length)
        spans.append(_Span(name, track, offset, cut_from, cut_to, video))
    return spans
