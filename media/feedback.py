"""Feedback between the SFU and its peers: RTCP reports both ways and stats events.

Upstream, the SFU is the receiver of each published track: it NACKs again what is
still missing, sends receiver reports and a REMB cap. Downstream it translates each
publisher's sender reports into every subscriber's timestamps and reads their
receiver reports (loss, RTT). Every few seconds each track's figures become events.
"""

from __future__ import annotations

from datetime import datetime

from media import events as ev
from media.forwarding import UpTrack
from media.room import Participant, Room
from media.rtp import rtcp

PUBLISH_CAP_BPS = {"high": 2_500_000, "low": 600_000}


def translate_sender_report(
    participant: Participant, report: rtcp.SenderReport, now_ms: float
) -> None:
    up = participant.ups_by_ssrc.get(report.ssrc)
    if up is None:
        return
    up.last_sr = (report.ntp, report.rtp_timestamp, now_ms)
    for down in up.downs:
        if down.current is not up or up.ssrc is None:
            continue
        timestamp = down.rewriter.outgoing_timestamp(up.ssrc, report.rtp_timestamp)
        if timestamp is None:
            continue
        down.sr_sent[(report.ntp >> 16) & 0xFFFFFFFF] = now_ms
        if len(down.sr_sent) > 8:
            down.sr_sent.pop(next(iter(down.sr_sent)))
        # Same NTP time, the subscriber's timestamp: keeps lip sync (RFC 3550 §6.4.1).
        down.sink.send(
            rtcp.sender_report(
                rtcp.SenderReport(down.ssrc, report.ntp, timestamp, down.packets, down.bytes)
            )
        )


def take_receiver_reports(
    participant: Participant, blocks: tuple[rtcp.ReportBlock, ...], now_ms: float
) -> None:
    for block in blocks:
        down = participant.downs_by_ssrc.get(block.ssrc)
        if down is None:
            continue
        down.fraction_lost = block.fraction_lost / 256.0
        down.packets_lost = block.packets_lost
        sent_ms = down.sr_sent.get(block.lsr)
        if block.lsr and sent_ms is not None:
            down.rtt_ms = max(0.0, now_ms - sent_ms - block.dlsr * 1000.0 / 65536.0)


def upstream_feedback(participant: Participant, now_ms: float, report: bool) -> list[UpTrack]:
    """NACK again, receiver reports and REMB to a publisher; returns tracks due a PLI."""
    due: list[UpTrack] = []
    connection = participant.connection
    if connection is None:
        return due
    for up in participant.ups_by_mid.values():
        if up.ssrc is None:
            continue
        our_ssrc = participant.rtcp_ssrc.get(up.id, 1)
        again = up.nack.due(now_ms)
        if again:
            up.nacks_sent += 1
            connection.send(rtcp.nack(our_ssrc, up.ssrc, again))
        if up.keyframes.due(now_ms):
            due.append(up)
        if report:
            up.bitrate = up.stats.take_bitrate(now_ms) or up.bitrate * 0.5
            lsr, dlsr = 0, 0
            if up.last_sr is not None:
                lsr = (up.last_sr[0] >> 16) & 0xFFFFFFFF
                dlsr = int((now_ms - up.last_sr[2]) * 65.536)
            packet = rtcp.receiver_report(
                rtcp.ReceiverReport(our_ssrc, (up.stats.report_block(up.ssrc, lsr, dlsr),))
            )
            if up.kind == "video":
                packet += rtcp.remb(our_ssrc, PUBLISH_CAP_BPS.get(up.layer, 2_500_000), [up.ssrc])
            connection.send(packet)
    return due


def stats_events(room: Room, at: datetime, interval_ms: float) -> list[ev.TrackStats]:
    """Each track's figures for the last interval, inbound and outbound."""
    events: list[ev.TrackStats] = []
    for participant in room.participants.values():
        for up in participant.ups_by_mid.values():
            stats = up.stats
            events.append(
                ev.TrackStats(
                    at=at,
                    room=room.id,
                    identity=participant.identity,
                    track=up.id,
                    kind=up.kind,
                    direction="inbound",
                    bitrate=round(up.bitrate),
                    packets=stats.packets,
                    packets_lost=stats.lost,
                    fraction_lost=round(stats.recent_fraction_lost, 4),
                    jitter_ms=round(stats.jitter * 1000.0 / stats.clock_rate, 2),
                    rtt_ms=None,
                    freezes=stats.freezes,
                    plis=up.keyframes.sent,
                    nacks=up.nacks_sent,
                    layer=up.layer,
                )
            )
        for down in participant.downs_by_mid.values():
            if down.current is None:
                continue
            bitrate = down.window_bytes * 8000.0 / interval_ms
            down.window_bytes = 0
            events.append(
                ev.TrackStats(
                    at=at,
                    room=room.id,
                    identity=participant.identity,
                    track=down.current.id,
                    kind=down.kind,
                    direction="outbound",
                    bitrate=round(bitrate),
                    packets=down.packets,
                    packets_lost=down.packets_lost,
                    fraction_lost=round(down.fraction_lost, 4),
                    jitter_ms=0.0,
                    rtt_ms=down.rtt_ms,
                    freezes=0,
                    plis=down.plis,
                    nacks=down.nacks,
                    layer=down.current.layer,
                )
            )
    return events
