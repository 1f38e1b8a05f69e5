"""WebSocket signalling against a real server: join, publish, subscribe, refusals."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect

from media.errors import SignallingError
from media.grants import MediaGrant
from media.signalling import parse_message
from tests.media.conftest import MediaServer
from tests.media.peers import MovingVideo, count_frames, peer_connection, wait_for_tracks

pytestmark = pytest.mark.slow


class Page:
    """What a page does over the socket, with an aiortc peer for media."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pc = peer_connection()
        self.tracks: dict[str, Any] = {}
        self.pc.on("track", lambda track: self.tracks.__setitem__(track.kind, track))

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def expect(self, kind: str, seconds: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] == kind:
                    return message

    async def negotiate(
        self, publish: dict[str, Any] | None = None, subscribe: dict[str, str] | None = None
    ) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        mids = [t.mid for t in self.pc.getTransceivers()]
        await self.send(
            {
                "type": "offer",
                "sdp": self.pc.localDescription.sdp,
                "publish": {mids[int(k)]: v for k, v in (publish or {}).items()},
                "subscribe": {mids[int(k)]: v for k, v in (subscribe or {}).items()},
            }
        )
        reply = await self.expect_any("answer", "error")
        if reply["type"] == "answer":
            await self.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        return reply

    async def expect_any(self, *kinds: str) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] in kinds:
                    return message


async def join(server: MediaServer, token: str) -> tuple[Page, dict[str, Any]]:
    ws = await connect(server.ws_url)
    page = Page(ws)
    await page.send({"type": "join", "token": token})
    return page, await page.expect_any("joined", "error")


async def test_teacher_publishes_and_a_classroom_subscribes_over_websocket(
    media_server: MediaServer,
) -> None:
    teacher, joined = await join(media_server, media_server.token("lesson-1", "teacher"))
    assert joined["type"] == "joined" and joined["tracks"] == []
    classroom, joined = await join(
        media_server,
        media_server.token("lesson-1", "class-a", publish={"camera"}, role="receiving_classroom"),
    )
    inspector, joined_i = await join(
        media_server,
        media_server.token("lesson-1", "inspector", publish=set(), hidden=True, role="inspector"),
    )
    try:
        teacher.pc.addTransceiver(MovingVideo(), direction="sendonly")
        reply = await teacher.negotiate(publish={"0": {"source": "camera", "layer": "high"}})
        assert reply["type"] == "answer"
        update = await classroom.expect("tracks")
        assert [t["id"] for t in update["tracks"]] == ["teacher/camera"]
        classroom.pc.addTransceiver("video", direction="recvonly")
        reply = await classroom.negotiate(subscribe={"0": "teacher/camera"})
        assert reply["type"] == "answer"
        await wait_for_tracks(classroom.tracks, "video")
        frames = await count_frames(classroom.tracks["video"], 2.0)
        assert len(frames) >= 20
        # the inspector is hidden: nobody sees it in the participant list
        room = media_server.sfu.rooms["lesson-1"]
        assert "inspector" not in [p["identity"] for p in room.participant_list("teacher")]
        # and it may not publish
        inspector.pc.addTransceiver("audio", direction="sendonly")
        refused = await inspector.negotiate(publish={"0": {"source": "microphone"}})
        assert refused["code"] == "forbidden"
        # a receiving classroom may not speak until it is called on
        classroom.pc.addTransceiver("audio", direction="sendonly")
        refused = await classroom.negotiate(publish={"1": {"source": "microphone"}})
        assert refused["code"] == "forbidden"
        media_server.sfu.update_grant("lesson-1", "class-a", frozenset({"camera", "microphone"}))
        assert (await classroom.expect("grant"))["can_publish"] == ["camera", "microphone"]
        await teacher.send({"type": "ping"})
        assert (await teacher.expect("pong"))["type"] == "pong"
    finally:
        for page in (teacher, classroom, inspector):
            await page.pc.close()
            await page.ws.close()


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda s: s.token("other-room", "x")[:-4] + "AAAA", "token_signature"),
        (lambda s: "not-a-token", "token_malformed"),
        (
            lambda s: s.sign(
                MediaGrant(
                    "r",
                    "x",
                    "teacher",
                    frozenset(),
                    True,
                    False,
                    datetime.now(UTC) - timedelta(seconds=1),
                )
            ),
            "token_expired",
        ),
        (lambda s: "x" * 5000, "bad_message"),
    ],
)
async def test_bad_tokens_are_refused_with_a_reason(
    media_server: MediaServer, make_token: Any, code: str
) -> None:
    page, reply = await join(media_server, make_token(media_server))
    assert reply["type"] == "error" and reply["code"] == code
    await page.ws.close()


async def test_bad_messages_get_an_error_and_the_session_carries_on(
    media_server: MediaServer,
) -> None:
    page, joined = await join(media_server, media_server.token("r", "t"))
    try:
        for raw, code in [
            ("{not json", "bad_json"),
            ("[1, 2]", "bad_message"),
            (json.dumps({"type": "offer", "sdp": "garbage"}), "bad_sdp"),
            (json.dumps({"type": "offer", "sdp": "v=0\r\nthis is not sdp"}), "bad_sdp"),
            (
                json.dumps({"type": "subscribe", "mid": "9", "track": "nobody/camera"}),
                "bad_message",
            ),
            ("x" * 300_000, "too_large"),
            (json.dumps({"type": "join", "token": "again"}), "bad_message"),
        ]:
            await page.ws.send(raw)
            reply = await page.expect("error")
            assert reply["code"] == code, raw[:40]
        await page.send({"type": "ping"})
        await page.expect("pong")
    finally:
        await page.pc.close()
        await page.ws.close()


async def test_a_page_that_keeps_sending_garbage_is_dropped(media_server: MediaServer) -> None:
    page, _ = await join(media_server, media_server.token("r", "t"))
    for _ in range(25):
        try:
            await page.ws.send("garbage")
        except Exception:
            break
    last = None
    try:
        async with asyncio.timeout(5):
            async for raw in page.ws:
                last = json.loads(raw)
    except TimeoutError:
        pytest.fail("the server kept the socket open")
    assert last is not None and last["code"] == "too_many_errors"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "sdp",
                    "token",
                    "mid",
                    "track",
                    "layer",
                    "source",
                    "muted",
                    "publish",
                    "subscribe",
                ]
            ),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.text(max_size=20),
                st.sampled_from(["offer", "join", "subscribe", "layer", "mute", "camera", "v=0"]),
                st.dictionaries(
                    st.text(max_size=5),
                    st.one_of(
                        st.text(max_size=5),
                        st.dictionaries(st.text(max_size=6), st.text(max_size=8)),
                    ),
                ),
            ),
        ).map(json.dumps),
    )
)
def test_signalling_parser_fuzz(raw: str | bytes) -> None:
    try:
        parse_message(raw)
    except SignallingError as exc:
        assert exc.code and exc.message


async def test_a_newer_session_replaces_the_old_page(media_server: MediaServer) -> None:
    token = media_server.token("r", "teacher")
    old, _ = await join(media_server, token)
    new, joined = await join(media_server, token)
    assert joined["type"] == "joined"
    try:
        await old.send({"type": "ping"})
        assert (await old.expect("error"))["code"] == "replaced"
        await old.ws.close()
        await asyncio.sleep(0.3)
        participant = media_server.sfu.participant("r", "teacher")
        assert participant.away_since_ms is None  # the old socket closing does not evict the new
        await new.send({"type": "ping"})
        await new.expect("pong")
    finally:
        for page in (old, new):
            await page.pc.close()
            await page.ws.close()


_SDP_LINES = st.sampled_from(
    [
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=mid:0",
        "a=mid:",
        "a=sendonly",
        "a=recvonly",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:96 apt=",
        "a=ssrc-group:FID 1",
        "a=ssrc:x cname:y",
        "a=fingerprint:sha-256 00",
        "a=setup:holdconn",
        "a=ice-ufrag:",
        "a=candidate:1 1 udp 1 127.0.0.1 notaport typ host",
        "a=extmap:99 urn:x",
        "c=IN IP4 0.0.0.0",
        "a=group:BUNDLE 0 1 2",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["offer", "subscribe", "unsubscribe", "layer", "mute", "ping", "leave"]),
    lines=st.lists(_SDP_LINES, max_size=12),
    mid=st.one_of(st.sampled_from(["0", "1", "2"]), st.text(max_size=40)),
    value=st.one_of(
        st.text(max_size=20), st.sampled_from(["camera", "microphone", "high", "r/x/camera"])
    ),
)
def test_signalling_handler_fuzz(kind: str, lines: list[str], mid: str, value: str) -> None:
    """Whatever a page sends after joining, the handler answers with a SignallingError or acts."""
    from datetime import UTC, datetime, timedelta

    from media.grants import MediaGrant
    from media.http import MediaHttp
    from media.sfu import Sfu

    async def run() -> None:
        sfu = Sfu()
        http = MediaHttp(sfu, "k" * 40)
        grant = MediaGrant(
            "room",
            "page",
            "teacher",
            frozenset({"camera", "microphone"}),
            True,
            False,
            datetime.now(UTC) + timedelta(minutes=5),
        )
        await sfu.join(grant)
        message: dict[str, Any] = {
            "type": kind,
            "mid": mid,
            "track": value,
            "layer": value,
            "source": value,
            "muted": True,
        }
        if kind == "offer":
            message = {
                "type": "offer",
                "sdp": "v=0\r\n" + "\r\n".join(lines) + "\r\n",
                "publish": {mid: {"source": value}} if value in ("camera", "microphone") else {},
                "subscribe": {mid: value} if value.count("/") else {},
            }
        try:
            await http._ws_command(grant, json.dumps(message), lambda m: None)
            event("acted")
        except SignallingError as exc:
            event(f"refused: {exc.code}")
        finally:
            await sfu.stop()

    asyncio.run(run())
