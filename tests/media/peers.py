"""Real aiortc peers for media tests: publishers with synthetic tracks, subscribers.

Host candidates are pinned to loopback once, here (aioice skips 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import fractions
from datetime import UTC, datetime, timedelta

import av
import httpx2
import numpy as np
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from media.aiortc_tap import peer_connection, use_loopback_candidates

__all__ = ["peer_connection"]
from media.grants import MediaGrant
from media.sfu import Sfu
from media.signalling import Offer, Publication

use_loopback_candidates()


def grant(
    room: str,
    identity: str,
    *,
    publish: set[str] | None = None,
    subscribe: bool = True,
    hidden: bool = False,
    role: str = "teacher",
    minutes: int = 10,
) -> MediaGrant:
    return MediaGrant(
        room=room,
        identity=identity,
        role=role,
        can_publish=frozenset(publish if publish is not None else {"camera", "microphone"}),
        can_subscribe=subscribe,
        hidden=hidden,
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        name=identity,
    )


class MovingVideo(VideoStreamTrack):
    """Frames that change every time, so encoders send real deltas."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self._n = 0
        self._w, self._h = width, height

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = np.zeros((self._h, self._w, 3), np.uint8)
        x = (self._n * 4) % self._w
        image[:, x : x + 16] = (255, 255, 255)
        image[:, :, 1] = (self._n * 3) % 255
        self._n += 1
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


async def publish(
    sfu: Sfu,
    room: str,
    identity: str,
    *,
    video: MediaStreamTrack | None = None,
    audio: bool = True,
    codec: str | None = None,
    layer: str = "high",
    source: str = "camera",
) -> RTCPeerConnection:
    pc = peer_connection()
    await sfu.join(grant(room, identity))
    publish_map: dict[str, Publication] = {}
    transceiver = pc.addTransceiver(video or MovingVideo(), direction="sendonly")
    if codec is not None:
        from aiortc.rtcrtpsender import RTCRtpSender

        caps = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences(
            [c for c in caps if c.mimeType.lower() in (f"video/{codec}", "video/rtx")]
        )
    if audio:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    for t in pc.getTransceivers():
        publish_map[str(t.mid)] = Publication(
            source if t.kind == "video" else "microphone", layer if t.kind == "video" else "high"
        )
    answer = await sfu.negotiate(
        room, identity, Offer(pc.localDescription.sdp, publish=publish_map)
    )
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return pc


async def subscribe(
    sfu: Sfu, room: str, identity: str, sources: dict[str, str], **grant_args: object
) -> tuple[RTCPeerConnection, dict[str, MediaStreamTrack]]:
    """Subscribe a decoding aiortc peer to ``{kind: source id}``; returns its tracks by kind."""
    pc = peer_connection()
    await sfu.join(grant(room, identity, publish=set(), **grant_args))  # type: ignore[arg-type]
    tracks: dict[str, MediaStreamTrack] = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    for kind in sources:
        pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    mapping = {str(t.mid): sources[t.kind] for t in pc.getTransceivers()}
    answer = await sfu.negotiate(room, identity, Offer(pc.localDescription.sdp, subscribe=mapping))
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return pc, tracks


async def count_frames(track: MediaStreamTrack, seconds: float) -> list[object]:
    frames: list[object] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        try:
            frames.append(
                await asyncio.wait_for(track.recv(), timeout=max(0.01, end - loop.time()))
            )
        except TimeoutError:
            break
    return frames


TIME_BASE = fractions.Fraction(1, 90000)


async def whep_player(
    url: str, token: str, attempts: int = 1
) -> tuple[RTCPeerConnection, dict[str, MediaStreamTrack], httpx2.Response]:
    """A decoding WHEP player for video and audio; retries while nothing is published."""
    pc = peer_connection()
    tracks: dict[str, MediaStreamTrack] = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient() as client:
        for _ in range(attempts):
            answer = await client.post(url, content=pc.localDescription.sdp, headers=headers)
            if answer.status_code != 404:
                break
            await asyncio.sleep(0.2)
    if answer.status_code == 201:
        await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    return pc, tracks, answer


async def wait_for_tracks(
    tracks: dict[str, MediaStreamTrack], *kinds: str, seconds: float = 5.0
) -> None:
    """Until the peer's ``track`` events have delivered these kinds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not all(kind in tracks for kind in kinds) and loop.time() < deadline:
        await asyncio.sleep(0.02)
