"""RTP fixed header and header extensions (RFC 3550 §5.1, RFC 8285).

``parse_rtp`` validates a datagram once on arrival; ``OutboundTemplate`` builds the
bytes every subscriber gets, so that per subscriber only the payload type, sequence
number, timestamp and SSRC are patched in place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from media.errors import MalformedPacket

_FIXED = struct.Struct("!BBHII")
_EXT_HEAD = struct.Struct("!HH")
# From byte 1 on: marker and payload type, sequence, timestamp, SSRC, and (with
# abs-send-time, always the first element) the extension head and that element: what
# changes per subscriber, written with one call.
_SUBSCRIBER_FIELDS = struct.Struct("!BHII")
_SUBSCRIBER_FIELDS_ABS = struct.Struct("!BHIIHHI")
ONE_BYTE_PROFILE = 0xBEDE


@dataclass(frozen=True, slots=True)
class RtpHeader:
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload_start: int
    payload_end: int
    extensions: dict[int, bytes]


def is_rtcp(data: bytes | bytearray) -> bool:
    """RTP and RTCP multiplexed on one port are told apart by the second byte (RFC 5761)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpHeader:
    """Parse and validate an RTP packet header; raises :class:`MalformedPacket`."""
    size = len(data)
    if size < 12:
        raise MalformedPacket("RTP packet shorter than 12 bytes")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != 2:
        raise MalformedPacket("RTP version is not 2")
    offset = 12 + 4 * (first & 0x0F)
    if size < offset:
        raise MalformedPacket("RTP CSRC list runs past the packet")
    extensions: dict[int, bytes] = {}
    if first & 0x10:
        if size < offset + 4:
            raise MalformedPacket("RTP extension header runs past the packet")
        profile, words = _EXT_HEAD.unpack_from(data, offset)
        offset += 4
        end = offset + 4 * words
        if size < end:
            raise MalformedPacket("RTP extension runs past the packet")
        if profile == ONE_BYTE_PROFILE:
            _one_byte_extensions(data, offset, end, extensions)
        elif profile & 0xFFF0 == 0x1000:
            _two_byte_extensions(data, offset, end, extensions)
        offset = end
    payload_end = size
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or offset + padding > size:
            raise MalformedPacket("RTP padding length is invalid")
        payload_end = size - padding
    return RtpHeader(
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload_start=offset,
        payload_end=payload_end,
        extensions=extensions,
    )


def _one_byte_extensions(data: bytes, pos: int, end: int, out: dict[int, bytes]) -> None:
    while pos < end:
        byte = data[pos]
        if byte == 0:  # padding between elements
            pos += 1
            continue
        ext_id, length = byte >> 4, (byte & 0x0F) + 1
        if ext_id == 15:  # reserved: stop parsing (RFC 8285 §4.2)
            return
        pos += 1
        if pos + length > end:
            raise MalformedPacket("RTP one-byte extension runs past its block")
        out[ext_id] = bytes(data[pos : pos + length])
        pos += length


def _two_byte_extensions(data: bytes, pos: int, end: int, out: dict[int, bytes]) -> None:
    while pos < end:
        ext_id = data[pos]
        if ext_id == 0:
            pos += 1
            continue
        if pos + 2 > end:
            raise MalformedPacket("RTP two-byte extension header runs past its block")
        length = data[pos + 1]
        pos += 2
        if pos + length > end:
            raise MalformedPacket("RTP two-byte extension runs past its block")
        out[ext_id] = bytes(data[pos : pos + length])
        pos += length


@dataclass(frozen=True, slots=True)
class ExtensionIds:
    """Header extension ids a subscriber negotiated (0 = not negotiated)."""

    abs_send_time: int = 0
    audio_level: int = 0


def abs_send_time(now_ms: float) -> int:
    """24-bit 6.18 fixed-point seconds (webrtc abs-send-time)."""
    return int(now_ms * 262.144) & 0xFFFFFF


class OutboundTemplate:
    """The outgoing bytes of one forwarded packet for one set of extension ids.

    ``render`` copies the template and patches the header fields of one subscriber;
    everything else (payload, extensions) is shared.
    """

    __slots__ = ("data", "size", "abs_send_time_offset", "_marker", "_ext_words", "_abs_head")

    def __init__(
        self,
        payload: bytes | memoryview,
        marker: bool,
        ids: ExtensionIds,
        audio_level: bytes | None,
    ) -> None:
        elements = bytearray()
        abs_offset = -1
        if ids.abs_send_time:
            abs_offset = 16 + len(elements) + 1
            elements += bytes([(ids.abs_send_time << 4) | 2, 0, 0, 0])
        if ids.audio_level and audio_level:
            elements += bytes([(ids.audio_level << 4) | 0]) + audio_level[:1]
        header = bytearray(12)
        header[0] = 0x80
        header[1] = 0x80 if marker else 0
        if elements:
            header[0] |= 0x10
            while len(elements) % 4:
                elements.append(0)
            header += _EXT_HEAD.pack(ONE_BYTE_PROFILE, len(elements) // 4) + elements
        self.data = bytes(header) + bytes(payload)
        self.size = len(self.data)
        self.abs_send_time_offset = abs_offset
        self._marker = 0x80 if marker else 0
        self._ext_words = len(elements) // 4
        self._abs_head = ((ids.abs_send_time << 4) | 2) << 24

    def render(
        self, payload_type: int, sequence: int, timestamp: int, ssrc: int, send_time: int
    ) -> bytearray:
        out = bytearray(len(self.data))
        self.render_into(out, payload_type, sequence, timestamp, ssrc, send_time)
        return out

    def render_into(
        self,
        buffer: bytearray | memoryview,
        payload_type: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        send_time: int,
    ) -> int:
        """Write the packet for one subscriber into ``buffer``; returns its length.

        Runs once per packet per subscriber: one copy and one ``pack_into``."""
        size = self.size
        buffer[:size] = self.data
        if self.abs_send_time_offset < 0:
            _SUBSCRIBER_FIELDS.pack_into(
                buffer, 1, self._marker | payload_type, sequence, timestamp, ssrc
            )
        else:
            _SUBSCRIBER_FIELDS_ABS.pack_into(
                buffer,
                1,
                self._marker | payload_type,
                sequence,
                timestamp,
                ssrc,
                ONE_BYTE_PROFILE,
                self._ext_words,
                self._abs_head | (send_time & 0xFFFFFF),
            )
        return size


def rtx_payload(original_sequence: int, payload: bytes | memoryview) -> bytes:
    """RTX payload: the original sequence number, then the original payload (RFC 4588)."""
    return struct.pack("!H", original_sequence) + bytes(payload)


def unwrap_rtx(payload: bytes | memoryview) -> tuple[int, bytes]:
    """The original sequence number and payload of an RTX packet."""
    if len(payload) < 2:
        raise MalformedPacket("RTX payload shorter than 2 bytes")
    return struct.unpack_from("!H", payload)[0], bytes(payload[2:])
