"""Ingest: pull RTSP/RTMP from classroom hardware and publish it into a room over WHIP.

Classroom recording boxes (录播主机) and IP cameras speak RTSP or RTMP, not WebRTC. The
ingest agent opens the source with PyAV, publishes one WebRTC session with aiortc through
WHIP (RFC 9725), and forwards the media (DESIGN.md §5):

- video must be H.264 and is never transcoded: packets are rewritten to Annex B (FLV and
  MP4 carry AVCC, length-prefixed NAL units) and handed to aiortc's ``RTCRtpSender`` as
  ``av.Packet``, which packs them into RTP without decoding (aiortc 1.16
  ``H264Encoder.pack``);
- Opus audio passes through as packets; any other audio (AAC from most cameras) is decoded
  and handed on as ``av.AudioFrame`` for aiortc to encode as Opus, the one transcoding step;
- a live source that drops is reopened with bounded backoff while the WHIP session stays up;
  timestamps run on one clock across reopenings, so receivers see no jump backwards.

Errors (all under ``media.errors.MediaError``)::

    IngestError
    ├── SourceError         the source cannot be opened or read (after the retries allowed)
    ├── UnsupportedCodec    the video is not H.264; ``codec`` names what it is
    └── PublishError        the WHIP endpoint refused or failed; ``status`` is the HTTP status
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import av
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.errors import PublishError, SourceError, UnsupportedCodec

logger = logging.getLogger(__name__)

VIDEO_CLOCK = Fraction(1, 90000)  # RFC 6184: H.264 RTP runs at 90 kHz
AUDIO_RATE = 48000  # RFC 7587: Opus RTP runs at 48 kHz whatever the coded rate
AUDIO_CLOCK = Fraction(1, AUDIO_RATE)
LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "rtmpt", "srt", "udp", "rtp"})
QUEUE_LIMIT = 512  # items per track; only reached when the sender has stopped pulling
REOPEN_GAP = 0.040  # seconds put between the last packet sent and the first after a reopen


@dataclass
class IngestResult:
    """What one :func:`ingest` run forwarded."""

    video_packets: int = 0
    audio_packets: int = 0
    keyframes: int = 0
    reconnects: int = 0
    transcoded_audio: bool = False


def redact(url: str) -> str:
    """The URL without user:password, for logs and messages (cameras embed credentials)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_live(url: str) -> bool:
    """Does the URL name a live stream (paced by its sender) rather than a file?"""
    return urlsplit(url).scheme.lower() in LIVE_SCHEMES


def open_options(url: str, timeout: float) -> dict[str, str]:
    """Demuxer options, so that a dead camera cannot hang a read forever."""
    micros = str(int(timeout * 1_000_000))
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        # TCP interleaving survives NAT and loss; `timeout` is the socket I/O timeout here.
        return {"rtsp_transport": "tcp", "timeout": micros}
    if scheme in ("", "file"):
        return {}
    # Not `timeout`: for RTMP that option means "listen for an incoming connection".
    return {"rw_timeout": micros}


@dataclass
class _Timeline:
    """Maps each opened source's timestamps onto one output clock, in seconds.

    The first packet of every opening is placed at ``elapsed`` (time since ingest began),
    and never before what was already sent, so reconnects move the clock forward only.
    """

    offset: float | None = None
    end: float | None = None

    def restart(self) -> None:
        self.offset = None

    def place(self, source_seconds: float, elapsed: float) -> float:
        if self.offset is None:
            start = elapsed if self.end is None else max(elapsed, self.end + REOPEN_GAP)
            self.offset = start - source_seconds
        out = source_seconds + self.offset
        self.end = out if self.end is None else max(self.end, out)
        return out


@dataclass
class _Item:
    kind: str  # "video" or "audio"
    media: Any  # av.Packet or av.AudioFrame
    seconds: float  # on the source's timeline
    keyframe: bool = False


class _Source:
    """One opened source. Every method blocks: call it in a worker thread."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.name = redact(url)
        self.closed = False
        try:
            self.container = av.open(url, options=open_options(url, timeout), timeout=timeout)
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(f"cannot open {self.name}: {_reason(exc, url)}") from exc
        try:
            self._select(url)
        except BaseException:
            self.container.close()
            raise

    def _select(self, url: str) -> None:
        videos = self.container.streams.video
        if not videos:
            raise SourceError(f"{redact(url)} has no video stream")
        self.video = videos[0]
        codec = self.video.codec_context.name
        if codec != "h264":
            raise UnsupportedCodec(codec)
        # h264_mp4toannexb turns AVCC into Annex B and puts SPS/PPS before each IDR; it
        # passes Annex B input (RTSP, MPEG-TS) through unchanged.
        self.annexb = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", self.video)
        self.parameter_sets = _annexb_parameter_sets(self.video.codec_context.extradata)
        audios = self.container.streams.audio
        self.audio = audios[0] if audios else None
        self.audio_codec = self.audio.codec_context.name if self.audio else None
        self.resampler: Any = None
        if self.audio is not None and self.audio_codec != "opus":
            self.resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE)
        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        self._packets = self.container.demux(*streams)

    def describe(self) -> str:
        ctx = self.video.codec_context
        text = f"video h264 {ctx.profile or ''} {ctx.width}x{ctx.height}".replace("  ", " ")
        if self.audio is not None:
            rate = self.audio.codec_context.sample_rate
            how = "passed through" if self.resampler is None else "transcoded to Opus"
            text += f", audio {self.audio_codec} {rate} Hz ({how})"
        return text

    def read(self) -> tuple[str, list[_Item]] | None:
        """The kind and items of the next demuxed packet; None at the end of the source."""
        packet = next(self._packets, None)
        if packet is None:
            return None
        when = packet.pts if packet.pts is not None else packet.dts
        if packet.size == 0 or when is None or packet.time_base is None:
            return "none", []  # the flush packet at EOF, or a packet without timing
        seconds = float(when * packet.time_base)
        if packet.stream is self.video:
            return "video", [self._video(p, seconds) for p in self.annexb.filter(packet)]
        if self.resampler is None:
            return "audio", [_Item("audio", packet, seconds)]
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            logger.warning(
                "Ingest(%s) dropped an undecodable %s packet", self.name, self.audio_codec
            )
            return "audio", []
        items = []
        for frame in frames:
            for out in self.resampler.resample(frame):
                items.append(_Item("audio", out, seconds))
                seconds += out.samples / AUDIO_RATE
        return "audio", items

    def _video(self, packet: Any, seconds: float) -> _Item:
        data = bytes(packet)
        keyframe = bool(packet.is_keyframe)
        if keyframe and self.parameter_sets and not _has_sps(data):
            # RTSP cameras often send SPS/PPS only in the SDP (sprop-parameter-sets).
            data = self.parameter_sets + data
        return _Item("video", av.Packet(data), seconds, keyframe)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.container.close()


def _reason(exc: BaseException, url: str) -> str:
    """Why PyAV failed, without the URL's credentials (its messages quote the URL)."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).replace(url, redact(url))


def _nal_types(data: bytes) -> list[int]:
    types = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0 and pos + 3 < len(data):
        types.append(data[pos + 3] & 0x1F)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return types


def _has_sps(data: bytes) -> bool:
    return 7 in _nal_types(data)


def _annexb_parameter_sets(extradata: bytes | None) -> bytes:
    """SPS/PPS from Annex B extradata; b"" for AVCC extradata (the filter handles that)."""
    if not extradata or not (
        extradata.startswith(b"\x00\x00\x01") or extradata[:4] == b"\x00\x00\x00\x01"
    ):
        return b""
    return extradata if _has_sps(extradata) else b""


class _QueueTrack(MediaStreamTrack):
    """A track whose ``recv()`` hands aiortc what ingest queued: packets or audio frames."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_LIMIT)

    def push(self, item: Any) -> None:
        if self.queue.full():  # the sender stopped pulling: keep the newest media
            self.queue.get_nowait()
            logger.warning("Ingest %s queue full; dropped the oldest item", self.kind)
        self.queue.put_nowait(item)

    async def recv(self) -> Any:
        item = await self.queue.get()
        if item is None:
            raise MediaStreamError
        return item

    def stop(self) -> None:
        super().stop()
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class _Whip:
    """One WHIP publishing session: an aiortc peer connection and its resource URL."""

    def __init__(
        self, pc: RTCPeerConnection, video: _QueueTrack, audio: _QueueTrack | None
    ) -> None:
        self.pc = pc
        self.video = video
        self.audio = audio
        self.location: str | None = None
        self.token = ""

    @property
    def up(self) -> bool:
        return self.pc.connectionState not in ("failed", "closed")

    @classmethod
    async def publish(
        cls,
        whip_url: str,
        token: str,
        *,
        audio: bool,
        timeout: float,
        ice_servers: Sequence[RTCIceServer],
    ) -> _Whip:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        session = cls(pc, _QueueTrack("video"), _QueueTrack("audio") if audio else None)
        session.token = token
        try:
            await session._negotiate(whip_url, timeout)
        except BaseException:
            await session.close(timeout)
            raise
        return session

    async def _negotiate(self, whip_url: str, timeout: float) -> None:
        for track, mime in ((self.video, "video/H264"), (self.audio, "audio/opus")):
            if track is None:
                continue
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            # Only the codec ingest can feed: aiortc would pick the encoder from the answer.
            codecs = RTCRtpSender.getCapabilities(track.kind).codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType == mime])
        await self.pc.setLocalDescription(await self.pc.createOffer())  # gathers candidates
        status, headers, body = await asyncio.to_thread(
            _http, "POST", whip_url, self.token, self.pc.localDescription.sdp.encode(), timeout
        )
        if status != 201:
            raise _refusal(whip_url, status, body)
        location = headers.get("Location")
        if not location:
            raise PublishError(f"WHIP endpoint {whip_url} answered 201 without a Location", 201)
        self.location = urljoin(whip_url, location)
        connected = asyncio.Event()
        self.pc.on("connectionstatechange", lambda: _set_if_settled(self.pc, connected))
        await self.pc.setRemoteDescription(RTCSessionDescription(body.decode(), "answer"))
        try:
            await asyncio.wait_for(connected.wait(), timeout)
        except TimeoutError:
            raise PublishError(f"no WebRTC connection to {whip_url} within {timeout:g} s") from None
        if self.pc.connectionState != "connected":
            raise PublishError(f"WebRTC connection to {whip_url} {self.pc.connectionState}")

    def push(self, item: _Item) -> None:
        track = self.video if item.kind == "video" else self.audio
        if track is not None:
            track.push(item.media)

    async def drain(self, limit: float) -> None:
        """Let the senders take what is queued, for at most ``limit`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        tracks = [t for t in (self.video, self.audio) if t is not None]
        while self.up and any(not t.queue.empty() for t in tracks) and loop.time() < deadline:
            await asyncio.sleep(0.02)

    async def close(self, timeout: float) -> None:
        """End the session: DELETE the WHIP resource (RFC 9725 §4.2) and close the peer."""
        if self.location is not None:
            location, self.location = self.location, None
            try:
                await asyncio.to_thread(_http, "DELETE", location, self.token, None, timeout)
            except PublishError as exc:
                logger.warning("Ingest could not end the WHIP session: %s", exc)
        await self.pc.close()


def _set_if_settled(pc: RTCPeerConnection, event: asyncio.Event) -> None:
    if pc.connectionState in ("connected", "failed", "closed"):
        event.set()


def _http(
    method: str, url: str, token: str, body: bytes | None, timeout: float
) -> tuple[int, Any, bytes]:
    """One blocking WHIP request; never through an environment proxy."""
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/sdp"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), response.headers, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PublishError(f"WHIP endpoint {url} unreachable: {reason}") from exc


def _refusal(url: str, status: int, body: bytes) -> PublishError:
    detail = body.decode(errors="replace").strip()[:200]
    if status in (401, 403):
        text = "refused the token: check the ingest token for this room"
    elif status == 404:
        text = "has no such room"
    elif status in (400, 406, 415, 422, 488):
        text = "rejected the SDP offer"
    elif status in (409, 429, 503):
        text = "is busy or the room is full; try again later"
    else:
        text = "answered unexpectedly"
    return PublishError(
        f"WHIP endpoint {url} {text} (HTTP {status})" + (f": {detail}" if detail else ""),
        status,
    )


async def ingest(
    source_url: str,
    whip_url: str,
    token: str,
    *,
    stop: asyncio.Event | None = None,
    reconnect: bool = True,
    on_status: Callable[[str], None] | None = None,
    timeout: float = 10.0,
    retries: int = 5,
    live: bool | None = None,
    ice_servers: Sequence[RTCIceServer] = (),
) -> IngestResult:
    """Publish ``source_url`` into a room through the WHIP endpoint ``whip_url``.

    Runs until ``stop`` is set, a file source ends, or a live source stays lost after
    ``retries`` reopenings (``SourceError``). ``timeout`` bounds opening the source, each
    read, and each WHIP exchange. ``live`` overrides the guess from the URL scheme: a file
    is paced by its timestamps, a live source paces itself and is reopened when it drops
    (if ``reconnect``). ``ice_servers`` defaults to none: the SFU's host candidates.
    """
    stop = stop or asyncio.Event()
    status = on_status or (lambda _text: None)
    live = is_live(source_url) if live is None else live
    name = redact(source_url)
    result = IngestResult()
    loop = asyncio.get_running_loop()
    started = loop.time()
    timeline = _Timeline()

    async def open_source(attempts: int) -> _Source | None:
        """Open with backoff, up to ``attempts`` tries; None when stopped meanwhile."""
        for attempt in range(attempts):
            try:
                status(f"opening {name}")
                return await asyncio.to_thread(_Source, source_url, timeout)
            except SourceError as exc:
                if attempt + 1 >= attempts:
                    raise
                delay = min(0.5 * 2**attempt, 8.0)
                status(f"{exc}; retrying in {delay:g} s ({attempt + 1}/{attempts - 1})")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return None
        return None

    tries = 1 + retries if live and reconnect else 1
    source = await open_source(tries)
    if source is None:
        return result
    session: _Whip | None = None
    try:
        status(f"source {source.describe()}")
        status(f"publishing to {whip_url}")
        session = await _Whip.publish(
            whip_url,
            token,
            audio=source.audio is not None,
            timeout=timeout,
            ice_servers=ice_servers,
        )
        status("live")
        while True:
            lost = await _pump(source, session, timeline, result, stop, live, started)
            await asyncio.to_thread(source.close)
            if stop.is_set():
                break
            if lost is None:  # a file ended
                await session.drain(2.0)
                break
            if not session.up:
                raise PublishError(f"the WHIP session at {whip_url} ended ({lost})")
            if not reconnect:
                raise SourceError(f"lost {name}: {lost}")
            status(f"source lost ({lost}); reconnecting")
            reopened = await open_source(1 + retries)
            if reopened is None:
                break
            source = reopened
            result.reconnects += 1
            timeline.restart()
            status(f"reconnected: {source.describe()}")
    finally:
        if session is not None:
            await session.close(timeout)
        await asyncio.to_thread(source.close)
    status("stopped")
    return result


async def _pump(
    source: _Source,
    session: _Whip,
    timeline: _Timeline,
    result: IngestResult,
    stop: asyncio.Event,
    live: bool,
    started: float,
) -> str | None:
    """Forward one opened source until it ends; the reason if it was lost, else None."""
    loop = asyncio.get_running_loop()
    audio_next: int | None = None  # next output sample for decoded audio
    transcode = source.resampler is not None
    result.transcoded_audio = result.transcoded_audio or transcode
    while not stop.is_set():
        if not session.up:
            return "the WebRTC connection closed"
        try:
            read = await asyncio.to_thread(source.read)
        except (av.error.FFmpegError, OSError) as exc:
            if not live:
                raise SourceError(f"cannot read {source.name}: {_reason(exc, source.url)}") from exc
            return _reason(exc, source.url)
        if read is None:
            return "end of stream" if live else None
        kind, items = read
        result.audio_packets += kind == "audio"
        for item in items:
            seconds = timeline.place(item.seconds, loop.time() - started)
            if not live:  # a file would otherwise be sent as fast as it can be read
                delay = started + seconds - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    if stop.is_set():
                        return None
            media = item.media
            if item.kind == "video":
                media.pts = round(seconds / VIDEO_CLOCK)
                media.time_base = VIDEO_CLOCK
                result.video_packets += 1
                result.keyframes += item.keyframe
            elif transcode:
                # Count samples so the encoder sees a gapless clock within one opening.
                if audio_next is None:
                    audio_next = round(seconds * AUDIO_RATE)
                media.pts = audio_next
                media.time_base = AUDIO_CLOCK
                audio_next += media.samples
            else:
                media.pts = round(seconds * AUDIO_RATE)
                media.time_base = AUDIO_CLOCK
            session.push(item)
    return None
