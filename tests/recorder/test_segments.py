"""SegmentWriter against real PyAV files: where segments are cut, the timeline, crash
safety (a real ``kill -9``), and real VP8/H.264/Opus media packetized by aiortc, put
back together by FrameAssembler, written, read back and decoded."""

from __future__ import annotations

import fractions
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder

from recorder.frames import Frame, FrameAssembler
from recorder.segments import SegmentInfo, SegmentWriter, vp8_size
from recorder.timeline import RtpClock

SR_WALL = 1_700_000_000.0
DELTA = b"\x51\x02\x00delta"


def vp8_key(width: int = 320, height: int = 240) -> bytes:
    return b"\x50\x02\x00\x9d\x01\x2a" + width.to_bytes(2, "little") + height.to_bytes(2, "little")


def video(kinds: str, step: int = 3000, start: int = 90_000) -> list[Frame]:
    return [
        Frame(vp8_key() if kind == "K" else DELTA, start + i * step, kind == "K", 0.0)
        for i, kind in enumerate(kinds)
    ]


def write(writer: SegmentWriter, frames: list[Frame], rate: int = 90_000) -> None:
    for frame in frames:
        writer.write(frame, SR_WALL + frame.timestamp / rate)


def packets_of(path: Path) -> list[Any]:
    with av.open(str(path)) as container:
        return [(p.pts, p.is_keyframe) for p in container.demux() if p.size]


def test_video_is_cut_every_segment_seconds_on_any_frame_after_the_first_keyframe(
    tmp_path: Path,
) -> None:
    """WebRTC sends keyframes only on request: segments chain from the first keyframe."""
    frames = video(("K" + "D" * 44) * 4 + "K" + "D" * 19)  # a keyframe every 1.5 s, 6.67 s
    writer = SegmentWriter(tmp_path, "teacher_camera_high", "vp8", 90_000, segment_seconds=2.0)
    write(writer, frames)
    writer.close()
    timeline = SegmentWriter.read_timeline(tmp_path, "teacher_camera_high")
    assert [s.segment for s in timeline] == [f"teacher_camera_high-{n:06d}.mkv" for n in range(4)]
    assert [s.frames for s in timeline] == [60, 60, 60, 20]  # cut at 2, 4 and 6 s
    assert [s.seconds for s in timeline] == pytest.approx([2.0, 2.0, 2.0, 20 / 30])
    assert timeline[1] == SegmentInfo(
        "teacher_camera_high-000001.mkv", 90_000 + 60 * 3000, 90_000 + 119 * 3000,
        SR_WALL + 1 + 60 / 30, 60, 2.0,
    )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir() if ".part" in p.name) == []
    assert writer.segments_written == 4
    second = packets_of(tmp_path / timeline[1].segment)
    # frames 60..119: keyframes at 90 (and none at its start: the chain goes on)
    assert len(second) == 60 and [i for i, (_, key) in enumerate(second) if key] == [30]
    with av.open(str(tmp_path / timeline[1].segment)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("vp8", 320, 240)
        assert second[0][0] == 0  # every segment starts at 0; the timeline places it


def test_leading_delta_frames_and_timestamps_that_do_not_increase_are_skipped(
    tmp_path: Path,
) -> None:
    frames = video("DDDKDD")
    frames.insert(5, frames[4])  # a repeat
    writer = SegmentWriter(tmp_path, "t", "vp8", 90_000)
    write(writer, frames)
    writer.close()
    (segment,) = SegmentWriter.read_timeline(tmp_path, "t")
    assert segment.frames == 3 and segment.first_ts == frames[3].timestamp
    assert writer.skipped_frames == 4


def test_a_vp8_keyframe_of_another_size_starts_a_segment(tmp_path: Path) -> None:
    frames = video("KDKD")
    frames[2] = Frame(vp8_key(640, 360), frames[2].timestamp, True, 0.0)
    writer = SegmentWriter(tmp_path, "t", "vp8", 90_000)
    write(writer, frames)
    writer.close()
    timeline = SegmentWriter.read_timeline(tmp_path, "t")
    assert [s.frames for s in timeline] == [2, 2]
    with av.open(str(tmp_path / timeline[1].segment)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (640, 360)
    assert vp8_size(b"\x51" + vp8_key()[1:]) is None  # a delta frame has no size


def test_audio_is_cut_every_segment_seconds_and_keeps_its_opus_head(tmp_path: Path) -> None:
    frames = [Frame(b"\xfc\xff\xfe", 960 * i, True, 0.0) for i in range(250)]  # 5 s
    writer = SegmentWriter(tmp_path, "room_audio", "opus", 48_000, segment_seconds=2.0)
    write(writer, frames, rate=48_000)
    writer.close()
    timeline = SegmentWriter.read_timeline(tmp_path, "room_audio")
    assert [s.frames for s in timeline] == [100, 100, 50]
    assert [s.seconds for s in timeline] == pytest.approx([2.0, 2.0, 1.0])
    with av.open(str(tmp_path / timeline[0].segment)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.sample_rate) == ("opus", 48_000)
        head = stream.codec_context.extradata or b""  # what MP4 wants to remux Opus
        assert head[:8] == b"OpusHead" and head[9] == 2  # two channels


def test_a_new_writer_deletes_stale_parts_mends_a_torn_timeline_and_numbers_on(
    tmp_path: Path,
) -> None:
    writer = SegmentWriter(tmp_path, "t", "vp8", 90_000, segment_seconds=1.0)
    write(writer, video("KDDDDDDDDDDDDDDDDDDDDDDDDDDDDDKD"))  # one segment, then one open
    assert writer.segments_written == 1
    timeline = tmp_path / "t.timeline.jsonl"
    with timeline.open("a") as torn:
        torn.write('{"segment": "t-0000')  # a crash in the middle of a line
    (tmp_path / "t-000007.mkv.part").write_bytes(b"left by a crash")
    (tmp_path / "t2-000009.mkv").write_bytes(b"another track's")
    assert [s.segment for s in SegmentWriter.read_timeline(tmp_path, "t")] == ["t-000000.mkv"]
    again = SegmentWriter(tmp_path, "t", "vp8", 90_000, segment_seconds=1.0)
    write(again, video("DKD", start=10**6))
    assert [p.name for p in tmp_path.glob("t-*.part")] == ["t-000001.mkv.part"]
    again.close()
    assert [s.segment for s in SegmentWriter.read_timeline(tmp_path, "t")] == [
        "t-000000.mkv",
        "t-000001.mkv",
    ]
    assert timeline.read_text().count("\n") == 2


class GatedExecutor(Executor):
    """Runs what it is given in its own thread, once ``gate`` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.threads: set[str] = set()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="finisher")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def gated() -> Any:
            self.gate.wait(10)
            self.threads.add(threading.current_thread().name)
            return fn(*args, **kwargs)

        return self._pool.submit(gated)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.gate.set()
        self._pool.shutdown(wait)


def test_a_finisher_makes_segments_durable_in_order_while_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    finisher = GatedExecutor()
    writer = SegmentWriter(tmp_path, "t", "vp8", 90_000, segment_seconds=1.0, finisher=finisher)
    write(writer, video("K" + "D" * 69))  # two segments cut, a third open
    # nothing durable yet: the writer did not wait, and went on with the open segment
    assert SegmentWriter.read_timeline(tmp_path, "t") == []
    assert sorted(p.name for p in tmp_path.glob("t-*")) == [
        "t-000000.mkv.part", "t-000001.mkv.part", "t-000002.mkv.part",
    ]  # fmt: skip
    finisher.gate.set()
    writer.close()  # returns once every segment is durable
    timeline = SegmentWriter.read_timeline(tmp_path, "t")
    assert [(s.segment, s.frames) for s in timeline] == [
        ("t-000000.mkv", 30), ("t-000001.mkv", 30), ("t-000002.mkv", 10),
    ]  # fmt: skip
    assert not list(tmp_path.glob("*.part")) and writer.segments_written == 3
    assert finisher.threads and all(name.startswith("finisher") for name in finisher.threads)
    assert [len(packets_of(tmp_path / s.segment)) for s in timeline] == [30, 30, 10]
    finisher.shutdown()


def test_what_fails_in_the_finisher_reaches_the_writer(tmp_path: Path) -> None:
    finisher = GatedExecutor()
    writer = SegmentWriter(tmp_path, "t", "vp8", 90_000, segment_seconds=1.0, finisher=finisher)
    write(writer, video("K" + "D" * 39))  # one segment handed over, one open
    (tmp_path / "t-000000.mkv.part").unlink()  # the disk lost it before it was fsynced
    finisher.gate.set()
    with pytest.raises(FileNotFoundError):
        writer.close()
    assert SegmentWriter.read_timeline(tmp_path, "t") == []  # never listed: nothing to trust
    finisher.shutdown()


def test_a_track_name_must_be_a_safe_file_name(tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        SegmentWriter(tmp_path, "../escape", "vp8", 90_000)


# --- real media --------------------------------------------------------------------------
SECONDS, FPS, GOP = 3, 30, 15


def encode_video(codec: str) -> list[Any]:
    context: Any = av.CodecContext.create(codec, "w")
    context.width, context.height, context.pix_fmt = 320, 240, "yuv420p"
    context.time_base = fractions.Fraction(1, 90_000)
    context.framerate = fractions.Fraction(FPS)
    context.gop_size = GOP
    context.options = (
        {"preset": "ultrafast", "tune": "zerolatency", "x264-params": "scenecut=0"}
        if codec == "libx264"
        else {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    )
    pattern = bytes(range(256)) * 500
    packets: list[Any] = []
    for i in range(SECONDS * FPS):
        picture = av.VideoFrame(320, 240, "yuv420p")
        for plane in picture.planes:  # a moving diagonal pattern
            plane.update(pattern[i * 3 : i * 3 + plane.buffer_size])
        picture.pts = i * 90_000 // FPS
        packets += context.encode(picture)
    return packets + list(context.encode(None))


def encode_opus() -> list[Any]:
    context: Any = av.CodecContext.create("libopus", "w")
    context.sample_rate, context.format, context.layout = 48_000, "s16", "stereo"
    context.time_base = fractions.Fraction(1, 48_000)
    packets: list[Any] = []
    for i in range(SECONDS * 50):
        samples = bytes((i * 31 + j) % 256 for j in range(960 * 4))
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(samples)
        frame.sample_rate, frame.pts = 48_000, i * 960
        packets += context.encode(frame)
    return packets + list(context.encode(None))


def packetize(encoded: list[Any], packer: Any, sequence: int, base: int) -> list[bytes]:
    """RTP packets as a sender makes them, then mildly reordered and duplicated."""
    out: list[bytes] = []
    for packet in encoded:
        payloads, timestamp = packer.pack(packet)
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == len(payloads) - 1 else 0
            header = bytes([0x80, 96 | marker]) + (sequence % 65536).to_bytes(2, "big")
            header += ((base + timestamp) % 2**32).to_bytes(4, "big") + b"\x00\x00\x00\x07"
            out.append(header + payload)
            sequence += 1
    for i in range(5, len(out) - 1, 7):
        out[i], out[i + 1] = out[i + 1], out[i]
    return [p for i, packet in enumerate(out) for p in ([packet] * (2 if i % 11 == 3 else 1))]


TRACKS: dict[str, tuple[Callable[[], list[Any]], Any, int, int]] = {
    # codec: encoder, packetizer, clock rate, RTP timestamp base (wraps early)
    "vp8": (lambda: encode_video("libvpx"), Vp8Encoder, 90_000, 2**32 - 45_000),
    "h264": (lambda: encode_video("libx264"), H264Encoder, 90_000, 2**32 - 45_000),
    "opus": (encode_opus, OpusEncoder, 48_000, 2**32 - 24_000),
}


@pytest.fixture(scope="module")
def media() -> dict[str, tuple[list[tuple[bytes, bool]], list[bytes]]]:
    """Per codec: the encoded frames (data, keyframe) and their RTP packets."""
    out = {}
    for codec, (encode, packer, _, base) in TRACKS.items():
        encoded = encode()
        frames = [(bytes(p), bool(p.is_keyframe)) for p in encoded]
        out[codec] = (frames, packetize(encoded, packer(), 65_500, base))
    return out


def record(folder: Path, codec: str, packets: list[bytes]) -> FrameAssembler:
    rate, base = TRACKS[codec][2], TRACKS[codec][3]
    assembler, clock = FrameAssembler(codec, rate), RtpClock(rate)
    clock.sender_report(SR_WALL, base)
    writer = SegmentWriter(folder, f"cam_{codec}", codec, rate, segment_seconds=1.0)
    for i, packet in enumerate(packets):
        for frame in assembler.push(packet, SR_WALL + i / 1000):
            writer.write(frame, clock.wall(frame.timestamp, frame.arrival))
    for frame in assembler.flush():
        writer.write(frame, clock.wall(frame.timestamp, frame.arrival))
    writer.close()
    return assembler


def decode(folder: Path, names: list[str]) -> Iterator[Any]:
    """Every frame of the segments played one after the other (ffmpeg's concat)."""
    listing = folder / "all.ffconcat"
    listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{n}'\n" for n in names))
    with av.open(str(listing), format="concat", options={"safe": "0"}) as container:
        yield from container.decode(container.streams[0])


@pytest.mark.parametrize("codec", ["vp8", "h264", "opus"])
def test_real_media_is_recorded_without_transcoding_and_plays_back(
    tmp_path: Path, codec: str, media: dict[str, tuple[list[tuple[bytes, bool]], list[bytes]]]
) -> None:
    encoded, packets = media[codec]
    assembler = record(tmp_path, codec, packets)
    assert (assembler.lost_packets, assembler.dropped_frames) == (0, 0)
    timeline = SegmentWriter.read_timeline(tmp_path, f"cam_{codec}")
    assert len(timeline) >= 3 and sum(s.frames for s in timeline) == len(encoded)
    assert sum(s.seconds for s in timeline) == pytest.approx(SECONDS, abs=0.05)
    rate, base = TRACKS[codec][2], TRACKS[codec][3]
    assert timeline[0].first_ts % 2**32 == int.from_bytes(packets[0][4:8], "big")
    assert timeline[-1].last_ts > 2**32  # unwrapped across the 32-bit wrap
    for s in timeline:
        assert s.wall == pytest.approx(SR_WALL + (s.first_ts - base) / rate)
        assert s.segment.endswith(".ts" if codec == "h264" else ".mkv")
        with av.open(str(tmp_path / s.segment)) as container:
            assert container.streams[0].codec_context.name == codec  # the source's codec
        packets_in = packets_of(tmp_path / s.segment)
        assert len(packets_in) == s.frames and packets_in[0][1]  # starts with a keyframe
    decoded = list(decode(tmp_path, [s.segment for s in timeline]))
    if codec == "opus":
        assert sum(f.samples for f in decoded) == 960 * len(encoded)
    else:
        assert len(decoded) == len(encoded) == SECONDS * FPS
        assert decoded[-1].time == pytest.approx(SECONDS - 1 / FPS, abs=0.01)


CRASHING_WRITER = """
import pickle, sys, time
from pathlib import Path
from recorder.segments import SegmentWriter
frames = pickle.loads(Path(sys.argv[1]).read_bytes())
writer = SegmentWriter(Path(sys.argv[2]), "cam", "vp8", 90_000, segment_seconds=1.0)
for frame in frames:
    writer.write(frame, 1_700_000_000.0 + frame.timestamp / 90_000)
print(writer.segments_written, flush=True)
time.sleep(60)
"""


def test_kill_9_loses_at_most_the_open_segment_and_a_new_writer_numbers_on(
    tmp_path: Path, media: dict[str, tuple[list[tuple[bytes, bool]], list[bytes]]]
) -> None:
    assembler = FrameAssembler("vp8", 90_000)
    frames = [f for p in media["vp8"][1] for f in assembler.push(p, 0.0)] + assembler.flush()
    assert len(frames) == SECONDS * FPS
    cut = 50  # mid-way through the second 1 s segment
    (tmp_path / "frames.pickle").write_bytes(pickle.dumps(frames[:cut]))
    folder = tmp_path / "recording"
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(tmp_path / "frames.pickle"), str(folder)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    ) as child:  # fmt: skip
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "1"
        finally:
            os.kill(child.pid, signal.SIGKILL)
    assert child.returncode == -signal.SIGKILL
    assert {p.name for p in folder.glob("cam-*")} == {"cam-000000.mkv", "cam-000001.mkv.part"}
    before = SegmentWriter.read_timeline(folder, "cam")
    assert [s.frames for s in before] == [30]

    writer = SegmentWriter(folder, "cam", "vp8", 90_000, segment_seconds=1.0)
    write(writer, frames[cut:])
    writer.close()
    assert not list(folder.glob("*.part"))
    timeline = SegmentWriter.read_timeline(folder, "cam")
    assert timeline[:1] == before
    assert [s.segment for s in timeline] == ["cam-000000.mkv", "cam-000001.mkv"]
    resumed = next(i for i in range(cut, len(frames)) if frames[i].keyframe)
    assert writer.skipped_frames == resumed - cut  # delta frames wait for a keyframe
    lost = len(frames) - sum(s.frames for s in timeline)
    assert lost == resumed - 30 <= FPS * 1 + GOP  # the open segment, up to the next keyframe
    assert len(list(decode(folder, [s.segment for s in timeline]))) == len(frames) - lost
