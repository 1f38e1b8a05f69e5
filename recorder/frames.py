"""Encoded frames from the RTP packets of one track: reordering, loss, depacketization.

``FrameAssembler.push(packet, arrival)`` takes one SRTP-decrypted RTP packet and returns
the frames it completes, in sequence order. A video frame is every packet of one RTP
timestamp up to the marker bit, with no sequence gap, and a known start: the packet
before it ended a frame, or its payload opens one (VP8 S=1 of partition 0, RFC 7741
§4.2; an H.264 access unit opening with SEI, SPS, PPS or AUD, H.264 §7.4.1.2.3). An
audio packet is a frame. Pure: no I/O, time is an argument.

Loss: a gap is waited for while fewer than ``reorder_window`` newer packets have come,
then counted in ``lost_packets``; a frame left incomplete is dropped and, because a
decoder cannot use what follows, so is every video frame up to the next keyframe
(``dropped_frames``). Packets that do not parse, or payloads that break their RFC, are
counted in ``malformed_packets``, and so is a lone packet far out of sequence; two in a
row mean the sender restarted (RFC 3550 A.1). The stream starts at the first packet
received: older ones are late and ignored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from media.errors import MalformedPacket
from media.rtp.keyframe import H264_FU_A, H264_IDR, H264_STAP_A, vp8_starts_keyframe

VIDEO = frozenset({"vp8", "h264"})
AUDIO = frozenset({"opus"})
MAX_DROPOUT = 3000  # RFC 3550 A.1: a bigger jump is a restart, believed on its 2nd packet
START_CODE = b"\x00\x00\x00\x01"
_H264_OPENERS = frozenset({6, 7, 8, 9})  # SEI, SPS, PPS, AUD lead an access unit
_FU_A_OPENERS = frozenset(0x80 | nal for nal in _H264_OPENERS)  # S bit and the NAL type


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame. ``data``: VP8 without payload descriptors; H.264 an Annex-B
    access unit; Opus the packet. ``timestamp``: the RTP timestamp, unwrapped (it stays
    equal to the wire value modulo 2**32). ``arrival``: wall-clock seconds (UTC epoch)
    of the frame's first packet to arrive."""

    data: bytes
    timestamp: int
    keyframe: bool
    arrival: float


# A packet held until its frame is complete: (timestamp, marker, payload, arrival). A tuple,
# not a dataclass: it is made for every packet, and a frozen dataclass costs 20 times more.
# An empty payload is padding only: it holds its sequence number and nothing else.
_Held = tuple[int, bool, bytes, float]
_HEAD = struct.Struct("!BBHI")  # V/P/X/CC, M/PT, sequence number, timestamp
_WORDS = struct.Struct("!H")


def unwrap(value: int, reference: int, bits: int) -> int:
    """The extended value congruent to ``value`` modulo 2**bits nearest ``reference``."""
    half = 1 << (bits - 1)
    return reference + ((value - reference + half) % (1 << bits)) - half


class FrameAssembler:
    """Frames of one RTP stream (one SSRC) of ``codec``: ``vp8``, ``h264`` or ``opus``."""

    def __init__(self, codec: str, clock_rate: int, reorder_window: int = 64) -> None:
        name = codec.lower()
        if name not in VIDEO | AUDIO:
            raise ValueError(f"cannot assemble frames of {codec!r}")
        if reorder_window < 1 or clock_rate < 1:
            raise ValueError("reorder_window and clock_rate must be positive")
        self.codec = name
        self.clock_rate = clock_rate
        self.reorder_window = reorder_window
        self.dropped_frames = 0
        self.lost_packets = 0
        self.malformed_packets = 0
        self._video = name in VIDEO
        self._buffer: dict[int, _Held] = {}  # extended sequence number -> packet
        self._next: int | None = None  # oldest sequence number not yet resolved
        self._highest = 0  # newest sequence number, and the timestamp it carried
        self._timestamp = 0
        self._last_emitted: int | None = None
        self._last_dropped: int | None = None
        self._stray: tuple[int, bytes, float] | None = None  # sequence, packet, arrival
        self._boundary = False  # did the last resolved packet end a frame we received?
        self._need_keyframe = self._video
        # the frame at the oldest sequence number, as far as it has come: see _run
        self._scan: tuple[int, list[_Held], int] | None = None

    def push(self, packet: bytes, arrival: float) -> list[Frame]:
        """Add one whole RTP packet; return the frames it completes, in order."""
        try:
            marker, wire_sequence, wire_timestamp, start, end = rtp_payload(packet)
        except MalformedPacket:
            self.malformed_packets += 1
            return []
        if self._next is None:
            self._restart(wire_sequence, wire_timestamp)
        highest = self._highest
        sequence = highest + ((wire_sequence - highest + 0x8000) & 0xFFFF) - 0x8000  # unwrap
        stray, self._stray = self._stray, None
        if abs(sequence - highest) > MAX_DROPOUT:
            if stray is None or wire_sequence != (stray[0] + 1) & 0xFFFF:
                self.malformed_packets += stray is not None
                self._stray = (wire_sequence, packet, arrival)
                return []  # held: one far-off packet may be a stray
            frames = self.flush()  # two in a row: the sender restarted (RFC 3550 A.1)
            self._next = None
            return frames + self.push(stray[1], stray[2]) + self.push(packet, arrival)
        self.malformed_packets += stray is not None
        assert self._next is not None
        if sequence < self._next or sequence in self._buffer:
            return []  # a duplicate, or too late: already counted as lost
        last = self._timestamp
        timestamp = last + ((wire_timestamp - last + 0x8000_0000) & 0xFFFF_FFFF) - 0x8000_0000
        held = (timestamp, marker, bytes(packet[start:end]), arrival)
        self._buffer[sequence] = held
        if sequence > highest:
            self._highest, self._timestamp = sequence, timestamp
            scan = self._scan
            if (
                scan is not None
                and scan[2] == sequence
                and scan[0] == self._next
                and self._video
                and not marker
                and held[2]
                and timestamp == scan[1][0][0]
            ):  # in order, inside the frame being gathered: _drain would only add it
                scan[1].append(held)
                self._scan = (scan[0], scan[1], sequence + 1)
                return []
        return self._drain(final=False)

    def flush(self) -> list[Frame]:
        """At the end: the complete frames still held; the rest count as lost/dropped."""
        return self._drain(final=True)

    def _restart(self, sequence: int, timestamp: int) -> None:
        self._next = self._highest = sequence
        last = self._last_emitted  # after a restart, timestamps go on increasing
        extended = timestamp if last is None else unwrap(timestamp, last, 32)
        if last is not None and extended <= last:
            extended += 1 << 32
        self._timestamp = extended
        self._boundary = False
        self._need_keyframe = self._video
        self._scan = None

    def _drain(self, final: bool) -> list[Frame]:
        frames: list[Frame] = []
        while self._next is not None and self._buffer:
            start = self._next
            if start not in self._buffer:  # a gap: wait for it within the window
                if not final and self._highest - start < self.reorder_window:
                    break
                following = min(self._buffer)
                self.lost_packets += following - start
                self._next = following
                self._lose()
                continue
            run, end, complete = self._run(start)
            if not run:  # padding only: it takes a sequence number, nothing else
                del self._buffer[start]
                self._next = start + 1
                continue
            if not complete:
                if not final and self._highest - end < self.reorder_window:
                    break
                self._remove(start, end)
                self._drop(run[0][0])
                self._boundary = False
                continue
            self._remove(start, end)
            opened = self._boundary or self._opens(run[0][2])
            self._boundary = True
            frame = self._frame(run) if opened else None
            if frame is not None and (not self._need_keyframe or frame.keyframe):
                self._need_keyframe = False
                self._last_emitted = frame.timestamp
                frames.append(frame)
            else:
                self._drop(run[0][0])
        return frames

    def _run(self, start: int) -> tuple[list[_Held], int, bool]:
        """The packets of the frame at ``start``, the sequence number after them, and
        whether the frame is known to end there. An unfinished frame's walk is kept and
        resumed, so that a frame of n packets costs n steps, not n²/2: until ``start``
        moves on, packets only come after the first one missing."""
        scan = self._scan
        if scan is not None and scan[0] == start:
            run, sequence = scan[1], scan[2]
        else:
            run, sequence = [], start
        buffer, video = self._buffer, self._video
        while (packet := buffer.get(sequence)) is not None:
            if not packet[2]:
                if not run:
                    return run, sequence + 1, True
                sequence += 1
                continue
            if run and packet[0] != run[0][0]:
                return run, sequence, True  # the marker was missing: the timestamp tells
            run.append(packet)
            sequence += 1
            if packet[1] or not video:
                return run, sequence, True
        self._scan = (start, run, sequence)
        return run, sequence, False

    def _remove(self, start: int, end: int) -> None:
        for sequence in range(start, end):
            self._buffer.pop(sequence, None)
        self._next = end

    def _lose(self) -> None:
        self._boundary = False
        self._need_keyframe = self._video

    def _drop(self, timestamp: int) -> None:
        if timestamp != self._last_dropped:  # the pieces around a gap are one frame
            self.dropped_frames += 1
            self._last_dropped = timestamp
        self._need_keyframe = self._video

    def _opens(self, payload: bytes) -> bool:
        if self.codec == "vp8":
            return bool(payload[0] & 0x10) and not payload[0] & 0x07
        if self.codec == "h264":
            nal = payload[0] & 0x1F
            if nal == H264_STAP_A:
                return len(payload) > 3 and payload[3] & 0x1F in _H264_OPENERS
            if nal == H264_FU_A:  # the first fragment of an opening NAL unit
                return len(payload) > 1 and payload[1] & 0x9F in _FU_A_OPENERS
            return nal in _H264_OPENERS
        return True

    def _frame(self, run: list[_Held]) -> Frame | None:
        """Depacketize; None when the payloads do not follow their RFC."""
        timestamp = run[0][0]
        if self._last_emitted is not None and timestamp <= self._last_emitted:
            return None  # a second frame at one timestamp: the sender is confused
        try:
            if self.codec == "vp8":
                data = b"".join([vp8_depacketize(packet[2]) for packet in run])
                keyframe = vp8_starts_keyframe(run[0][2])
            elif self.codec == "h264":
                data, keyframe = h264_depacketize([packet[2] for packet in run])
            else:
                data, keyframe = run[0][2], True
        except MalformedPacket:
            self.malformed_packets += 1
            return None
        arrival = min([packet[3] for packet in run]) if len(run) > 1 else run[0][3]
        return Frame(data, timestamp, keyframe, arrival) if data else None


def rtp_payload(packet: bytes) -> tuple[bool, int, int, int, int]:
    """The marker bit, sequence number, timestamp, and the payload's start and end in an
    RTP packet (RFC 3550 §5.1); ``MalformedPacket`` if its header does not hold. Header
    extensions are skipped whole, not read (``media.rtp.header.parse_rtp`` reads them)."""
    size = len(packet)
    if size < 12:
        raise MalformedPacket("RTP packet shorter than 12 bytes")
    first, second, sequence, timestamp = _HEAD.unpack_from(packet)
    if first >> 6 != 2:
        raise MalformedPacket("RTP version is not 2")
    start = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if size < start + 4:
            raise MalformedPacket("RTP extension header runs past the packet")
        start += 4 + 4 * _WORDS.unpack_from(packet, start + 2)[0]
    if size < start:
        raise MalformedPacket("RTP header runs past the packet")
    end = size
    if first & 0x20:
        padding = packet[-1]
        if padding == 0 or start + padding > size:
            raise MalformedPacket("RTP padding length is invalid")
        end = size - padding
    return bool(second & 0x80), sequence, timestamp, start, end


def vp8_depacketize(payload: bytes) -> bytes:
    """The VP8 data after the payload descriptor (RFC 7741 §4.2)."""
    position = 1
    if payload[0] & 0x80:  # X: extended control bits follow
        if len(payload) < 2:
            raise MalformedPacket("VP8 descriptor is cut short")
        extension = payload[1]
        position = 2
        if extension & 0x80:  # I: PictureID, 7 bits or (M set) 15 bits
            if len(payload) <= position:
                raise MalformedPacket("VP8 PictureID is cut short")
            position += 2 if payload[position] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            position += 1
        if extension & 0x30:  # T or K: TID/Y/KEYIDX share one byte
            position += 1
    if position >= len(payload):
        raise MalformedPacket("VP8 packet has no data after its descriptor")
    return payload[position:]


def h264_depacketize(payloads: list[bytes]) -> tuple[bytes, bool]:
    """An Annex-B access unit from single NAL, STAP-A and FU-A payloads (RFC 6184
    §5.6-5.8), and whether it holds an IDR slice."""
    parts: list[bytes] = []  # joined once at the end: half the copying of a bytearray
    idr = False
    fragment = False
    for payload in payloads:
        kind = payload[0] & 0x1F
        if kind == H264_FU_A:
            if len(payload) < 3:
                raise MalformedPacket("H.264 FU-A is cut short")
            header = payload[1]
            if header & 0x80:  # S: the first fragment carries the NAL header's type
                if fragment:
                    raise MalformedPacket("H.264 FU-A starts inside another")
                parts.append(START_CODE + bytes([(payload[0] & 0xE0) | (header & 0x1F)]))
                fragment = True
            elif not fragment:
                raise MalformedPacket("H.264 FU-A continues a fragment never started")
            parts.append(payload[2:])
            idr |= header & 0x1F == H264_IDR
            fragment = not header & 0x40  # E: the last fragment
            continue
        if fragment:
            raise MalformedPacket("H.264 NAL unit inside an unfinished FU-A")
        if kind == H264_STAP_A:
            position = 1
            while position < len(payload):
                size = int.from_bytes(payload[position : position + 2], "big")
                position += 2
                if size == 0 or position + size > len(payload):
                    raise MalformedPacket("H.264 STAP-A unit runs past the packet")
                parts += (START_CODE, payload[position : position + size])
                idr |= payload[position] & 0x1F == H264_IDR
                position += size
        elif 1 <= kind <= 23:
            parts += (START_CODE, payload)
            idr |= kind == H264_IDR
        else:  # STAP-B, MTAP, FU-B: not in packetization-mode 0 or 1
            raise MalformedPacket(f"H.264 packet type {kind} is not supported")
    if fragment:
        raise MalformedPacket("H.264 access unit ends inside an FU-A")
    return b"".join(parts), idr
