"""A room's recorder: one more subscriber of the SFU, hidden, that writes what it
receives as encoded frames into short segments (no decoding, no encoding).

It joins over the same WebSocket signalling as the pages, subscribes to every source
it is shown (the recorder is in every audience), at the high layer, and renegotiates
as sources come and go. Packets arrive SRTP-decrypted through ``aiortc_tap.Connection``
(no jitter buffer, no decoder); each track's packets become frames
(``FrameAssembler``), stamped with wall-clock time from the SFU's sender reports
(``RtpClock``), and go to a ``SegmentWriter``. After a network loss or an SFU restart
it rejoins and goes on in new segments of the same recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from media.aiortc_tap import Codec, Connection, MediaSection
from media.rtp import rtcp
from media.rtp.header import is_rtcp
from recorder.frames import FrameAssembler
from recorder.segments import SegmentWriter
from recorder.timeline import RtpClock

logger = logging.getLogger(__name__)

NTP_EPOCH = 2_208_988_800  # seconds from 1900 to 1970
RECORDED = {"vp8", "h264", "opus"}
FINAL = ("token_", "lesson_", "replaced")  # error codes after which rejoining cannot help
MANIFEST = "recording.json"
# The sockets are read every 20 ms, not on every datagram: a wake-up per datagram cost
# more than all the recording, and at 10 ms the wake-ups were still half of what one
# stream costs (bench_recorder). The SFU forwards; the recorder can wait, and the socket
# holds a keyframe's burst meanwhile (aiortc_tap asks for a bigger receive buffer).
POLL_INTERVAL = 0.02
_SSRC = struct.Struct("!I")


def track_name(source_id: str) -> str:
    """A file-name stem for a source id: ``teacher:cs-1-t1/camera`` → ``teacher_cs-1-t1_camera``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", source_id)[:120]


@dataclass
class _Track:
    source_id: str
    name: str
    codec: str
    clock_rate: int
    assembler: FrameAssembler
    clock: RtpClock
    writer: SegmentWriter

    def push(self, packet: bytes, arrival: float) -> None:
        for frame in self.assembler.push(packet, arrival):
            self.writer.write(frame, self.clock.wall(frame.timestamp, frame.arrival))

    def close(self) -> None:
        for frame in self.assembler.flush():
            self.writer.write(frame, self.clock.wall(frame.timestamp, frame.arrival))
        self.writer.close()


@dataclass
class _Session:
    """One join: its connection and what each SSRC it receives is."""

    connection: Connection
    by_ssrc: dict[int, _Track] = field(default_factory=dict)
    by_mid: dict[str, str] = field(default_factory=dict)  # mid -> source id
    # SSRCs subscribed whose codec the first packet will tell: (source id, codec by PT)
    pending: dict[int, tuple[str, dict[int, Codec]]] = field(default_factory=dict)


class RoomRecorder:
    """Record one room into ``folder`` until ``stop()`` (or the room closes)."""

    def __init__(
        self,
        url: str,
        token: Callable[[], str],
        folder: Path,
        *,
        segment_seconds: float = 2.0,
    ) -> None:
        self.url = url
        self._token = token
        self.folder = folder
        self.segment_seconds = segment_seconds
        self.state = "new"  # new | joining | recording | rejoining | stopped
        self.error = ""
        self.sessions = 0
        self._stop = asyncio.Event()
        self._tracks: dict[str, _Track] = {}  # source id -> its track, this session
        self._session: _Session | None = None
        self._task: asyncio.Task[None] | None = None
        # Segments are closed and fsynced here, in order, not on the event loop.
        self._finisher = ThreadPoolExecutor(1, thread_name_prefix=f"Recorder({folder.name})")

    # --- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def tracks(self) -> list[str]:
        return sorted(self._tracks)

    async def _run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        delay = 0.25
        try:
            while not self._stop.is_set():
                self.state = "joining" if not self.sessions else "rejoining"
                try:
                    final = await self._session_once()
                except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                    logger.info("Recorder(%s) lost the SFU: %s", self.folder.name, exc)
                    final = False
                else:
                    delay = 0.25
                finally:
                    self._end_session()
                if final:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(5.0, delay * 2)
        finally:
            self._finisher.shutdown()
            self.state = "stopped"

    async def _session_once(self) -> bool:
        """Join, record until the socket ends; True if the room is over for good."""
        async with websockets.connect(self.url, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "join", "token": self._token()}))
            joined = await self._expect(ws, "joined")
            if joined is None:
                return True
            self.sessions += 1
            self.state = "recording"
            self._session = _Session(
                Connection(self._on_rtp, self._on_rtcp, poll_interval=POLL_INTERVAL)
            )
            await self._follow(ws, joined.get("tracks", []))
            stopper = asyncio.ensure_future(self._stop.wait())
            try:
                while not self._stop.is_set():
                    receive = asyncio.ensure_future(ws.recv())
                    done, _ = await asyncio.wait(
                        {receive, stopper}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if receive not in done:
                        receive.cancel()
                        await ws.send(json.dumps({"type": "leave"}))
                        return True
                    message = json.loads(receive.result())
                    if message.get("type") == "tracks":
                        await self._follow(ws, message["tracks"])
                    elif message.get("type") == "error":
                        if self._final(message):
                            return True
            finally:
                stopper.cancel()
        return False

    def _final(self, message: dict[str, Any]) -> bool:
        code = str(message.get("code", ""))
        if code.startswith(FINAL):
            self.error = code
            logger.info("Recorder(%s) stops: %s", self.folder.name, code)
            return True
        return False

    async def _expect(self, ws: ClientConnection, kind: str) -> dict[str, Any] | None:
        """The next message of ``kind`` (others are set aside), or None after a final error."""
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message.get("type") == kind:
                return message  # type: ignore[no-any-return]
            if message.get("type") == "error" and self._final(message):
                return None
            if message.get("type") == "error":
                raise TimeoutError(f"the SFU refused: {message.get('code')}")

    # --- subscriptions ------------------------------------------------------------
    async def _follow(self, ws: ClientConnection, tracks: list[dict[str, Any]]) -> None:
        """Subscribe to every source not yet recorded in this session."""
        session = self._session
        assert session is not None
        wanted = [t for t in tracks if t["id"] not in session.by_mid.values()]
        if not wanted:
            return
        connection = session.connection
        before = {t.mid for t in connection.pc.getTransceivers()}
        offer = await connection.offer([(str(t["kind"]), "recvonly") for t in wanted])
        new_mids = [str(t.mid) for t in connection.pc.getTransceivers() if t.mid not in before]
        subscribe = {mid: str(t["id"]) for mid, t in zip(new_mids, wanted, strict=True)}
        await ws.send(json.dumps({"type": "offer", "sdp": offer, "subscribe": subscribe}))
        answer = await self._expect(ws, "answer")
        if answer is None:
            return
        await connection.accept(str(answer["sdp"]))
        session.by_mid.update(subscribe)
        for mid in subscribe:
            await ws.send(json.dumps({"type": "layer", "mid": mid, "layer": "high"}))
        for section in connection.sections():
            if section.mid in subscribe:
                self._expect_track(session, section, subscribe[section.mid])

    def _expect_track(self, session: _Session, section: MediaSection, source_id: str) -> None:
        """The SFU forwards whatever codec the publisher sends (VP8 from a browser,
        H.264 from a classroom box): the first packet's payload type tells which."""
        codecs = {c.payload_type: c for c in section.codecs if c.name in RECORDED}
        if not codecs or section.remote_ssrc is None:
            logger.warning("Recorder(%s) cannot record %s", self.folder.name, source_id)
            return
        session.pending[section.remote_ssrc] = (source_id, codecs)

    def _open_track(self, session: _Session, ssrc: int, source_id: str, codec: Codec) -> _Track:
        name = track_name(source_id)
        track = _Track(
            source_id, name, codec.name, codec.clock_rate,
            FrameAssembler(codec.name, codec.clock_rate), RtpClock(codec.clock_rate),
            SegmentWriter(self.folder, name, codec.name, codec.clock_rate,
                          segment_seconds=self.segment_seconds, finisher=self._finisher),
        )  # fmt: skip
        old = self._tracks.get(source_id)
        if old is not None:
            old.close()
        self._tracks[source_id] = track
        session.by_ssrc[ssrc] = track
        self._write_manifest()
        return track

    def _write_manifest(self) -> None:
        path = self.folder / MANIFEST
        known: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            known = json.loads(path.read_text())
        tracks = known.setdefault("tracks", {})
        for track in self._tracks.values():
            tracks[track.name] = {"source": track.source_id, "codec": track.codec,
                                  "clock_rate": track.clock_rate}  # fmt: skip
        known.setdefault("started", time.time())
        temporary = path.with_suffix(".part")
        temporary.write_text(json.dumps(known, ensure_ascii=False, indent=1))
        temporary.replace(path)

    def _end_session(self) -> None:
        session, self._session = self._session, None
        for track in self._tracks.values():
            try:
                track.close()
            except Exception:  # a bad last frame must not stop the rest from closing
                logger.exception("Recorder(%s): closing %s failed", self.folder.name, track.name)
        self._tracks.clear()
        if session is not None:
            asyncio.get_running_loop().create_task(session.connection.close())

    # --- packets --------------------------------------------------------------------
    def _on_rtp(self, packet: bytes, arrival_ms: float) -> None:
        session = self._session
        if session is None or len(packet) < 12:
            return
        ssrc = _SSRC.unpack_from(packet, 8)[0]
        track = session.by_ssrc.get(ssrc)
        if (track is None and ssrc not in session.pending) or self._stop.is_set():
            return
        try:
            if track is None:
                source_id, codecs = session.pending[ssrc]
                codec = codecs.get(packet[1] & 0x7F)
                if codec is None:
                    return  # RTX or padding before the first media packet
                del session.pending[ssrc]
                track = self._open_track(session, ssrc, source_id, codec)
            track.push(packet, time.time())
        except OSError as exc:  # disk full or gone: stop cleanly; the lesson goes on
            self.error = f"write_failed: {exc.strerror or exc}"
            logger.error("Recorder(%s) stops, cannot write: %s", self.folder.name, exc)
            self._stop.set()
        except Exception:  # one malformed packet must not stop the others
            logger.exception("Recorder(%s): a packet of SSRC %d failed", self.folder.name, ssrc)

    def _on_rtcp(self, data: bytes) -> None:
        session = self._session
        if session is None or not is_rtcp(data):
            return
        for report in rtcp.parse_rtcp(data):
            if isinstance(report, rtcp.SenderReport):
                track = session.by_ssrc.get(report.ssrc)
                if track is not None:
                    wall = (report.ntp >> 32) - NTP_EPOCH + (report.ntp & 0xFFFFFFFF) / 2**32
                    track.clock.sender_report(wall, report.rtp_timestamp)
