"""Packet forwarding: a published track (up) to its subscribers (down).

No decoding, no encoding: every incoming RTP packet is parsed once, its payload kept
in a cache for NACKs, and copied to each subscriber with that subscriber's payload
type, sequence number, timestamp and SSRC (DESIGN.md §5). Sending goes through an
injected ``send`` callable, so this module is plain code tested with fixed inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from media.layers import Layer, LayerState
from media.rtp.cache import CachedPacket, PacketCache
from media.rtp.header import (
    ExtensionIds,
    OutboundTemplate,
    RtpHeader,
    abs_send_time,
    rtx_payload,
    unwrap_rtx,
)
from media.rtp.keyframe import starts_keyframe
from media.rtp.keyframe_requests import KeyframeRequests
from media.rtp.nack import NackGenerator
from media.rtp.rewrite import StreamRewriter
from media.rtp.statistics import ReceiveStatistics


class Sink(Protocol):
    """Where a subscriber's packets go: its connection (``aiortc_tap.Connection``)."""

    def send(self, data: bytes | bytearray) -> bool:
        """Send one serialized RTP or RTCP packet; False if it could not go."""
        ...

    def send_rtp(
        self,
        template: OutboundTemplate,
        payload_type: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        send_time: int,
    ) -> bool:
        """Send ``template`` with these header fields (rendered where it is encrypted)."""
        ...


@dataclass(frozen=True, slots=True)
class CodecInfo:
    name: str  # vp8, h264, opus
    clock_rate: int
    rtx_payload_type: int | None = None


class UpTrack:
    """One encoding of one source, as a publisher sends it."""

    def __init__(
        self,
        track_id: str,
        kind: str,
        source: str,
        layer: str,
        codecs: dict[int, CodecInfo],
        audio_level_id: int = 0,
    ) -> None:
        self.id = track_id
        self.kind = kind
        self.source = source
        self.layer = layer
        self.codecs = codecs
        self.rtx_types = {c.rtx_payload_type: pt for pt, c in codecs.items() if c.rtx_payload_type}
        self.audio_level_id = audio_level_id
        self.ssrc: int | None = None
        self.codec: CodecInfo | None = None
        self.cache = PacketCache(1024 if kind == "video" else 256)
        self.nack = NackGenerator()
        self.keyframes = KeyframeRequests()
        self.stats = ReceiveStatistics(90_000 if kind == "video" else 48_000)
        self.downs: list[DownTrack] = []
        self.muted = False
        self.bitrate = 0.0  # measured, bits per second
        self.keyframes_seen = 0
        self.nacks_sent = 0
        self.last_sr: tuple[int, int, float] | None = None  # ntp, rtp timestamp, arrival

    def receive(self, data: bytes, header: RtpHeader, now_ms: float) -> list[int]:
        """Take one packet and forward it; returns the sequence numbers to NACK now."""
        payload_type = header.payload_type
        sequence = header.sequence
        payload: bytes | memoryview = memoryview(data)[header.payload_start : header.payload_end]
        if payload_type in self.rtx_types:
            if len(payload) <= 2:
                return []  # RTX padding: a bandwidth probe, nothing to forward
            sequence, unwrapped = unwrap_rtx(payload)
            payload, payload_type = unwrapped, self.rtx_types[payload_type]
        else:
            self.ssrc = header.ssrc
        codec = self.codecs.get(payload_type)
        if codec is None or not len(payload) or self.ssrc is None:
            return []  # unknown payload type, or padding only (bandwidth probe)
        self.codec = codec
        self.stats.clock_rate = codec.clock_rate
        self.stats.add(sequence, header.timestamp, now_ms, header.payload_end)
        to_nack = self.nack.add(sequence, now_ms) if self.kind == "video" else []
        level = header.extensions.get(self.audio_level_id) if self.audio_level_id else None
        packet = CachedPacket(
            sequence, header.timestamp, header.marker, bytes(payload), level, now_ms
        )
        self.cache.put(packet)
        keyframe = self.kind == "video" and starts_keyframe(codec.name, packet.payload)
        if keyframe:
            self.keyframes_seen += 1
            self.keyframes.keyframe_arrived()
        if not self.muted:
            self.forward(packet, keyframe, now_ms)
        return to_nack

    def forward(self, packet: CachedPacket, keyframe: bool, now_ms: float) -> None:
        templates: dict[int, OutboundTemplate] = {}
        send_time = abs_send_time(now_ms)
        for down in list(self.downs):
            down.deliver(self, packet, keyframe, templates, send_time, now_ms)

    def layer_info(self) -> Layer:
        return Layer(self.id, self.layer, self.bitrate)


class DownTrack:
    """What one subscriber receives on one of its m-sections."""

    def __init__(
        self,
        subscriber: str,
        kind: str,
        ssrc: int,
        rtx_ssrc: int,
        payload_types: dict[str, tuple[int, int | None]],  # codec -> (pt, rtx pt)
        ids: ExtensionIds,
        sink: Sink,
        first_sequence: int,
        first_timestamp: int,
    ) -> None:
        self.subscriber = subscriber
        self.kind = kind
        self.ssrc = ssrc
        self.rtx_ssrc = rtx_ssrc
        self.payload_types = payload_types
        self.ids = ids
        self.ids_key = ids.abs_send_time << 8 | ids.audio_level  # an int: cheap to hash
        self.sink = sink
        self.rewriter = StreamRewriter(first_sequence, first_timestamp)
        self.current: UpTrack | None = None
        self.target: UpTrack | None = None
        self.source_id: str | None = None
        self.preference = "auto"
        self.estimate_bps: float | None = None
        self.fraction_lost = 0.0
        self.packets_lost = 0  # as the subscriber reports it
        self.rtt_ms: float | None = None
        self.packets = 0
        self.bytes = 0
        self._window_mark = 0  # ``bytes`` when the stats window began
        self.nacks = 0
        self.retransmitted = 0
        self.plis = 0
        self.layer_state = LayerState()
        self.sent_bps = 0.0  # over the last report interval
        self._rate_mark = 0  # ``bytes`` at the last ``measure_rate``
        self._rate_since_ms: float | None = None
        self._codec: CodecInfo | None = None  # the current source's codec, and
        self._payload_type: int | None = None  # what this subscriber calls it
        self._rtx_sequence = first_sequence ^ 0x5A5A
        self.sr_sent: dict[int, float] = {}  # middle 32 bits of NTP -> time sent (ms)

    # --- switching -------------------------------------------------------------

    def switch_to(self, up: UpTrack | None) -> bool:
        """Aim at ``up`` (None pauses); True if a keyframe is needed from it."""
        if up is None:
            self._detach(self.target)
            self._detach(self.current)
            self.target = self.current = None
            return False
        if up is self.current:
            self._detach(self.target)
            self.target = None
            return False
        if up is self.target:
            return True
        self._detach(self.target)
        self.target = up
        if self not in up.downs:
            up.downs.append(self)
        return up.kind == "video"

    def _detach(self, up: UpTrack | None) -> None:
        if up is not None and up is not self.current and up is not self.target:
            return
        if up is not None and self in up.downs:
            up.downs.remove(self)

    def stop(self) -> None:
        for up in (self.current, self.target):
            if up is not None and self in up.downs:
                up.downs.remove(self)
        self.current = self.target = None

    # --- forwarding ------------------------------------------------------------

    @property
    def window_bytes(self) -> int:
        """Bytes sent since the stats window began (set to 0 to begin another)."""
        return self.bytes - self._window_mark

    @window_bytes.setter
    def window_bytes(self, value: int) -> None:
        self._window_mark = self.bytes - value

    def deliver(
        self,
        up: UpTrack,
        packet: CachedPacket,
        keyframe: bool,
        templates: dict[int, OutboundTemplate],
        send_time: int,
        now_ms: float,
    ) -> None:
        # Runs once per packet per subscriber: the common case (``up`` is current, same
        # codec as before) reads few attributes and calls little.
        if up is not self.current:
            if up is not self.target or not (keyframe or up.kind == "audio"):
                return
            previous = self.current
            self.current, self.target = up, None
            if previous is not None and previous is not up and self in previous.downs:
                previous.downs.remove(self)
            assert up.ssrc is not None and up.codec is not None
            self.rewriter.switch(
                up.ssrc, packet.sequence, packet.timestamp, up.codec.clock_rate, now_ms
            )
        codec = up.codec
        if codec is not self._codec:
            types = self.payload_types.get(codec.name) if codec is not None else None
            self._codec, self._payload_type = codec, types[0] if types else None
        payload_type = self._payload_type
        ssrc = up.ssrc
        if payload_type is None or ssrc is None:
            return
        numbers = self.rewriter.rewrite(ssrc, packet.sequence, packet.timestamp, now_ms)
        if numbers is None:
            return
        key = self.ids_key
        template = templates.get(key)
        if template is None:
            template = OutboundTemplate(packet.payload, packet.marker, self.ids, packet.audio_level)
            templates[key] = template
        if self.sink.send_rtp(template, payload_type, numbers[0], numbers[1], self.ssrc, send_time):
            self.packets += 1
            self.bytes += template.size

    def measure_rate(self, now_ms: float) -> None:
        """Update ``sent_bps`` from what was sent since the last call."""
        if self._rate_since_ms is not None and now_ms > self._rate_since_ms:
            self.sent_bps = (self.bytes - self._rate_mark) * 8000.0 / (now_ms - self._rate_since_ms)
        self._rate_since_ms = now_ms
        self._rate_mark = self.bytes

    def retransmit(self, out_sequences: list[int], now_ms: float) -> int:
        """Answer a subscriber's NACK from the publisher's cache; returns packets resent."""
        self.nacks += 1
        up = self.current
        if up is None or up.codec is None or up.ssrc is None:
            return 0
        types = self.payload_types.get(up.codec.name)
        if types is None:
            return 0
        sent = 0
        for out_sequence in out_sequences[:64]:
            origin = self.rewriter.original(out_sequence)
            if origin is None or origin[0] != up.ssrc:
                continue
            packet = up.cache.get(origin[1], now_ms)
            if packet is None:
                continue
            timestamp = self.rewriter.outgoing_timestamp(up.ssrc, packet.timestamp)
            if timestamp is None:
                continue
            if types[1] is not None:  # RTX (RFC 4588): own SSRC and sequence space
                template = OutboundTemplate(
                    rtx_payload(out_sequence, packet.payload), packet.marker, self.ids, None
                )
                self._rtx_sequence = (self._rtx_sequence + 1) & 0xFFFF
                fields = (types[1], self._rtx_sequence, timestamp, self.rtx_ssrc)
            else:
                template = OutboundTemplate(packet.payload, packet.marker, self.ids, None)
                fields = (types[0], out_sequence, timestamp, self.ssrc)
            if self.sink.send_rtp(template, *fields, abs_send_time(now_ms)):
                sent += 1
        self.retransmitted += sent
        return sent
