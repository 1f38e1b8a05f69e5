"""The aiortc adapter against real aiortc (run on every aiortc upgrade).

Two tapped connections negotiate over loopback, then exchange RTP and RTCP bytes that
must arrive unchanged, decrypted, on the fast path; aiortc itself decodes nothing.
"""

from __future__ import annotations

import asyncio
import threading
from importlib.metadata import version

import pytest

import media.aiortc_tap as tap
from media.rtp import rtcp
from media.rtp.header import ExtensionIds, OutboundTemplate, parse_rtp

pytestmark = pytest.mark.slow


def test_the_adapter_runs_on_the_versions_it_was_written_for() -> None:
    assert version("aiortc") == tap.AIORTC_VERSION
    assert version("aioice") == "0.13.0" and version("pylibsrtp") == "1.0.0"


async def test_tapped_connections_exchange_rtp_and_rtcp_bytes() -> None:
    got_a: list[bytes] = []
    got_b: list[bytes] = []
    a = tap.Connection(lambda data, now: got_a.append(data), got_a.append)
    b = tap.Connection(lambda data, now: got_b.append(data), got_b.append)
    try:
        offer = await a.offer([("video", "sendrecv")])
        answer = await b.answer(offer, send_mids={"0"})
        await a.accept(answer)
        await asyncio.wait_for(asyncio.gather(a.connected.wait(), b.connected.wait()), 10)
        for _ in range(50):
            if a._view is not None and b._view is not None:
                break
            await asyncio.sleep(0.05)
        (section,) = b.sections()
        assert section.kind == "video" and section.direction == "sendrecv"
        assert section.codec("vp8") is not None and section.remote_ssrc is not None

        packet = bytes([0x80, 96, 0, 1, 0, 0, 0, 9, 0, 0, 0, 42]) + b"payload"
        assert a.send(packet)
        assert a.send(rtcp.picture_loss(1, 2))
        template = OutboundTemplate(b"forwarded", True, ExtensionIds(abs_send_time=3), None)
        assert b.send_rtp(template, 97, 7, 1234, 0xCAFE, 0x010203)
        for _ in range(50):
            if len(got_b) >= 2 and got_a:
                break
            await asyncio.sleep(0.05)
        assert packet in got_b
        assert rtcp.picture_loss(1, 2) in got_b
        received = parse_rtp(got_a[-1])
        assert (received.payload_type, received.sequence, received.timestamp, received.ssrc) == (
            97,
            7,
            1234,
            0xCAFE,
        )
        assert received.marker and got_a[-1].endswith(b"forwarded")
        assert a.sent_packets == 2 and b.sent_packets == 1
        assert not [t for t in threading.enumerate() if t.name.endswith("-decoder")]
        assert not b.send(b"\x80")  # too short to be anything
    finally:
        await a.close()
        await b.close()


async def test_offers_are_answered_with_opus_fec_and_garbage_is_refused() -> None:
    a = tap.Connection(lambda data, now: None, lambda data: None)
    b = tap.Connection(lambda data, now: None, lambda data: None)
    try:
        offer = await a.offer([("audio", "sendonly")])
        answer = await b.answer(offer, send_mids=set())
        assert "useinbandfec=1" in answer
        with pytest.raises(tap.NegotiationFailed):
            await tap.Connection(lambda d, n: None, lambda d: None).answer(
                "v=0\r\nm=audio x\r\n", set()
            )
    finally:
        await a.close()
        await b.close()
