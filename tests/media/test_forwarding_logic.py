"""Sequence/timestamp rewriting, NACK bookkeeping, PLI limiting, layers: fixed inputs."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from media.forwarding import CodecInfo, DownTrack, UpTrack
from media.layers import Layer, LayerNeed, LayerState, choose_layer
from media.rtp.cache import CachedPacket, PacketCache
from media.rtp.header import ExtensionIds, OutboundTemplate, parse_rtp
from media.rtp.keyframe_requests import KeyframeRequests
from media.rtp.nack import MAX_RETRIES, NackGenerator
from media.rtp.rewrite import StreamRewriter, seq_newer
from media.rtp.statistics import ReceiveStatistics


def test_serial_number_comparison_wraps() -> None:
    assert seq_newer(1, 65535) and not seq_newer(65535, 1)
    assert seq_newer(100, 50) and not seq_newer(50, 50)


def test_rewriter_runs_on_across_a_source_switch() -> None:
    rw = StreamRewriter(first_sequence=1000, first_timestamp=5000)
    rw.switch(source=1, sequence=65530, timestamp=2**32 - 3000, clock_rate=90000, now_ms=0)
    out = [
        rw.rewrite(1, s & 0xFFFF, (2**32 - 3000 + 3000 * i) & 0xFFFFFFFF, now_ms=33 * i)
        for i, s in enumerate(range(65530, 65540))
    ]
    assert [o[0] for o in out if o] == list(range(1000, 1010))
    assert out[0] == (1000, 5000) and out[1] == (1001, 8000)
    # 100 ms later, another source (a layer switch) takes over at its keyframe
    rw.switch(source=2, sequence=7, timestamp=123, clock_rate=90000, now_ms=400)
    assert rw.rewrite(1, 11, 33000, now_ms=400) is None  # the old source is cut off
    seq, ts = rw.rewrite(2, 7, 123, now_ms=400)  # type: ignore[misc]
    assert seq == 1010
    assert ts == (5000 + 9 * 3000 + (400 - 297) * 90) & 0xFFFFFFFF
    assert rw.rewrite(2, 6, 0, now_ms=401) is None  # older than the switch point
    assert rw.rewrite(2, 8, 3123, now_ms=433) == (1011, ts + 3000)


def test_rewriter_maps_nacks_back_to_the_source() -> None:
    rw = StreamRewriter(first_sequence=500, first_timestamp=0)
    rw.switch(1, 100, 0, 90000, 0)
    for s in range(100, 110):
        rw.rewrite(1, s, 0, 0)
    rw.switch(2, 9000, 0, 90000, 10)
    for s in range(9000, 9005):
        rw.rewrite(2, s, 0, 10)
    assert rw.original(503) == (1, 103)
    assert rw.original(511) == (2, 9001)
    assert rw.original(600) is None  # not sent yet


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 65535)), max_size=60))
def test_rewritten_sequence_numbers_never_repeat_for_new_packets(
    events: list[tuple[int, int]],
) -> None:
    """Whatever the sources do, packets that go out in order get increasing numbers."""
    rw = StreamRewriter(0, 0)
    last = None
    for source, seq in events:
        if rw.source != source:
            rw.switch(source, seq, 0, 90000, 0)
        out = rw.rewrite(source, seq, 0, 0)
        if out is not None and last is not None and out[0] != last:
            assert seq_newer(out[0], last) or (last - out[0]) & 0xFFFF < 0x8000
        if out is not None and (last is None or seq_newer(out[0], last)):
            last = out[0]


def test_nack_generator_asks_for_gaps_then_gives_up() -> None:
    nack = NackGenerator()
    assert nack.add(65534, 0) == []
    assert nack.add(2, 10) == [65535, 0, 1]
    assert nack.add(0, 20) == []  # recovered
    assert nack.missing == [1, 65535]
    asked = [nack.due(t) for t in range(50, 2000, 50)]
    assert sum(len(a) for a in asked) == 2 * (MAX_RETRIES - 1)
    assert nack.missing == []
    assert nack.recovered == 1


def test_nack_generator_ignores_a_jump() -> None:
    nack = NackGenerator()
    nack.add(10, 0)
    assert nack.add(30000, 1) == []


def test_keyframe_requests_are_rate_limited_and_merged() -> None:
    pli = KeyframeRequests(min_interval_ms=500)
    assert pli.request(0)
    assert not pli.request(100) and not pli.request(200)
    assert not pli.due(400)
    assert pli.due(500)
    assert not pli.due(1200)
    assert pli.sent == 2
    assert not pli.request(600)
    pli.keyframe_arrived()
    assert not pli.due(1200)


def test_packet_cache_returns_only_the_right_fresh_packet() -> None:
    cache = PacketCache(8)
    cache.put(CachedPacket(3, 0, False, b"a", None, 0))
    cache.put(CachedPacket(11, 0, False, b"b", None, 0))  # same slot as 3
    assert cache.get(3, 0) is None
    assert cache.get(11, 500) is not None
    assert cache.get(11, 5000) is None


def test_statistics_loss_jitter_and_freezes() -> None:
    stats = ReceiveStatistics(90000)
    for frame in range(40):
        if frame == 30:
            continue  # a lost frame (and 600 ms without pictures below)
        arrival = frame * 33.0 + (600 if frame > 30 else 0)
        stats.add(frame, frame * 3000, arrival, 1000)
    assert stats.expected == 40 and stats.lost == 1
    assert stats.freezes == 1 and stats.freeze_ms > 600
    block = stats.report_block(ssrc=1, lsr=0, dlsr=0)
    assert block.packets_lost == 1 and block.fraction_lost == 256 // 40
    assert stats.take_bitrate(40 * 33.0 + 600) > 0


def test_layers_start_low_then_probe_up_and_back_off_on_congestion() -> None:
    high, low = Layer("h", "high", 1_500_000), Layer("l", "low", 300_000)
    layers = [high, low]
    state = LayerState()
    clean = LayerNeed(None, 0.0)
    assert choose_layer(layers, clean, None, state, 0) == "l"  # a new subscriber starts low
    assert choose_layer(layers, LayerNeed(450_000, 0.0, sent_bps=300_000), "l", state, 1000) == "l"
    # no congestion after two seconds: try the high layer (its REMB cannot show the room)
    assert choose_layer(layers, LayerNeed(450_000, 0.0, sent_bps=300_000), "l", state, 2000) == "h"
    # the estimate lags during the grace period; no panic
    assert (
        choose_layer(layers, LayerNeed(500_000, 0.0, sent_bps=1_500_000), "h", state, 4000) == "h"
    )
    # past the grace period it still reports less than it gets: overuse, back down
    assert (
        choose_layer(layers, LayerNeed(900_000, 0.0, sent_bps=1_500_000), "h", state, 5500) == "l"
    )
    assert state.backoff_ms == 8000 and state.retry_at_ms == 13_500
    assert (
        choose_layer(layers, LayerNeed(600_000, 0.0, sent_bps=300_000), "l", state, 10_000) == "l"
    )
    assert (
        choose_layer(layers, LayerNeed(600_000, 0.0, sent_bps=300_000), "l", state, 13_500) == "h"
    )
    # the estimate keeps up this time: the high layer stays
    steady = LayerNeed(1_800_000, 0.0, sent_bps=1_500_000)
    assert choose_layer(layers, steady, "h", state, 20_000) == "h"


def test_layers_heavy_loss_and_collapse_put_audio_first() -> None:
    layers = [Layer("h", "high", 1_500_000), Layer("l", "low", 300_000)]
    state = LayerState(retry_at_ms=0.0)
    assert (
        choose_layer(layers, LayerNeed(3_000_000, 0.3, sent_bps=1_500_000), "h", state, 10_000)
        == "l"
    )
    assert (
        choose_layer(layers, LayerNeed(150_000, 0.0, sent_bps=300_000), "l", state, 20_000) is None
    )
    # paused video comes back (low first) when the link recovers and the backoff has passed
    assert choose_layer(layers, LayerNeed(None, 0.0), None, state, state.retry_at_ms or 0) == "l"


def test_layer_preferences_override_the_policy() -> None:
    layers = [Layer("h", "high", 1_500_000), Layer("l", "low", 300_000)]
    assert choose_layer(layers, LayerNeed(100_000, 0.0, "high"), None, LayerState(), 0) == "h"
    state = LayerState(retry_at_ms=0.0)
    assert (
        choose_layer(layers, LayerNeed(9_000_000, 0.0, "low", sent_bps=300_000), "l", state, 9000)
        == "l"
    )


class Recorder:
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def send(self, data: bytes | bytearray) -> bool:
        self.packets.append(bytes(data))
        return True

    def send_rtp(
        self,
        template: OutboundTemplate,
        payload_type: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        send_time: int,
    ) -> bool:
        return self.send(template.render(payload_type, sequence, timestamp, ssrc, send_time))


def rtp(
    seq: int, ts: int, payload: bytes, ssrc: int = 9, pt: int = 102, marker: bool = False
) -> bytes:
    return struct.pack("!BBHII", 0x80, pt | (0x80 if marker else 0), seq, ts, ssrc) + payload


KEY = bytes([0x7C, 0x85]) + b"k" * 20  # FU-A start of an IDR
DELTA = bytes([0x41]) + b"d" * 20


def make_pair() -> tuple[UpTrack, DownTrack, Recorder]:
    up = UpTrack("a/camera/high", "video", "camera", "high", {102: CodecInfo("h264", 90000, 103)})
    sink = Recorder()
    down = DownTrack("b", "video", 1111, 2222, {"h264": (96, 97)}, ExtensionIds(), sink, 50, 0)
    return up, down, sink


def feed(up: UpTrack, seq: int, ts: int, payload: bytes, now: float = 0.0) -> list[int]:
    data = rtp(seq, ts, payload)
    return up.receive(data, parse_rtp(data), now)


def test_a_new_subscriber_waits_for_a_keyframe_then_gets_rewritten_packets() -> None:
    up, down, sink = make_pair()
    assert down.switch_to(up)  # needs a keyframe
    feed(up, 10, 1000, DELTA)
    assert sink.packets == []
    feed(up, 11, 4000, KEY)
    feed(up, 12, 4000, DELTA)
    sent = [parse_rtp(p) for p in sink.packets]
    assert [(h.payload_type, h.sequence, h.ssrc) for h in sent] == [(96, 50, 1111), (96, 51, 1111)]
    assert sink.packets[0].endswith(KEY)


def test_payload_type_follows_the_publishers_codec() -> None:
    codecs = {
        102: CodecInfo("h264", 90000),
        100: CodecInfo("vp8", 90000),
        104: CodecInfo("av1", 90000),
    }
    up = UpTrack("a/camera/high", "video", "camera", "high", codecs)
    sink = Recorder()
    types: dict[str, tuple[int, int | None]] = {"h264": (96, None), "vp8": (98, None)}
    down = DownTrack("b", "video", 1111, 2222, types, ExtensionIds(), sink, 50, 0)
    down.switch_to(up)
    for seq, pt, payload in [(1, 102, KEY), (2, 102, DELTA), (3, 100, b"\x10" + b"v" * 9)]:
        data = rtp(seq, 0, payload, pt=pt)
        up.receive(data, parse_rtp(data), 0)
    data = rtp(4, 0, DELTA, pt=104)  # a codec this subscriber did not negotiate
    up.receive(data, parse_rtp(data), 0)
    assert [parse_rtp(p).payload_type for p in sink.packets] == [96, 96, 98]


def test_sent_bytes_feed_the_rate_and_the_stats_window() -> None:
    up, down, sink = make_pair()
    down.switch_to(up)
    down.measure_rate(0)
    feed(up, 1, 0, KEY)
    feed(up, 2, 0, DELTA)
    sent = sum(len(p) for p in sink.packets)
    assert down.bytes == down.window_bytes == sent and down.packets == 2
    down.measure_rate(1000)
    assert down.sent_bps == sent * 8
    down.window_bytes = 0
    feed(up, 3, 0, DELTA)
    assert down.window_bytes == len(sink.packets[-1])
    down.measure_rate(2000)
    assert down.sent_bps == len(sink.packets[-1]) * 8
    assert down.bytes == sum(len(p) for p in sink.packets)


def test_nack_is_answered_from_the_cache_over_rtx() -> None:
    up, down, sink = make_pair()
    down.switch_to(up)
    for i, payload in enumerate([KEY, DELTA, DELTA]):
        feed(up, 100 + i, 3000, payload)
    assert down.retransmit([51], now_ms=10) == 1
    resent = parse_rtp(sink.packets[-1])
    assert (resent.payload_type, resent.ssrc) == (97, 2222)
    body = sink.packets[-1][resent.payload_start :]
    assert body[:2] == struct.pack("!H", 51) and body[2:] == DELTA
    assert down.retransmit([49, 60], now_ms=10) == 0  # never sent / not yet


def test_upstream_losses_are_nacked_and_rtx_is_unwrapped() -> None:
    up, down, sink = make_pair()
    down.switch_to(up)
    feed(up, 1, 0, KEY)
    assert feed(up, 4, 0, DELTA) == [2, 3]
    rtx = rtp(77, 0, struct.pack("!H", 2) + DELTA, ssrc=10, pt=103)
    up.receive(rtx, parse_rtp(rtx), 5)
    assert up.nack.missing == [3]
    assert up.ssrc == 9


def test_muted_source_forwards_nothing() -> None:
    up, down, sink = make_pair()
    down.switch_to(up)
    up.muted = True
    feed(up, 1, 0, KEY)
    assert sink.packets == []


def test_sender_reports_are_translated_per_subscriber_for_lip_sync() -> None:
    from datetime import UTC, datetime, timedelta

    from media.feedback import take_receiver_reports, translate_sender_report
    from media.grants import MediaGrant
    from media.room import Participant
    from media.rtp import rtcp

    up, down, sink = make_pair()
    down.switch_to(up)
    feed(up, 100, 90_000, KEY)  # out timestamp 0 (first_timestamp), seq 50
    grant = MediaGrant(
        "r",
        "a",
        "teacher",
        frozenset({"camera"}),
        True,
        False,
        datetime.now(UTC) + timedelta(hours=1),
    )
    publisher = Participant("a", grant)
    publisher.ups_by_ssrc[9] = up
    ntp = (3_900_000_000 << 32) | (1 << 31)
    translate_sender_report(publisher, rtcp.SenderReport(9, ntp, 93_000, 10, 1000), now_ms=50.0)
    (sr,) = rtcp.parse_rtcp(sink.packets[-1])
    assert isinstance(sr, rtcp.SenderReport)
    assert (sr.ssrc, sr.ntp, sr.rtp_timestamp) == (1111, ntp, 3_000)
    subscriber = Participant("b", grant)
    subscriber.downs_by_ssrc[1111] = down
    block = rtcp.ReportBlock(1111, 64, 3, 51, 10, (ntp >> 16) & 0xFFFFFFFF, 65536 // 100)
    take_receiver_reports(subscriber, (block,), now_ms=80.0)
    assert down.fraction_lost == 0.25 and down.packets_lost == 3
    assert down.rtt_ms is not None and abs(down.rtt_ms - 20.0) < 0.5
