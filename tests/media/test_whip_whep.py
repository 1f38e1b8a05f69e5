"""WHIP and WHEP (RFC 9725) against a real server: FFmpeg's muxer in, aiortc out."""

from __future__ import annotations

import asyncio
import sys

import httpx2
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection

from tests.media.conftest import MediaServer
from tests.media.peers import count_frames, publish, wait_for_tracks, whep_player

pytestmark = pytest.mark.slow


async def whep(
    server: MediaServer, room: str, identity: str
) -> tuple[RTCPeerConnection, dict[str, MediaStreamTrack], str]:
    token = server.token(room, identity, publish=set())
    pc, tracks, answer = await whep_player(f"{server.url}/whep/{room}", token)
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/sdp")
    return pc, tracks, answer.headers["location"]


async def test_ffmpeg_whip_muxer_publishes_and_a_whep_player_decodes(
    media_server: MediaServer,
) -> None:
    token = media_server.token("studio", "encoder")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.media.ffmpeg_whip_publisher",
        f"{media_server.url}/whip/studio",
        token,
        "8",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        room = None
        for _ in range(100):
            room = media_server.sfu.rooms.get("studio")
            if room and "encoder/camera" in room.sources and room.sources["encoder/camera"].layers:
                break
            await asyncio.sleep(0.1)
        else:
            _, err = await process.communicate()
            pytest.fail(f"FFmpeg never published: {err.decode()[-2000:]}")
        pc, tracks, _location = await whep(media_server, "studio", "player")
        await wait_for_tracks(tracks, "video")
        video = await count_frames(tracks["video"], 3.0)
        audio = await count_frames(tracks["audio"], 1.0)
        up = media_server.sfu.rooms["studio"].sources["encoder/camera"].layers["high"]
        down = media_server.sfu.rooms["studio"].participants["player"].downs_by_mid
        assert len(video) >= 45, (
            f"{len(video)} frames in 3 s; SFU got {up.stats.packets} packets, "
            f"{up.stats.frames} frames, {up.keyframes_seen} keyframes; "
            f"sent {[d.packets for d in down.values()]}; publisher {process.returncode}"
        )
        assert len(audio) >= 20
        up = media_server.sfu.rooms["studio"].sources["encoder/camera"].layers["high"]
        assert up.codec is not None and up.codec.name == "h264"
        await pc.close()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_whip_and_whep_refuse_what_they_must(media_server: MediaServer) -> None:
    url = media_server.url
    offer = (
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n"
    )
    sdp = {"Content-Type": "application/sdp"}
    async with httpx2.AsyncClient() as client:
        assert (await client.options(f"{url}/whip/r")).headers["accept-post"] == "application/sdp"
        missing = await client.post(f"{url}/whip/r", content=offer, headers=sdp)
        assert missing.status_code == 401 and missing.json()["code"] == "token_malformed"
        other_room = await client.post(
            f"{url}/whip/r",
            content=offer,
            headers=sdp | {"Authorization": f"Bearer {media_server.token('elsewhere', 'x')}"},
        )
        assert other_room.status_code == 403 and other_room.json()["code"] == "token_room"
        viewer = media_server.token("r", "viewer", publish=set())
        forbidden = await client.post(
            f"{url}/whip/r", content=offer, headers=sdp | {"Authorization": f"Bearer {viewer}"}
        )
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
        not_sdp = await client.post(
            f"{url}/whip/r",
            content="hello",
            headers={"Content-Type": "text/plain", "Authorization": f"Bearer {viewer}"},
        )
        assert not_sdp.status_code == 400 and not_sdp.json()["code"] == "bad_sdp"
        nothing = await client.post(
            f"{url}/whep/r", content=offer, headers=sdp | {"Authorization": f"Bearer {viewer}"}
        )
        assert nothing.status_code == 404 and nothing.json()["code"] == "no_track"
        assert (await client.patch(f"{url}/whip/r/abc")).status_code == 405


async def test_whep_session_ends_with_delete_and_only_by_its_owner(
    media_server: MediaServer,
) -> None:
    teacher = await publish(media_server.sfu, "r", "teacher")
    pc, tracks, location = await whep(media_server, "r", "player")
    try:
        assert "player" in media_server.sfu.rooms["r"].participants
        async with httpx2.AsyncClient() as client:
            stranger = await client.delete(
                f"{media_server.url}{location.removeprefix('')}"[: len(media_server.url)]
                + location,
                headers={"Authorization": f"Bearer {media_server.token('r', 'stranger')}"},
            )
            assert stranger.status_code == 403
            mine = await client.delete(
                media_server.url + location,
                headers={
                    "Authorization": f"Bearer {media_server.token('r', 'player', publish=set())}"
                },
            )
            assert mine.status_code == 200
            again = await client.delete(
                media_server.url + location,
                headers={
                    "Authorization": f"Bearer {media_server.token('r', 'player', publish=set())}"
                },
            )
            assert again.status_code == 404
        assert "player" not in media_server.sfu.rooms["r"].participants
    finally:
        await pc.close()
        await teacher.close()
