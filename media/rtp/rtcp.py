"""RTCP packets the SFU reads and writes (RFC 3550 §6, RFC 4585, RFC 5104, REMB draft).

``parse_rtcp`` turns a compound packet into typed items and skips types it does not
use (SDES, XR, APP); anything that breaks the length rules raises MalformedPacket.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from media.errors import MalformedPacket

SR, RR, SDES, BYE, RTPFB, PSFB = 200, 201, 202, 203, 205, 206
FMT_NACK = 1
FMT_PLI, FMT_FIR, FMT_APP = 1, 4, 15

_HEAD = struct.Struct("!BBH")
_REPORT = struct.Struct("!IBBHIIII")


@dataclass(frozen=True, slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int  # /256
    packets_lost: int
    highest_sequence: int
    jitter: int
    lsr: int
    dlsr: int


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp: int  # 64-bit NTP timestamp
    rtp_timestamp: int
    packets: int
    octets: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class Bye:
    sources: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Nack:
    sender_ssrc: int
    media_ssrc: int
    lost: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PictureLoss:
    """PLI, or FIR (``full`` is True): both ask for a keyframe."""

    sender_ssrc: int
    media_ssrc: int
    full: bool = False


@dataclass(frozen=True, slots=True)
class Remb:
    sender_ssrc: int
    bitrate: int
    ssrcs: tuple[int, ...] = field(default=())


Rtcp = SenderReport | ReceiverReport | Bye | Nack | PictureLoss | Remb


def parse_rtcp(data: bytes) -> list[Rtcp]:
    """Parse a compound RTCP packet; raises :class:`MalformedPacket`."""
    items: list[Rtcp] = []
    pos = 0
    size = len(data)
    if size < 4:
        raise MalformedPacket("RTCP packet shorter than 4 bytes")
    while pos < size:
        if size - pos < 4:
            raise MalformedPacket("RTCP header runs past the packet")
        first, packet_type, words = _HEAD.unpack_from(data, pos)
        if first >> 6 != 2:
            raise MalformedPacket("RTCP version is not 2")
        end = pos + 4 + 4 * words
        if end > size:
            raise MalformedPacket("RTCP length runs past the packet")
        body = data[pos + 4 : end]
        if first & 0x20 and body:  # padding on the last packet
            padding = body[-1]
            if padding == 0 or padding > len(body):
                raise MalformedPacket("RTCP padding length is invalid")
            body = body[:-padding]
        count = first & 0x1F
        item = _parse_one(packet_type, count, body)
        if item is not None:
            items.append(item)
        pos = end
    return items


def _parse_one(packet_type: int, count: int, body: bytes) -> Rtcp | None:
    if packet_type == SR:
        if len(body) < 24:
            raise MalformedPacket("RTCP SR shorter than 28 bytes")
        ssrc, ntp_hi, ntp_lo, rtp_ts, packets, octets = struct.unpack_from("!IIIIII", body)
        return SenderReport(
            ssrc, (ntp_hi << 32) | ntp_lo, rtp_ts, packets, octets, _reports(body, 24, count)
        )
    if packet_type == RR:
        if len(body) < 4:
            raise MalformedPacket("RTCP RR shorter than 8 bytes")
        return ReceiverReport(struct.unpack_from("!I", body)[0], _reports(body, 4, count))
    if packet_type == BYE:
        if len(body) < 4 * count:
            raise MalformedPacket("RTCP BYE source list runs past the packet")
        return Bye(struct.unpack_from(f"!{count}I", body))
    if packet_type in (RTPFB, PSFB):
        if len(body) < 8:
            raise MalformedPacket("RTCP feedback shorter than 12 bytes")
        sender, media = struct.unpack_from("!II", body)
        fci = body[8:]
        if packet_type == RTPFB:
            return _nack(sender, media, fci) if count == FMT_NACK else None
        if count == FMT_PLI:
            return PictureLoss(sender, media)
        if count == FMT_FIR:
            target = struct.unpack_from("!I", fci)[0] if len(fci) >= 8 else media
            return PictureLoss(sender, target, full=True)
        if count == FMT_APP and fci[:4] == b"REMB":
            return _remb(sender, fci)
    return None


def _reports(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if len(body) < offset + count * _REPORT.size:
        raise MalformedPacket("RTCP report blocks run past the packet")
    blocks = []
    for index in range(count):
        ssrc, fraction, lost_hi, lost_lo, highest, jitter, lsr, dlsr = _REPORT.unpack_from(
            body, offset + index * _REPORT.size
        )
        lost = (lost_hi << 16) | lost_lo
        if lost & 0x800000:  # 24-bit signed
            lost -= 1 << 24
        blocks.append(ReportBlock(ssrc, fraction, lost, highest, jitter, lsr, dlsr))
    return tuple(blocks)


def _nack(sender: int, media: int, fci: bytes) -> Nack:
    if len(fci) % 4:
        raise MalformedPacket("RTCP NACK FCI is not a whole number of words")
    lost: list[int] = []
    for pos in range(0, len(fci), 4):
        pid, blp = struct.unpack_from("!HH", fci, pos)
        lost.append(pid)
        for bit in range(16):
            if blp & (1 << bit):
                lost.append((pid + bit + 1) & 0xFFFF)
    return Nack(sender, media, tuple(lost))


def _remb(sender: int, fci: bytes) -> Remb:
    if len(fci) < 8:
        raise MalformedPacket("REMB shorter than its header")
    count = fci[4]
    exponent = fci[5] >> 2
    mantissa = ((fci[5] & 0x03) << 16) | (fci[6] << 8) | fci[7]
    if len(fci) < 8 + 4 * count:
        raise MalformedPacket("REMB SSRC list runs past the packet")
    ssrcs = struct.unpack_from(f"!{count}I", fci, 8)
    return Remb(sender, mantissa << exponent, ssrcs)


# --- builders ---------------------------------------------------------------


def _packet(packet_type: int, count: int, body: bytes) -> bytes:
    return _HEAD.pack(0x80 | count, packet_type, len(body) // 4) + body


def _report_bytes(block: ReportBlock) -> bytes:
    lost = max(-(1 << 23), min(block.packets_lost, (1 << 23) - 1)) & 0xFFFFFF
    return _REPORT.pack(
        block.ssrc,
        block.fraction_lost & 0xFF,
        lost >> 16,
        lost & 0xFFFF,
        block.highest_sequence & 0xFFFFFFFF,
        block.jitter & 0xFFFFFFFF,
        block.lsr & 0xFFFFFFFF,
        block.dlsr & 0xFFFFFFFF,
    )


def sender_report(report: SenderReport) -> bytes:
    body = struct.pack(
        "!IIIIII",
        report.ssrc,
        (report.ntp >> 32) & 0xFFFFFFFF,
        report.ntp & 0xFFFFFFFF,
        report.rtp_timestamp & 0xFFFFFFFF,
        report.packets & 0xFFFFFFFF,
        report.octets & 0xFFFFFFFF,
    )
    return _packet(SR, len(report.reports), body + b"".join(map(_report_bytes, report.reports)))


def receiver_report(report: ReceiverReport) -> bytes:
    blocks = b"".join(map(_report_bytes, report.reports[:31]))
    return _packet(RR, min(len(report.reports), 31), struct.pack("!I", report.ssrc) + blocks)


def nack(sender_ssrc: int, media_ssrc: int, lost: list[int]) -> bytes:
    """A generic NACK; consecutive losses within 16 packets share one FCI entry."""
    fci = bytearray()
    pending = sorted(set(lost), key=lambda s: (s - lost[0]) & 0xFFFF) if lost else []
    index = 0
    while index < len(pending):
        pid = pending[index]
        blp = 0
        index += 1
        while index < len(pending):
            distance = (pending[index] - pid) & 0xFFFF
            if not 1 <= distance <= 16:
                break
            blp |= 1 << (distance - 1)
            index += 1
        fci += struct.pack("!HH", pid, blp)
    return _packet(RTPFB, FMT_NACK, struct.pack("!II", sender_ssrc, media_ssrc) + bytes(fci))


def picture_loss(sender_ssrc: int, media_ssrc: int) -> bytes:
    return _packet(PSFB, FMT_PLI, struct.pack("!II", sender_ssrc, media_ssrc))


def remb(sender_ssrc: int, bitrate: int, ssrcs: list[int]) -> bytes:
    exponent = 0
    mantissa = max(0, int(bitrate))
    while mantissa > 0x3FFFF:
        mantissa >>= 1
        exponent += 1
    fci = b"REMB" + bytes(
        [len(ssrcs), (exponent << 2) | (mantissa >> 16), (mantissa >> 8) & 0xFF, mantissa & 0xFF]
    )
    fci += b"".join(struct.pack("!I", s) for s in ssrcs)
    return _packet(PSFB, FMT_APP, struct.pack("!II", sender_ssrc, 0) + fci)


def bye(ssrc: int) -> bytes:
    return _packet(BYE, 1, struct.pack("!I", ssrc))
