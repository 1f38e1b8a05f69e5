"""recorder.assemble against the real ffmpeg: segments made here the way the capture side
leaves them (2 s Matroska or MPEG-TS files cut without transcoding, and a timeline), one
deleted (a crash) and one corrupted, remuxed into one file, and HLS for H.264."""

from __future__ import annotations

import fractions
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import av
import pytest

from recorder.assemble import GAP_TOLERANCE_S, SegmentSpan, assemble_track, hls, plan
from recorder.errors import AssemblyFailed, FfmpegMissing
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg
from recorder.frames import Frame
from recorder.segments import SegmentInfo, SegmentWriter
from tests.recorder.conftest import ENCODERS, require_encoders

WALL0 = 1_700_000_000.0


def make_track(
    tools: Ffmpeg,
    folder: Path,
    track: str,
    *,
    video: str | None = None,
    audio: str | None = None,
    seconds: float = 12.0,
    size: str = "320x240",
    rate: int = 15,
    audio_filter: str = "",
) -> list[Path]:
    """Encode a test source and cut it, by copy, into 2 s segments that each start with a
    keyframe, plus ``{track}.timeline.jsonl`` as the capture side writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".ts" if video == "h264" else ".mkv"
    args = [tools.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}"]
    if audio:
        tone = "sine=frequency=440:sample_rate=48000" + (f",{audio_filter}" if audio_filter else "")
        args += ["-f", "lavfi", "-i", tone]
    args += ["-t", f"{seconds:g}"]
    if video == "vp8":
        args += ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]
    elif video == "h264":
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline"]
        args += ["-pix_fmt", "yuv420p", "-bf", "0"]
    if video:
        args += ["-g", str(2 * rate), "-keyint_min", str(2 * rate)]
    if audio:
        args += ["-c:a", ENCODERS[audio], "-ar", "48000", "-ac", "1"]
    args += ["-f", "segment", "-segment_time", "2", "-segment_format"]
    args += ["mpegts" if ext == ".ts" else "matroska", str(folder / f"{track}-%06d{ext}")]
    subprocess.run(args, check=True)
    segments = sorted(folder.glob(f"{track}-*{ext}"))
    stamps = [packet_times(path) for path in segments]
    origin = stamps[0][0]
    lines = [
        {
            "segment": path.name,
            "first_ts": round(times[0] * 90_000),
            "last_ts": round(times[-1] * 90_000),
            "wall": WALL0 + times[0] - origin,
            "frames": len(times),
            "seconds": times[-1] - times[0],
        }
        for path, times in zip(segments, stamps, strict=True)
    ]
    (folder / f"{track}.timeline.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    return segments


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def payload_digest(paths: list[Path]) -> str:
    """A digest of every packet's bytes, stream by stream and in order: equal for a remux."""
    streams: dict[str, list[bytes]] = {}
    for path in paths:
        with av.open(str(path)) as container:
            for packet in container.demux():
                if packet.size:
                    streams.setdefault(packet.stream.type, []).append(bytes(packet))
    digest = hashlib.sha256()
    for kind in sorted(streams):
        digest.update(b"".join(streams[kind]))
    return digest.hexdigest()


def packet_times(path: Path, kind: str | None = None) -> list[float]:
    with av.open(str(path)) as container:
        return sorted(
            float(p.pts * p.time_base)
            for p in container.demux()
            if p.size and p.pts is not None and kind in (None, p.stream.type)
        )


def test_vp8_track_is_remuxed_with_its_gap_and_the_corrupt_segment_reported(tools, tmp_path):
    segments = make_track(tools, tmp_path, "cam", video="vp8")
    assert len(segments) == 6
    segments[2].unlink()  # lost in a crash
    truncate(segments[4])  # cut short: fewer frames than the timeline says

    asset = assemble_track(tmp_path, "cam", tmp_path / "out", tools=tools)

    assert asset.path == tmp_path / "out" / "cam.webm"
    assert (asset.codec, asset.codecs) == ("vp8", ("vp8",))
    assert asset.missing == [segments[2].name]
    assert asset.skipped == [segments[4].name]
    assert asset.segments == 4
    assert asset.start_wall == WALL0
    # the gaps stay gaps in wall-clock time: 12 s long, 4 s of it without media
    assert asset.duration == pytest.approx(12.0, abs=0.2)
    assert asset.lost_seconds == pytest.approx(4.0, abs=0.2)
    assert [round(gap.at) for gap in asset.gaps] == [4, 8]
    times = packet_times(asset.path, "video")
    assert not [t for t in times if 4.05 < t < 5.95 or 8.05 < t < 9.95]
    # no transcoding: the very same VP8 frames
    kept = [segments[i] for i in (0, 1, 3, 5)]
    assert payload_digest([asset.path]) == payload_digest(kept)


def test_opus_track_becomes_webm(tools, tmp_path):
    segments = make_track(tools, tmp_path, "mic", audio="opus")
    segments[1].unlink()
    asset = assemble_track(tmp_path, "mic", tmp_path / "out", tools=tools)
    assert asset.path.suffix == ".webm"
    assert (asset.codec, asset.codecs) == ("opus", ("opus",))
    assert asset.duration == pytest.approx(12.0, abs=0.2)
    assert [(round(g.at), round(g.seconds)) for g in asset.gaps] == [(2, 2)]
    assert payload_digest([asset.path]) == payload_digest([s for s in segments if s.exists()])


def test_h264_track_becomes_faststart_mp4_and_hls(tools, tmp_path):
    require_encoders(tools, "h264", "aac")
    segments = make_track(tools, tmp_path, "cam", video="h264", audio="aac")
    assert [s.suffix for s in segments] == [".ts"] * 6
    segments[3].write_bytes(b"\x00garbage" * 2000)

    asset = assemble_track(tmp_path, "cam", tmp_path / "out", tools=tools)
    assert asset.path.suffix == ".mp4"
    assert (asset.codec, asset.codecs) == ("h264", ("h264", "aac"))
    assert asset.skipped == [segments[3].name]
    assert asset.duration == pytest.approx(12.0, abs=0.3)
    assert asset.lost_seconds == pytest.approx(2.0, abs=0.3)
    data = asset.path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart

    stream = hls(asset, tmp_path / "out", tools=tools)
    assert stream is not None
    assert stream.playlist == tmp_path / "out" / "cam.hls" / "index.m3u8"
    assert stream.segments >= 2
    text = stream.playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and '#EXT-X-MAP:URI="init.mp4"' in text
    info = tools.probe(stream.playlist)
    assert info.codecs == ("h264", "aac")
    assert info.duration == pytest.approx(asset.duration, abs=0.5)
    # it plays: every frame decodes
    subprocess.run(
        [tools.ffmpeg, "-nostdin", "-v", "error", "-xerror", "-i", str(stream.playlist)]
        + ["-f", "null", "-"],
        check=True,
    )


def test_a_segment_of_one_frame_right_before_the_next_still_makes_an_mp4(tools, tmp_path):
    """A track's writer replaced just after a cut (a new SSRC for the same source) leaves a
    segment of one frame, and the next starts at once: every frame is kept, in time."""
    context: Any = av.CodecContext.create("libx264", "w")
    context.width, context.height, context.pix_fmt = 320, 240, "yuv420p"
    context.time_base, context.framerate = fractions.Fraction(1, 90_000), fractions.Fraction(30)
    context.gop_size, context.options = 1, {"preset": "ultrafast", "tune": "zerolatency"}
    encoded = []
    for i in range(90):
        picture = av.VideoFrame(320, 240, "yuv420p")
        picture.pts = i * 3000
        encoded += context.encode(picture)
    encoded += context.encode(None)
    frames = [Frame(bytes(p), 3000 * i, True, WALL0 + i / 30) for i, p in enumerate(encoded)]
    first = SegmentWriter(tmp_path, "cam", "h264", 90_000, segment_seconds=1.0)
    for frame in frames[:31]:  # 30 frames, then one alone after the cut
        first.write(frame, frame.arrival)
    first.close()
    second = SegmentWriter(tmp_path, "cam", "h264", 90_000, segment_seconds=1.0)
    for frame in frames[31:]:
        second.write(frame, frame.arrival)
    second.close()
    assert [s.frames for s in SegmentWriter.read_timeline(tmp_path, "cam")] == [30, 1, 30, 29]

    asset = assemble_track(tmp_path, "cam", tmp_path / "out", tools=tools)
    assert (asset.path.suffix, asset.segments, asset.skipped, asset.gaps) == (".mp4", 4, [], [])
    assert len(packet_times(asset.path)) == 90
    assert asset.duration == pytest.approx(3.0, abs=0.1)


def test_vp8_gets_no_hls(tools, tmp_path):
    make_track(tools, tmp_path, "cam", video="vp8", seconds=4)
    asset = assemble_track(tmp_path, "cam", tmp_path / "out", tools=tools)
    assert hls(asset, tmp_path / "out", tools=tools) is None
    assert not (tmp_path / "out" / "cam.hls").exists()


def test_a_torn_and_a_repeated_timeline_line_do_not_matter(tools, tmp_path):
    make_track(tools, tmp_path, "mic", audio="opus", seconds=6)
    timeline = tmp_path / "mic.timeline.jsonl"
    lines = timeline.read_text().splitlines()
    timeline.write_text("\n".join([*lines, lines[0]]) + '\n{"segment": "mic-0000')
    asset = assemble_track(tmp_path, "mic", tmp_path / "out", tools=tools)
    assert asset.segments == len(lines) and not asset.skipped and not asset.missing


def test_nothing_usable_is_an_error(tools, tmp_path):
    with pytest.raises(AssemblyFailed):
        assemble_track(tmp_path, "nothing", tmp_path / "out", tools=tools)
    for path in make_track(tools, tmp_path, "mic", audio="opus", seconds=4):
        path.write_bytes(b"not matroska")
    with pytest.raises(AssemblyFailed, match="no usable segment"):
        assemble_track(tmp_path, "mic", tmp_path / "out", tools=tools)


def test_plan_keeps_wall_clock_gaps_only():
    def seg(wall: float, span: float) -> tuple[SegmentInfo, SegmentSpan]:
        return SegmentInfo("s", 0, 0, wall, 1, span), SegmentSpan(("vp8",), 10.0, 10.0 + span, 1)

    contiguous = [seg(0.0, 2.0), seg(2.0 + GAP_TOLERANCE_S / 2, 2.0), seg(4.0, 2.0)]
    assert plan(contiguous) == ([2.0, 2.0, 2.0], [])
    crash = [seg(0.0, 2.0), seg(2.0, 1.5), seg(9.5, 2.0), seg(9.0, 2.0)]
    durations, gaps = plan(crash)
    assert durations == [2.0, 7.5, 2.0, 2.0]  # a clock going back is not a gap
    assert [(g.at, g.seconds) for g in gaps] == [(3.5, 6.0)]


def test_no_ffmpeg_is_a_clear_error(tmp_path):
    with pytest.raises(FfmpegMissing, match="imageio-ffmpeg"):
        find_ffmpeg(search_path=str(tmp_path), bundled=False)


def test_imageio_ffmpeg_without_ffprobe(tmp_path):
    tools = find_ffmpeg(search_path=str(tmp_path / "empty"))
    assert (tools.origin, tools.ffprobe) == ("imageio-ffmpeg", None)
    segments = make_track(tools, tmp_path, "mic", audio="opus", seconds=4)
    asset = assemble_track(tmp_path, "mic", tmp_path / "out", tools=tools)
    assert (asset.codec, asset.segments) == ("opus", len(segments))
    assert asset.duration == pytest.approx(4.0, abs=0.2)
