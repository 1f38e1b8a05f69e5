"""FrameAssembler: fixed packets with known frames (reordering, duplicates, loss, wrap,
VP8 descriptors, H.264 STAP-A/FU-A), aiortc's packetizers, and hypothesis properties."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.frames import Frame, FrameAssembler, h264_depacketize, vp8_depacketize

KEY = b"\x50\x02\x00\x9d\x01\x2a\x40\x01\xf0\x00" + b"K" * 20  # P=0, 320x240
DELTA = b"\x51\x02\x00" + b"D" * 20  # P=1
START = b"\x00\x00\x00\x01"
SPS, PPS = b"\x67\x42\xc0\x1e\xda", b"\x68\xce\x3c\x80"
IDR = b"\x65\x88\x84" + bytes(range(40))
SLICE = b"\x41\x9a\x02" + bytes(range(10))


def rtp(seq: int, ts: int, payload: bytes, marker: bool = False) -> bytes:
    second = 96 | (0x80 if marker else 0)
    return struct.pack("!BBHII", 0x80, second, seq & 0xFFFF, ts % 2**32, 7) + payload


def descriptor(start: bool, *, pid: int | None = None, wide: bool = False, tl0: bool = False,
               tk: bool = False) -> bytes:  # fmt: skip
    """A VP8 payload descriptor (RFC 7741 §4.2) with the optional fields asked for."""
    first = 0x10 if start else 0
    if pid is None and not tl0 and not tk:
        return bytes([first])
    ext = (0x80 if pid is not None else 0) | (0x40 if tl0 else 0) | (0x30 if tk else 0)
    out = bytes([first | 0x80, ext])
    if pid is not None:
        out += struct.pack("!H", 0x8000 | pid) if wide else bytes([pid & 0x7F])
    if tl0:
        out += b"\x05"
    if tk:
        out += b"\xa3"
    return out


def vp8_packets(seq: int, ts: int, data: bytes, parts: int = 3, **fields: Any) -> list[bytes]:
    size = -(-len(data) // parts)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    return [
        rtp(seq + i, ts, descriptor(i == 0, **fields) + chunk, marker=i == len(chunks) - 1)
        for i, chunk in enumerate(chunks)
    ]


def stream(kinds: str, seq: int = 1000, ts: int = 90_000, step: int = 3000) -> list[list[bytes]]:
    """VP8 frames, ``K`` for a keyframe and ``D`` for a delta: each a list of packets."""
    frames = []
    for kind in kinds:
        frames.append(vp8_packets(seq, ts, KEY if kind == "K" else DELTA))
        seq += len(frames[-1])
        ts += step
    return frames


def feed(assembler: FrameAssembler, packets: list[bytes]) -> list[Frame]:
    out: list[Frame] = []
    for i, packet in enumerate(packets):
        out += assembler.push(packet, 1000.0 + i / 100)
    return out + assembler.flush()


@pytest.mark.parametrize(
    "fields",
    [{}, {"pid": 17}, {"pid": 0x1234, "wide": True}, {"tl0": True}, {"tk": True},
     {"pid": 0x7ABC, "wide": True, "tl0": True, "tk": True}],
)  # fmt: skip
def test_vp8_frame_is_the_payloads_without_their_descriptors(fields: dict[str, int]) -> None:
    assembler = FrameAssembler("vp8", 90_000)
    frames = feed(assembler, vp8_packets(10, 1234, KEY, **fields) + vp8_packets(13, 4234, DELTA))
    assert [(f.data, f.timestamp, f.keyframe) for f in frames] == [
        (KEY, 1234, True),
        (DELTA, 4234, False),
    ]
    assert frames[0].arrival == 1000.0
    assert (assembler.dropped_frames, assembler.lost_packets) == (0, 0)


def test_vp8_descriptor_that_runs_past_the_packet_is_malformed() -> None:
    assert vp8_depacketize(b"\x90\x80\x85\x01xy") == b"xy"
    assembler = FrameAssembler("vp8", 90_000)
    assert feed(assembler, [rtp(1, 0, b"\x90\x80\x85", marker=True)]) == []
    assert assembler.malformed_packets == 1 and assembler.dropped_frames == 1


def test_reordered_packets_within_the_window_give_the_frames_in_order() -> None:
    packets = [p for frame in stream("KDDKD") for p in frame]
    shuffled = [packets[0], packets[2], packets[5], packets[1], packets[4], packets[3]]
    shuffled += list(reversed(packets[6:]))
    frames = feed(FrameAssembler("vp8", 90_000), shuffled)
    assert [f.timestamp for f in frames] == [90_000, 93_000, 96_000, 99_000, 102_000]
    assert [f.data for f in frames] == [KEY, DELTA, DELTA, KEY, DELTA]


def test_a_frame_is_returned_by_the_push_that_completes_it() -> None:
    assembler = FrameAssembler("vp8", 90_000)
    first, second, third = vp8_packets(1, 0, KEY)
    assert assembler.push(first, 1.0) == []
    assert assembler.push(third, 1.1) == []  # the middle one is missing yet
    assert [f.data for f in assembler.push(second, 1.2)] == [KEY]


def test_duplicates_are_ignored() -> None:
    packets = [p for frame in stream("KDD") for p in frame]
    assembler = FrameAssembler("vp8", 90_000)
    frames = feed(assembler, [p for packet in packets for p in (packet, packet)] + packets[:3])
    assert [f.data for f in frames] == [KEY, DELTA, DELTA]
    assert (assembler.dropped_frames, assembler.lost_packets) == (0, 0)


def test_loss_drops_the_frame_and_what_follows_until_a_keyframe() -> None:
    frames = stream("KDDDKD")
    del frames[1][1]  # the middle packet of the first delta frame
    assembler = FrameAssembler("vp8", 90_000, reorder_window=4)
    out = feed(assembler, [p for frame in frames for p in frame])
    assert [f.timestamp for f in out] == [90_000, 102_000, 105_000]
    assert [f.keyframe for f in out] == [True, True, False]
    assert assembler.lost_packets == 1
    assert assembler.dropped_frames == 3  # the incomplete one, then two deltas


def test_a_frame_whose_first_packet_is_lost_is_not_taken_for_whole() -> None:
    frames = stream("KKD")
    del frames[1][0]  # the keyframe's start (S=1) is gone, the rest looks complete
    assembler = FrameAssembler("vp8", 90_000, reorder_window=2)
    out = feed(assembler, [p for frame in frames for p in frame])
    assert [f.timestamp for f in out] == [90_000]
    assert assembler.dropped_frames == 2 and assembler.lost_packets == 1


def test_sequence_and_timestamp_wrap_around() -> None:
    ts = 2**32 - 3000
    frames = stream("KDDD", seq=65533, ts=ts)  # sequence 65533 .. 65535, 0 .. 8
    out = feed(FrameAssembler("vp8", 90_000), [p for frame in frames for p in frame])
    assert [f.timestamp for f in out] == [ts, ts + 3000, ts + 6000, ts + 9000]
    assert out[1].timestamp == 2**32  # unwrapped: still congruent to the wire value


def test_missing_marker_ends_a_frame_when_the_timestamp_changes() -> None:
    first = vp8_packets(1, 0, KEY, parts=1)[0]
    unmarked = first[:1] + bytes([first[1] & 0x7F]) + first[2:]
    out = feed(FrameAssembler("vp8", 90_000), [unmarked, *vp8_packets(2, 3000, DELTA)])
    assert [f.data for f in out] == [KEY, DELTA]


def test_padding_only_packets_hold_a_sequence_number_and_nothing_else() -> None:
    padding = bytearray(rtp(4, 0, b"\x00\x00\x00\x04"))
    padding[0] |= 0x20
    assembler = FrameAssembler("vp8", 90_000, reorder_window=2)
    out = feed(assembler, [*vp8_packets(1, 0, KEY), bytes(padding), *vp8_packets(5, 3000, DELTA)])
    assert [f.data for f in out] == [KEY, DELTA]
    assert (assembler.lost_packets, assembler.dropped_frames) == (0, 0)


def test_csrcs_header_extensions_and_padding_are_not_payload() -> None:
    """RFC 3550 §5.1 and RFC 8285: the payload starts after the CSRCs and the extension
    block, and ends before the padding (its last byte counts it)."""
    plain = vp8_packets(1, 0, KEY, parts=1)[0]
    extension = struct.pack("!HH", 0xBEDE, 2) + b"\x10\x05\x22\x01\x02\x03\x00\x00"
    framed = bytes([0x80 | 0x20 | 0x10 | 2]) + plain[1:12] + b"\x00\x00\x00\x01" * 2
    framed += extension + plain[12:] + b"\x00\x00\x03"
    cut_short = framed[:14]  # two CSRCs announced, half of one there
    assembler = FrameAssembler("vp8", 90_000)
    assert [f.data for f in feed(assembler, [cut_short, framed])] == [KEY]
    assert assembler.malformed_packets == 1


def test_h264_stap_a_fu_a_and_single_nal_units_become_annex_b() -> None:
    stap = bytes([0x78]) + b"".join(struct.pack("!H", len(n)) + n for n in (SPS, PPS))
    fu = [bytes([0x7C, 0x85]) + IDR[1:15], bytes([0x7C, 0x05]) + IDR[15:30],
          bytes([0x7C, 0x45]) + IDR[30:]]  # fmt: skip
    packets = [rtp(7, 500, stap)] + [rtp(8 + i, 500, p, marker=i == 2) for i, p in enumerate(fu)]
    packets.append(rtp(11, 3500, SLICE, marker=True))
    assembler = FrameAssembler("h264", 90_000)
    out = feed(assembler, packets)
    assert [(f.data, f.keyframe) for f in out] == [
        (START + SPS + START + PPS + START + IDR, True),
        (START + SLICE, False),
    ]


def test_an_h264_keyframe_that_lost_its_parameter_sets_waits_for_the_next() -> None:
    stap = bytes([0x78]) + b"".join(struct.pack("!H", len(n)) + n for n in (SPS, PPS))
    fu = [bytes([0x7C, 0x85]) + IDR[1:20], bytes([0x7C, 0x45]) + IDR[20:]]
    packets = []
    for i, ts in enumerate((0, 3000, 6000)):  # keyframes: SPS+PPS, the IDR in two pieces
        packets += [rtp(1 + 3 * i, ts, stap), rtp(2 + 3 * i, ts, fu[0])]
        packets.append(rtp(3 + 3 * i, ts, fu[1], marker=True))
    del packets[3]  # the second STAP-A is lost: an IDR slice alone looks whole
    assembler = FrameAssembler("h264", 90_000, reorder_window=2)
    out = feed(assembler, packets)
    assert [f.timestamp for f in out] == [0, 6000]
    assert out[1].data == START + SPS + START + PPS + START + IDR
    assert (assembler.lost_packets, assembler.dropped_frames) == (1, 1)


@pytest.mark.parametrize(
    "payloads",
    [[bytes([0x7C, 0x05]) + b"xx"],  # an FU-A continuation never started
     [bytes([0x7C, 0x85]) + b"xx"],  # an FU-A never ended
     [bytes([0x78, 0x00, 0x09]) + SPS],  # a STAP-A unit longer than the packet
     [bytes([0x79]) + SPS]],  # STAP-B: not in packetization mode 1
)  # fmt: skip
def test_h264_payloads_that_break_rfc_6184_are_refused(payloads: list[bytes]) -> None:
    from media.errors import MalformedPacket

    with pytest.raises(MalformedPacket):
        h264_depacketize(payloads)
    assembler = FrameAssembler("h264", 90_000)
    packets = [rtp(1, 0, SPS), rtp(2, 0, IDR, marker=True)]
    packets += [rtp(3 + i, 3000, p, marker=i == len(payloads) - 1) for i, p in enumerate(payloads)]
    assert [f.timestamp for f in feed(assembler, packets)] == [0]
    assert assembler.malformed_packets == 1 and assembler.dropped_frames == 1


def test_opus_packets_are_frames_and_loss_drops_nothing_else() -> None:
    packets = [rtp(100 + i, 960 * i, bytes([0xFC, i])) for i in range(6)]
    assembler = FrameAssembler("opus", 48_000, reorder_window=2)
    out = feed(assembler, [packets[0], packets[2], packets[1], packets[4], packets[5]])
    assert [(f.timestamp, f.keyframe) for f in out] == [(0, True), (960, True), (1920, True),
                                                        (3840, True), (4800, True)]  # fmt: skip
    assert (assembler.lost_packets, assembler.dropped_frames) == (1, 0)


def test_a_restarted_sequence_is_followed_after_two_packets_in_a_row() -> None:
    assembler = FrameAssembler("vp8", 90_000)
    out = feed(assembler, stream("KD")[0] + stream("K", seq=40_000, ts=5)[0][:1])
    assert [f.timestamp for f in out] == [90_000]  # one far-off packet is a stray
    assembler = FrameAssembler("vp8", 90_000)
    out = feed(assembler, [p for f in stream("KD") + stream("KD", seq=40_000, ts=5) for p in f])
    assert [f.data for f in out] == [KEY, DELTA, KEY, DELTA]
    assert [f.timestamp % 2**32 for f in out] == [90_000, 93_000, 5, 3005]
    assert out[1].timestamp < out[2].timestamp  # still increasing across the restart


def test_aiortc_packetized_vp8_and_h264_come_back_whole() -> None:
    import fractions
    import random

    import av
    from aiortc.codecs.h264 import H264Encoder
    from aiortc.codecs.vpx import Vp8Encoder

    for codec, packer in (("libvpx", Vp8Encoder()), ("libx264", H264Encoder())):
        context: Any = av.CodecContext.create(codec, "w")
        context.width, context.height, context.pix_fmt = 320, 240, "yuv420p"
        context.time_base = fractions.Fraction(1, 90_000)
        context.framerate = fractions.Fraction(30)
        encoded = []
        for i in range(10):
            picture = av.VideoFrame(320, 240, "yuv420p")
            for plane in picture.planes:  # noise: big frames, split into FU-A units
                plane.update(random.Random(i).randbytes(plane.buffer_size))
            picture.pts = i * 3000
            encoded += context.encode(picture)
        encoded += context.encode(None)
        assembler = FrameAssembler("vp8" if codec == "libvpx" else "h264", 90_000)
        sequence, packets = 65530, []
        for packet in encoded:
            payloads, timestamp = packer.pack(packet)
            for i, payload in enumerate(payloads):
                packets.append(rtp(sequence, timestamp, payload, marker=i == len(payloads) - 1))
                sequence += 1
        out = feed(assembler, packets)
        assert len(out) == len(encoded) and out[0].keyframe
        for frame, packet in zip(out, encoded, strict=True):
            if codec == "libvpx":
                assert frame.data == bytes(packet)
            else:
                assert _nal_units(frame.data) == _nal_units(bytes(packet))
            assert frame.keyframe == packet.is_keyframe


def _nal_units(annex_b: bytes) -> list[bytes]:
    return [unit.strip(b"\x00") for unit in annex_b.split(b"\x00\x00\x01") if unit.strip(b"\x00")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=30), st.sampled_from(["vp8", "h264", "opus"]))
def test_random_bytes_never_raise(datagrams: list[bytes], codec: str) -> None:
    assembler = FrameAssembler(codec, 90_000, reorder_window=4)
    for i, data in enumerate(datagrams):
        headed = rtp(i, 0, b"")[:2] + data if i % 2 else data  # half of them parse as RTP
        assembler.push(headed, 0.0)
    assembler.flush()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_order_within_the_window_yields_the_same_frames(data: st.DataObject) -> None:
    kinds = data.draw(st.text(alphabet="KD", min_size=1, max_size=12), label="frames")
    packets = [p for frame in stream("K" + kinds, seq=65500, ts=2**32 - 6000) for p in frame]
    window = 8
    delays = data.draw(st.lists(st.integers(0, window - 1), min_size=len(packets),
                                max_size=len(packets)))  # fmt: skip
    order = [0] + sorted(range(1, len(packets)), key=lambda i: i + delays[i])
    repeats = data.draw(st.lists(st.sampled_from(order), max_size=5), label="duplicates")
    arrivals = [packets[i] for i in order] + [packets[i] for i in repeats]
    expected = feed(FrameAssembler("vp8", 90_000, window), packets)
    assembler = FrameAssembler("vp8", 90_000, window)
    got = feed(assembler, arrivals)
    assert [(f.data, f.timestamp, f.keyframe) for f in got] == [
        (f.data, f.timestamp, f.keyframe) for f in expected
    ]
    assert (assembler.lost_packets, assembler.dropped_frames) == (0, 0)
    assert len(got) == len(kinds) + 1
