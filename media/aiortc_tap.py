"""The only module that reaches into aiortc and aioice internals (aiortc 1.16.0, pinned).

aiortc answers offers, gathers ICE candidates and runs DTLS; everything after that is
ours. A :class:`Connection` wraps an ``RTCPeerConnection`` and

* disarms aiortc's own RTP senders and receivers (no jitter buffer, no decoder thread,
  no sender reports with made-up numbers: DESIGN.md §5);
* hands every decrypted RTP and RTCP datagram to ``on_rtp`` / ``on_rtcp`` as bytes,
  straight from the UDP socket once DTLS is up (no coroutine per packet), or, with
  ``poll_interval`` (the recorder), from reading every socket on one timer;
* sends RTP/RTCP synchronously: SRTP-protect and ``sendto`` on the nominated pair.

It also guards aioice's STUN parsing (a short attribute raised ``struct.error``) and
can pin host candidates to loopback for tests and benchmarks. Tested on every aiortc
upgrade by tests/media/test_aiortc_tap.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
import weakref
from asyncio import selector_events
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from pylibsrtp._binding import ffi, lib

from media.errors import NegotiationFailed

__all__ = ["Connection", "NegotiationFailed", "use_loopback_candidates"]
from media.rtp.header import OutboundTemplate, is_rtcp

logger = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"

POLLED_RCVBUF = 1 << 20  # bytes
_SELECTOR_DATAGRAM: Any = getattr(selector_events, "_SelectorDatagramTransport")  # noqa: B009
MAX_PACKET = 1400  # leaves room for the SRTP trailer in libsrtp's 1,500-byte buffer

OnRtp = Callable[[bytes, float], None]  # (plain RTP packet, arrival time in ms)
OnRtcp = Callable[[bytes], None]


@dataclass(frozen=True, slots=True)
class Codec:
    payload_type: int
    name: str  # lower case: vp8, h264, opus, rtx
    clock_rate: int
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def rtx_for(self) -> int | None:
        apt = self.parameters.get("apt")
        return int(apt) if self.name == "rtx" and apt is not None else None


@dataclass(frozen=True, slots=True)
class MediaSection:
    """One negotiated m-section, as the SFU needs it."""

    mid: str
    kind: str  # audio | video
    direction: str  # the SFU's side: sendonly | recvonly | sendrecv | inactive
    codecs: tuple[Codec, ...]
    extensions: dict[str, int]  # uri -> id
    remote_ssrc: int | None  # what the peer sends on it
    remote_rtx_ssrc: int | None
    local_ssrc: int  # what we send on it (and our RTCP sender SSRC)
    local_rtx_ssrc: int

    def codec(self, name: str) -> Codec | None:
        for codec in self.codecs:
            if codec.name == name:
                return codec
        return None

    def rtx_payload_type(self, payload_type: int) -> int | None:
        for codec in self.codecs:
            if codec.rtx_for == payload_type:
                return codec.payload_type
        return None


def peer_connection() -> RTCPeerConnection:
    """A plain aiortc peer connection with no ICE servers (tests, ingest, benchmarks)."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def use_loopback_candidates() -> None:
    """Gather host candidates on 127.0.0.1 only (tests, benchmarks; aioice skips it)."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


_original_datagram_received = aioice.ice.StunProtocol.datagram_received


def _guarded_datagram_received(self: Any, data: bytes, addr: tuple[Any, ...]) -> None:
    try:
        _original_datagram_received(self, data, addr)
    except (struct.error, IndexError, KeyError, UnicodeDecodeError) as exc:
        # aioice only catches ValueError while parsing STUN; a garbage datagram must
        # not take the whole peer connection down.
        logger.debug("dropped malformed datagram from %s: %r", addr, exc)


def guard_stun() -> None:
    setattr(aioice.ice.StunProtocol, "datagram_received", _guarded_datagram_received)  # noqa: B010


guard_stun()


class Connection:
    """One peer connection whose media the SFU (or a test client) handles itself."""

    def __init__(
        self,
        on_rtp: OnRtp,
        on_rtcp: OnRtcp,
        ice_servers: tuple[str, ...] = (),
        on_ready: Callable[[], None] | None = None,
        *,
        poll_interval: float = 0.0,
    ) -> None:
        """``poll_interval``: 0 reads every datagram as it arrives (the SFU); above 0,
        once DTLS is up, the sockets are read every so many seconds instead, in one
        wake-up for every connection of the loop (the recorder, which can wait: asyncio
        wakes up for each datagram otherwise, at 20-50 µs of CPU each)."""
        # No ICE servers unless configured: aiortc would otherwise ask Google's STUN server.
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[RTCIceServer(url) for url in ice_servers])
        )
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp
        self._on_ready = on_ready  # SRTP is up: what is sent from now on arrives
        self._poll_interval = poll_interval
        self._polled: list[tuple[_DatagramPoller, Any]] = []  # (poller, transport)
        self._dtls: Any = None
        self._ice: Any = None
        self._fast = False
        self._view: memoryview | None = None  # the SRTP session's buffer, once DTLS is up
        self._srtp: Any = None
        self._cdata: Any = None
        self._length: Any = ffi.new("int *")
        self._nominated: dict[int, Any] = {}
        self._pair: Any = None
        self._addr: Any = None
        self._sendto: Any = None
        self.sent_packets = 0
        self.sent_bytes = 0
        self.send_errors = 0
        self.closed = asyncio.Event()
        self.connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._state_changed)

    # --- negotiation -----------------------------------------------------------

    async def answer(self, offer_sdp: str, send_mids: set[str]) -> str:
        """Answer an offer; the SFU sends on ``send_mids`` (the peer's recvonly lines)."""
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as exc:  # aiortc documents no error types; found by fuzzing
            raise NegotiationFailed(f"the offer cannot be parsed: {exc!r}"[:300]) from exc
        for transceiver in self.pc.getTransceivers():
            if transceiver.mid in send_mids:
                transceiver.direction = "sendrecv"  # the answer keeps what the offer allows
            self._disarm(transceiver)
        try:
            answer = await self.pc.createAnswer()
            answer = RTCSessionDescription(with_opus_fec(answer.sdp), "answer")
            await self.pc.setLocalDescription(answer)
        except Exception as exc:
            raise NegotiationFailed(f"no answer for this offer: {exc!r}"[:300]) from exc
        self._hook_transport()
        return str(self.pc.localDescription.sdp)

    async def offer(self, kinds: list[tuple[str, str]]) -> str:
        """Make an offer with one transceiver per (kind, direction) (client side)."""
        for kind, direction in kinds:
            self._disarm(self.pc.addTransceiver(kind, direction=direction))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._hook_transport()
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))

    def sections(self) -> list[MediaSection]:
        """The negotiated m-sections, from the SFU's (local) point of view."""
        local = self.pc.localDescription
        remote = self.pc.remoteDescription
        if local is None or remote is None:
            return []
        local_sdp = aiortc_sdp.SessionDescription.parse(local.sdp)
        remote_sdp = aiortc_sdp.SessionDescription.parse(remote.sdp)
        remote_by_mid = {m.rtp.muxId: m for m in remote_sdp.media}
        senders = {t.mid: t.sender for t in self.pc.getTransceivers()}
        result = []
        for media in local_sdp.media:
            mid = media.rtp.muxId
            if media.kind not in ("audio", "video") or mid not in senders:
                continue
            theirs = remote_by_mid.get(mid)
            ssrc, rtx_ssrc = _ssrcs(theirs) if theirs is not None else (None, None)
            sender = senders[mid]
            result.append(
                MediaSection(
                    mid=mid,
                    kind=media.kind,
                    direction=media.direction or "sendrecv",
                    codecs=tuple(
                        Codec(
                            c.payloadType,
                            c.mimeType.split("/")[-1].lower(),
                            c.clockRate,
                            dict(c.parameters),
                        )
                        for c in media.rtp.codecs
                        if c.payloadType is not None
                    ),
                    extensions={h.uri: h.id for h in media.rtp.headerExtensions},
                    remote_ssrc=ssrc,
                    remote_rtx_ssrc=rtx_ssrc,
                    local_ssrc=sender._ssrc,
                    local_rtx_ssrc=sender._rtx_ssrc,
                )
            )
        return result

    # --- media -----------------------------------------------------------------

    def send(self, data: bytes | bytearray) -> bool:
        """SRTP-protect and send one RTP or RTCP packet now; False if not connected."""
        size = len(data)
        if self._view is None or size > MAX_PACKET or size < 8:
            return False
        self._view[:size] = data
        return self._protect_and_send(size, rtcp=is_rtcp(data))

    def send_rtp(
        self,
        template: OutboundTemplate,
        payload_type: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        send_time: int,
    ) -> bool:
        """Render a forwarded packet straight into the SRTP buffer, protect and send it.

        The SFU's hot path (once per packet per subscriber): ``_protect_and_send``
        inlined, the send function and address kept from the last nominated pair."""
        view = self._view
        if view is None or template.size > MAX_PACKET:
            return False
        length = self._length
        length[0] = template.render_into(view, payload_type, sequence, timestamp, ssrc, send_time)
        if lib.srtp_protect(self._srtp, self._cdata, length) != 0:
            self.send_errors += 1
            return False
        pair = self._nominated.get(1)
        if pair is None:
            return False
        if pair is not self._pair:
            self._use_pair(pair)
        size = length[0]
        try:
            self._sendto(view[:size], self._addr)
        except OSError as exc:
            self.send_errors += 1
            logger.debug("send failed: %r", exc)
            return False
        self.sent_packets += 1
        self.sent_bytes += size
        return True

    def _protect_and_send(self, size: int, *, rtcp: bool) -> bool:
        # pylibsrtp's Session.protect allocates and copies on every call; this calls
        # libsrtp on the session's own buffer instead (the hot path of the SFU).
        length = self._length
        length[0] = size
        protect = lib.srtp_protect_rtcp if rtcp else lib.srtp_protect
        if protect(self._srtp, self._cdata, length) != 0:
            self.send_errors += 1
            return False
        pair = self._nominated.get(1)
        if pair is None:
            return False
        if pair is not self._pair:
            self._use_pair(pair)
        view = self._view
        assert view is not None
        try:
            self._sendto(view[: length[0]], self._addr)
        except OSError as exc:
            self.send_errors += 1
            logger.debug("send failed: %r", exc)
            return False
        self.sent_packets += 1
        self.sent_bytes += length[0]
        return True

    def _use_pair(self, pair: Any) -> None:
        self._pair, self._addr = pair, pair.remote_addr
        self._sendto = pair.protocol.transport.sendto

    async def close(self) -> None:
        for poller, transport in self._polled:
            poller.discard(transport)
        self._polled.clear()
        await self.pc.close()
        self.closed.set()

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    # --- internals -------------------------------------------------------------

    def _disarm(self, transceiver: Any) -> None:
        """Keep aiortc's sender and receiver from sending or decoding anything."""
        sender, receiver = transceiver.sender, transceiver.receiver
        if getattr(sender, "_sanke_disarmed", False):
            return

        async def send(parameters: Any) -> None:
            return None

        async def receive(parameters: Any) -> None:
            return None

        async def stop() -> None:
            return None

        sender.send = send
        sender.stop = stop
        receiver.receive = receive
        receiver.stop = stop
        sender._sanke_disarmed = True

    def _hook_transport(self) -> None:
        """Route decrypted datagrams to us (slow path until DTLS is up)."""
        transceivers = self.pc.getTransceivers()
        if not transceivers or self._dtls is not None:
            return
        dtls = transceivers[0].receiver.transport
        self._dtls = dtls
        self._ice = dtls.transport
        on_rtp, on_rtcp = self._on_rtp, self._on_rtcp

        async def handle_rtp(data: bytes, arrival_time_ms: int) -> None:
            on_rtp(data, time.monotonic() * 1000.0)

        async def handle_rtcp(data: bytes) -> None:
            on_rtcp(data)

        setattr(dtls, "_handle_rtp_data", handle_rtp)  # noqa: B010
        setattr(dtls, "_handle_rtcp_data", handle_rtcp)  # noqa: B010
        dtls.on("statechange", self._dtls_state_changed)

    def _dtls_state_changed(self) -> None:
        if self._dtls is not None and self._dtls.state == "connected":
            self._install_fast_path()
            if self._on_ready is not None:
                self._on_ready()

    def _install_fast_path(self) -> None:
        """Take SRTP datagrams off the socket directly: no queue, no coroutine."""
        if self._fast:
            return
        self._fast = True
        dtls = self._dtls
        session = dtls._tx_srtp
        self._srtp, self._cdata = session._srtp[0], session._cdata
        self._view = memoryview(session._buffer)
        self._nominated = self._ice._connection._nominated
        on_rtp, on_rtcp = self._on_rtp, self._on_rtcp
        monotonic = time.monotonic
        rx = dtls._rx_srtp
        rx_srtp, rx_cdata, rx_view = rx._srtp[0], rx._cdata, memoryview(rx._buffer)
        rx_length = ffi.new("int *")
        unprotect_rtp, unprotect_rtcp = lib.srtp_unprotect, lib.srtp_unprotect_rtcp
        for protocol in self._ice._connection._protocols:
            slow = protocol.datagram_received

            def fast(data: bytes, addr: Any, slow: Any = slow) -> None:
                size = len(data)
                if 12 < size <= 1500 and 127 < data[0] < 192:
                    rtcp = 192 <= data[1] <= 223
                    rx_view[:size] = data
                    rx_length[0] = size
                    # pylibsrtp's unprotect allocates per call; libsrtp directly does not.
                    if (unprotect_rtcp if rtcp else unprotect_rtp)(rx_srtp, rx_cdata, rx_length):
                        return  # replayed or forged: SRTP authentication failed
                    plain = bytes(rx_view[: rx_length[0]])
                    if rtcp:
                        on_rtcp(plain)
                    else:
                        on_rtp(plain, monotonic() * 1000.0)
                    return
                slow(data, addr)

            protocol.datagram_received = fast
        if self._poll_interval > 0:
            poller = _DatagramPoller.of(asyncio.get_running_loop(), self._poll_interval)
            for protocol in self._ice._connection._protocols:
                transport = getattr(protocol, "transport", None)
                if poller.add(transport, protocol):
                    self._polled.append((poller, transport))

    async def _state_changed(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self.connected.set()
        elif state in ("failed", "closed"):
            self.closed.set()


class _DatagramPoller:
    """Reads the sockets of every polled connection of a loop every ``interval`` seconds,
    on one timer: one wake-up for all of them, where asyncio wakes up per datagram."""

    _of: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, Any]]] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop, interval: float) -> _DatagramPoller:
        """The loop's poller of ``interval``, made on first use."""
        pollers = cls._of.setdefault(loop, {})
        if interval not in pollers:
            pollers[interval] = cls(loop, interval)
        poller: _DatagramPoller = pollers[interval]
        return poller

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self._loop: Any = loop
        self._interval = interval
        self._polled: dict[Any, tuple[Any, Any]] = {}  # transport -> (recvfrom, protocol)
        self._timer: asyncio.TimerHandle | None = None

    def add(self, transport: Any, protocol: Any) -> bool:
        """Poll ``transport`` from now on; False if it is not asyncio's own (uvloop's:
        libuv reads many datagrams per wake-up already)."""
        if not isinstance(transport, _SELECTOR_DATAGRAM):
            return False
        self._loop._remove_reader(transport._sock_fd)
        # room for a keyframe's burst between two reads (the kernel caps it at rmem_max)
        transport._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, POLLED_RCVBUF)
        self._polled[transport] = (transport._sock.recvfrom, protocol)
        if self._timer is None:
            self._schedule()
        return True

    def discard(self, transport: Any) -> None:
        self._polled.pop(transport, None)

    def _schedule(self) -> None:
        when = (self._loop.time() // self._interval + 1) * self._interval
        self._timer = self._loop.call_at(when, self._read)

    def _read(self) -> None:
        self._timer = None
        try:
            for transport, (recvfrom, protocol) in list(self._polled.items()):
                if transport.is_closing():
                    del self._polled[transport]
                else:
                    _read_datagrams(transport, recvfrom, protocol)
        finally:
            if self._polled:
                self._schedule()


def _read_datagrams(transport: Any, recvfrom: Any, protocol: Any) -> None:
    """asyncio's ``_SelectorDatagramTransport._read_ready``, until the socket is empty."""
    while not transport.is_closing():
        try:
            data, addr = recvfrom(transport.max_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            protocol.error_received(exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            transport._fatal_error(exc, "Fatal read error on datagram transport")
            return
        protocol.datagram_received(data, addr)


def with_opus_fec(sdp: str) -> str:
    """Ask Opus senders for in-band FEC (RFC 7587 ``useinbandfec=1``): weak links first."""
    lines = sdp.split("\r\n")
    opus = {
        line.split(":", 1)[1].split(" ", 1)[0]
        for line in lines
        if line.startswith("a=rtpmap:") and " opus/48000" in line.lower()
    }
    out: list[str] = []
    with_fmtp: set[str] = set()
    for line in lines:
        if line.startswith("a=fmtp:"):
            payload_type, _, params = line[7:].partition(" ")
            if payload_type in opus:
                with_fmtp.add(payload_type)
                if "useinbandfec" not in params:
                    line = (
                        f"a=fmtp:{payload_type} {params};useinbandfec=1"
                        if params
                        else f"a=fmtp:{payload_type} useinbandfec=1"
                    )
        out.append(line)
    result: list[str] = []
    for line in out:
        result.append(line)
        if line.startswith("a=rtpmap:"):
            payload_type = line[9:].split(" ", 1)[0]
            if payload_type in opus and payload_type not in with_fmtp:
                result.append(f"a=fmtp:{payload_type} useinbandfec=1")
    return "\r\n".join(result)


def _ssrcs(media: Any) -> tuple[int | None, int | None]:
    primary: int | None = None
    rtx: int | None = None
    for group in media.ssrc_group:
        if group.semantic == "FID" and len(group.items) >= 2:
            primary, rtx = int(group.items[0]), int(group.items[1])
    if primary is None and media.ssrc:
        primary = int(media.ssrc[0].ssrc)
    return primary, rtx
