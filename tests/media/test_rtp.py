"""RTP/RTCP parsing, header templates, keyframes: fixed inputs and hypothesis fuzzing."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.errors import MalformedPacket
from media.rtp import rtcp
from media.rtp.header import (
    ExtensionIds,
    OutboundTemplate,
    is_rtcp,
    parse_rtp,
    rtx_payload,
    unwrap_rtx,
)
from media.rtp.keyframe import h264_starts_keyframe, starts_keyframe, vp8_starts_keyframe


def rtp(
    seq: int = 1,
    ts: int = 1000,
    ssrc: int = 42,
    pt: int = 96,
    marker: bool = False,
    payload: bytes = b"\x10\x00\x00",
    ext: bytes = b"",
) -> bytes:
    first = 0x80 | (0x10 if ext else 0)
    header = struct.pack("!BBHII", first, pt | (0x80 if marker else 0), seq, ts, ssrc)
    if ext:
        header += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    return header + payload


def test_parse_header_fields_and_one_byte_extensions() -> None:
    ext = bytes([0x12, 1, 2, 3, 0x30, 9, 0, 0])  # id 1 (3 bytes), id 3 (1 byte), padding
    header = parse_rtp(rtp(seq=65535, ts=2**32 - 1, ssrc=7, pt=111, marker=True, ext=ext))
    assert (header.sequence, header.timestamp, header.ssrc, header.payload_type) == (
        65535,
        2**32 - 1,
        7,
        111,
    )
    assert header.marker
    assert header.extensions == {1: b"\x01\x02\x03", 3: b"\x09"}
    assert header.payload_start == 12 + 4 + 8


def test_padding_is_excluded_from_the_payload() -> None:
    data = bytearray(rtp(payload=b"abcd" + b"\x00\x00\x03"))
    data[0] |= 0x20
    header = parse_rtp(bytes(data))
    assert data[header.payload_start : header.payload_end] == b"abcd"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80" * 11,
        b"\x40" + b"\x00" * 15,
        b"\x8f" + b"\x00" * 20,
        b"\x90\x60" + b"\x00" * 10 + b"\xbe\xde\x00\x09",
    ],
)
def test_malformed_rtp_is_refused(data: bytes) -> None:
    with pytest.raises(MalformedPacket):
        parse_rtp(data)


@given(st.binary(max_size=200))
def test_rtp_parser_never_raises_anything_but_malformed(data: bytes) -> None:
    try:
        header = parse_rtp(data)
    except MalformedPacket:
        return
    assert 12 <= header.payload_start <= header.payload_end <= len(data)


@given(st.binary(max_size=300))
def test_rtcp_parser_never_raises_anything_but_malformed(data: bytes) -> None:
    try:
        rtcp.parse_rtcp(data)
    except MalformedPacket:
        pass


def test_rtp_and_rtcp_are_told_apart() -> None:
    assert not is_rtcp(rtp(pt=96))
    assert is_rtcp(rtcp.picture_loss(1, 2))


def test_template_renders_each_subscribers_header() -> None:
    template = OutboundTemplate(b"PAYLOAD", True, ExtensionIds(abs_send_time=3), None)
    out = template.render(100, 5, 77, 0xDEADBEEF, 0xABCDEF)
    header = parse_rtp(bytes(out))
    assert (header.payload_type, header.sequence, header.timestamp, header.ssrc) == (
        100,
        5,
        77,
        0xDEADBEEF,
    )
    assert header.marker
    assert header.extensions == {3: b"\xab\xcd\xef"}
    assert out[header.payload_start : header.payload_end] == b"PAYLOAD"
    plain = OutboundTemplate(b"X", False, ExtensionIds(), None).render(96, 1, 2, 3, 0)
    assert len(plain) == 13 and not parse_rtp(bytes(plain)).marker


def test_template_overwrites_what_the_buffer_held_before() -> None:
    """The send path renders into the SRTP buffer that still holds the last packet."""
    ids = ExtensionIds(abs_send_time=2, audio_level=5)
    template = OutboundTemplate(b"OPUS", False, ids, b"\x9a")
    buffer = bytearray(b"\xff" * 1500)
    size = template.render_into(memoryview(buffer), 111, 65535, 2**32 - 1, 7, 0x1_ABCDEF)
    assert size == template.size == len(template.data)
    assert buffer[size:] == b"\xff" * (1500 - size)
    header = parse_rtp(bytes(buffer[:size]))
    assert (header.marker, header.payload_type, header.sequence, header.timestamp) == (
        False,
        111,
        65535,
        2**32 - 1,
    )
    assert header.ssrc == 7
    assert header.extensions == {2: b"\xab\xcd\xef", 5: b"\x9a"}  # 24 bits of send time
    assert bytes(buffer[header.payload_start : header.payload_end]) == b"OPUS"
    assert bytes(buffer[:size]) == template.render(111, 65535, 2**32 - 1, 7, 0xABCDEF)


def test_rtx_round_trip() -> None:
    assert unwrap_rtx(rtx_payload(4242, b"data")) == (4242, b"data")
    with pytest.raises(MalformedPacket):
        unwrap_rtx(b"\x01")


def test_rtcp_builders_parse_back() -> None:
    lost = [10, 11, 13, 26, 27, 65535, 0]
    packets = rtcp.parse_rtcp(
        rtcp.sender_report(rtcp.SenderReport(1, (5 << 32) | 7, 900, 3, 300))
        + rtcp.receiver_report(
            rtcp.ReceiverReport(2, (rtcp.ReportBlock(9, 64, -3, 70000, 12, 5, 6),))
        )
        + rtcp.nack(3, 4, lost)
        + rtcp.picture_loss(5, 6)
        + rtcp.remb(7, 1_500_000, [8, 9])
        + rtcp.bye(10)
    )
    sr, rr, nack, pli, remb, bye = packets
    assert isinstance(sr, rtcp.SenderReport) and sr.ntp == (5 << 32) | 7 and sr.rtp_timestamp == 900
    assert isinstance(rr, rtcp.ReceiverReport) and rr.reports[0].packets_lost == -3
    assert rr.reports[0].fraction_lost == 64 and rr.reports[0].highest_sequence == 70000
    assert isinstance(nack, rtcp.Nack) and sorted(nack.lost) == sorted(lost)
    assert isinstance(pli, rtcp.PictureLoss) and pli.media_ssrc == 6 and not pli.full
    assert isinstance(remb, rtcp.Remb) and remb.ssrcs == (8, 9)
    assert abs(remb.bitrate - 1_500_000) / 1_500_000 < 0.001
    assert isinstance(bye, rtcp.Bye) and bye.sources == (10,)


def test_fir_is_a_keyframe_request_for_its_target() -> None:
    body = struct.pack("!IIIB3x", 1, 0, 77, 1)
    packet = struct.pack("!BBH", 0x84, rtcp.PSFB, len(body) // 4) + body
    (fir,) = rtcp.parse_rtcp(packet)
    assert isinstance(fir, rtcp.PictureLoss) and fir.full and fir.media_ssrc == 77


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (bytes([0x10, 0x00]), True),  # S=1, PID 0, P=0: key frame
        (bytes([0x10, 0x01]), False),  # P=1: inter frame
        (bytes([0x00, 0x00]), False),  # not the start of a partition
        (bytes([0x90, 0x80, 0x81, 0x02, 0x00]), True),  # X, I with a 15-bit picture id
        (bytes([0x90, 0xE0, 0x05, 0x01, 0x00, 0x00]), True),  # I (7 bit), L, T
        (bytes([0x90, 0x80]), False),  # truncated
    ],
)
def test_vp8_keyframes(payload: bytes, key: bool) -> None:
    assert vp8_starts_keyframe(payload) is key


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (bytes([0x67, 0x42]), True),  # SPS
        (bytes([0x65, 0x88]), True),  # IDR slice
        (bytes([0x41, 0x9A]), False),  # non-IDR slice
        (bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]), True),  # STAP-A with SPS
        (bytes([0x78, 0x00, 0x02, 0x68, 0xCE]), False),  # STAP-A with PPS only
        (bytes([0x7C, 0x85, 0x00]), True),  # FU-A start of IDR
        (bytes([0x7C, 0x05, 0x00]), False),  # FU-A continuation
        (bytes([0x7C, 0x81, 0x00]), False),  # FU-A start of non-IDR
    ],
)
def test_h264_keyframes(payload: bytes, key: bool) -> None:
    assert h264_starts_keyframe(payload) is key


def test_audio_packets_are_always_switching_points() -> None:
    assert starts_keyframe("opus", b"\x01")


@given(st.binary(max_size=40))
def test_keyframe_detection_never_raises(payload: bytes) -> None:
    vp8_starts_keyframe(payload)
    h264_starts_keyframe(payload)


def test_answers_ask_opus_senders_for_in_band_fec() -> None:
    from media.aiortc_tap import with_opus_fec

    sdp = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 96\r\na=rtpmap:111 opus/48000/2\r\n"
        "a=fmtp:111 minptime=10\r\na=rtpmap:96 opus/48000/2\r\n"
    )
    out = with_opus_fec(sdp)
    assert "a=fmtp:111 minptime=10;useinbandfec=1" in out
    assert "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1" in out
    assert with_opus_fec(out) == out
