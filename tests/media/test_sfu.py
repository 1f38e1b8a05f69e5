"""The SFU with real aiortc peers on loopback: forwarding, switching, grants."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCSessionDescription

from media.errors import PermissionDenied, SignallingError
from media.sfu import Sfu
from media.signalling import Offer, Publication
from tests.media.peers import (
    MovingVideo,
    count_frames,
    grant,
    peer_connection,
    publish,
    subscribe,
    wait_for_tracks,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def sfu():
    server = Sfu()
    yield server
    await server.stop()


async def test_subscriber_decodes_what_a_publisher_sends(sfu: Sfu) -> None:
    pub = await publish(sfu, "r1", "teacher")
    sub, tracks = await subscribe(
        sfu, "r1", "class1", {"video": "teacher/camera", "audio": "teacher/microphone"}
    )
    try:
        await asyncio.sleep(0.5)
        assert set(tracks) == {"video", "audio"}
        video = await count_frames(tracks["video"], 3.0)
        audio = await count_frames(tracks["audio"], 0.5)
        assert len(video) >= 30, f"only {len(video)} video frames decoded in 3 s"
        assert len(audio) >= 10
        up = sfu.rooms["r1"].sources["teacher/camera"].layers["high"]
        assert up.keyframes_seen >= 1
    finally:
        await pub.close()
        await sub.close()


class LossySfu(Sfu):
    """The network drops every 20th packet: upstream from the teacher, and downstream."""

    def __init__(self, up: bool = True, down: bool = True) -> None:
        super().__init__(emit=self.events.append)
        self.dropped_up = 0
        self.dropped_down = 0
        self.lose_up, self.lose_down = up, down

    events: list[object]

    def _on_rtp(self, participant, data, now_ms):
        if self.lose_up and participant.identity == "teacher" and data[1] & 0x7F != 111:
            self._up = getattr(self, "_up", 0) + 1
            if self._up % 20 == 7:
                self.dropped_up += 1
                return
        super()._on_rtp(participant, data, now_ms)

    def _add_down(self, participant, section):
        down = super()._add_down(participant, section)
        inner, sfu = down.sink, self

        class Lossy:
            count = 0

            def send(self, data):
                return inner.send(data)

            def send_rtp(self, *args):
                Lossy.count += 1
                if sfu.lose_down and Lossy.count % 20 == 13:
                    sfu.dropped_down += 1
                    return True  # lost on the way
                return inner.send_rtp(*args)

        down.sink = Lossy()
        return down


@pytest.mark.parametrize(("up", "down"), [(True, False), (False, True), (True, True)])
async def test_five_percent_loss_each_way_is_repaired_without_freezes(up: bool, down: bool) -> None:
    LossySfu.events = []
    sfu = LossySfu(up, down)
    pub = await publish(sfu, "r", "teacher", audio=False, video=MovingVideo(640, 360))
    sub, tracks = await subscribe(sfu, "r", "class1", {"video": "teacher/camera"})
    try:
        await wait_for_tracks(tracks, "video")
        arrivals: list[float] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + 6.0
        while loop.time() < end:
            try:
                await asyncio.wait_for(tracks["video"].recv(), 2.0)
            except TimeoutError:
                break
            arrivals.append(loop.time())
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
        up_track = sfu.rooms["r"].sources["teacher/camera"].layers["high"]
        down_track = next(iter(sfu.rooms["r"].participants["class1"].downs_by_mid.values()))
        figures = (
            f"dropped up {sfu.dropped_up}, recovered {up_track.nack.recovered}; dropped down "
            f"{sfu.dropped_down}, resent {down_track.retransmitted} for {down_track.nacks} NACKs; "
            f"{len(arrivals)} frames, longest gap {max(gaps, default=9):.2f} s, "
            f"PLIs {down_track.plis}"
        )
        assert (sfu.dropped_up >= 8) == up and (sfu.dropped_down >= 8) == down, figures
        assert up_track.nack.recovered >= 0.8 * sfu.dropped_up, figures
        assert down_track.retransmitted >= 0.8 * sfu.dropped_down, figures
        assert len(arrivals) > 90, figures
        assert max(gaps) < 1.0, figures
        kinds = {(e.direction, e.kind) for e in sfu.events if e.type_name == "media.stats"}  # type: ignore[attr-defined]
        assert ("inbound", "video") in kinds and ("outbound", "video") in kinds
    finally:
        await pub.close()
        await sub.close()
        await sfu.stop()


async def test_a_subscriber_back_after_a_drop_gets_video_within_a_second(sfu: Sfu) -> None:
    pub = await publish(sfu, "r", "teacher", audio=False)
    sub, tracks = await subscribe(sfu, "r", "class1", {"video": "teacher/camera"})
    try:
        assert len(await count_frames(tracks["video"], 1.5)) > 10
        await sub.close()  # the network goes away
        await asyncio.sleep(2.0)
        assert "class1" in sfu.rooms["r"].participants  # kept for 10 s
        started = asyncio.get_running_loop().time()
        sub, tracks = await subscribe(sfu, "r", "class1", {"video": "teacher/camera"})
        await wait_for_tracks(tracks, "video")
        await asyncio.wait_for(tracks["video"].recv(), 2.0)
        elapsed = asyncio.get_running_loop().time() - started
        assert elapsed < 1.0, f"first frame {elapsed:.2f} s after rejoining"
    finally:
        await pub.close()
        await sub.close()


async def test_subscriber_switches_layers_on_keyframes(sfu: Sfu) -> None:
    """Two encodings of one camera; the subscriber starts low, asks for high, then low."""
    await sfu.join(grant("r", "teacher"))
    pub = peer_connection()
    pub.addTransceiver(MovingVideo(320, 240), direction="sendonly")
    pub.addTransceiver(MovingVideo(160, 120), direction="sendonly")
    await pub.setLocalDescription(await pub.createOffer())
    high, low = (str(t.mid) for t in pub.getTransceivers())
    offer = Offer(
        pub.localDescription.sdp,
        publish={high: Publication("camera", "high"), low: Publication("camera", "low")},
    )
    answer = await sfu.negotiate("r", "teacher", offer)
    await pub.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    assert sorted(sfu.rooms["r"].sources["teacher/camera"].layers) == ["high", "low"]
    sub, tracks = await subscribe(sfu, "r", "class1", {"video": "teacher/camera"})
    try:
        await wait_for_tracks(tracks, "video")
        widths = [f.width for f in await count_frames(tracks["video"], 1.5)]  # type: ignore[attr-defined]
        assert widths and widths[-1] == 160  # no bandwidth feedback yet: the low layer
        mid = next(iter(sfu.rooms["r"].participants["class1"].downs_by_mid))
        sfu.set_layer("r", "class1", mid, "high")
        widths = [f.width for f in await count_frames(tracks["video"], 2.0)]  # type: ignore[attr-defined]
        assert widths[-1] == 320 and len(widths) > 20
        sfu.set_layer("r", "class1", mid, "low")
        widths = [f.width for f in await count_frames(tracks["video"], 2.0)]  # type: ignore[attr-defined]
        assert widths[-1] == 160 and len(widths) > 20
        down = sfu.rooms["r"].participants["class1"].downs_by_mid[mid]
        assert down.current is not None and down.current.layer == "low"
    finally:
        await pub.close()
        await sub.close()


async def test_grants_are_enforced_per_track(sfu: Sfu) -> None:
    await sfu.join(grant("r", "classroom", publish={"camera"}, role="receiving_classroom"))
    pc = peer_connection()
    pc.addTransceiver(MovingVideo(), direction="sendonly")
    pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    mids = [str(t.mid) for t in pc.getTransceivers()]
    with pytest.raises(PermissionDenied):
        await sfu.negotiate(
            "r",
            "classroom",
            Offer(pc.localDescription.sdp, publish={mids[1]: Publication("microphone")}),
        )
    with pytest.raises(SignallingError) as mismatch:
        await sfu.negotiate(
            "r",
            "classroom",
            Offer(pc.localDescription.sdp, publish={mids[1]: Publication("camera")}),
        )
    assert mismatch.value.code == "bad_sdp"
    await sfu.join(grant("r", "inspector", publish=set(), hidden=True, role="inspector"))
    with pytest.raises(PermissionDenied):
        await sfu.negotiate(
            "r",
            "inspector",
            Offer(pc.localDescription.sdp, publish={mids[0]: Publication("camera")}),
        )
    await sfu.join(grant("r", "deaf", subscribe=False))
    with pytest.raises(PermissionDenied):
        await sfu.negotiate(
            "r", "deaf", Offer(pc.localDescription.sdp, subscribe={mids[0]: "classroom/camera"})
        )
    await pc.close()


async def test_garbage_datagrams_do_not_hurt_the_room(sfu: Sfu) -> None:
    """Short STUN, fake RTP/RTCP and random bytes at the SFU's ICE port (loopback only)."""
    import random
    import re
    import socket

    pub = await publish(sfu, "r", "teacher", audio=False)
    sub, tracks = await subscribe(sfu, "r", "class1", {"video": "teacher/camera"})
    try:
        assert len(await count_frames(tracks["video"], 1.0)) > 5
        answer = sub.remoteDescription.sdp
        port = int(re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+)", answer).group(1))  # type: ignore[union-attr]
        rng = random.Random(7)
        garbage = [
            b"\x00\x01\x00\x08\x21\x12\xa4\x42"
            + bytes(12)
            + b"\x00\x06\x00\x09ab",  # short attribute
            b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(4),  # truncated STUN
            b"\x80\xc8\x00\x06" + bytes(8),  # SR shorter than it says
            b"\x90" + bytes(30),  # RTP with an extension running off the end
        ]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
            for index in range(2000):
                data = garbage[index % 4] if index % 2 else rng.randbytes(rng.randint(1, 300))
                attacker.sendto(data, ("127.0.0.1", port))
                if index % 200 == 0:
                    await asyncio.sleep(0.01)
        frames = await count_frames(tracks["video"], 1.5)
        assert len(frames) > 15, "video stopped after garbage datagrams"
        assert sub.connectionState == "connected"
    finally:
        await pub.close()
        await sub.close()


async def test_too_many_tracks_are_refused(sfu: Sfu) -> None:
    await sfu.join(grant("r", "greedy"))
    pc = peer_connection()
    for _ in range(9):
        pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    publish_map = {str(t.mid): Publication("microphone") for t in pc.getTransceivers()}
    with pytest.raises(SignallingError) as refused:
        await sfu.negotiate("r", "greedy", Offer(pc.localDescription.sdp, publish=publish_map))
    assert refused.value.code == "too_many_tracks"
    await pc.close()


async def test_classrooms_get_the_teacher_back_after_the_teacher_reconnects(sfu: Sfu) -> None:
    """The teacher's browser reloads: a new connection, new SSRCs; classrooms keep theirs."""
    first = await publish(sfu, "r", "teacher", audio=False)
    sub, tracks = await subscribe(sfu, "r", "class1", {"video": "teacher/camera"})
    try:
        before = await count_frames(tracks["video"], 1.5)
        assert len(before) > 10
        await first.close()
        await asyncio.sleep(0.5)
        second = await publish(sfu, "r", "teacher", audio=False)  # same identity, rejoins
        try:
            after = await count_frames(tracks["video"], 2.0)
            assert len(after) > 15, f"{len(after)} frames after the teacher came back"
            pts = [f.pts for f in before + after]  # type: ignore[attr-defined]
            assert pts == sorted(pts), "timestamps went backwards across the switch"
        finally:
            await second.close()
    finally:
        await sub.close()


async def test_a_publishers_audience_decides_who_receives_it(sfu: Sfu) -> None:
    """A classroom's camera goes to the teacher, not to the other classrooms, until the
    grant's audience opens (called on); when it closes again, they are cut off."""
    publisher = await publish(sfu, "r", "classroom-a", audio=False)
    to_teacher = frozenset({"teacher", "inspector"})
    sfu.update_grant("r", "classroom-a", frozenset({"camera"}), to_teacher)
    await sfu.join(grant("r", "classroom-b", publish=set(), role="receiving_classroom"))
    probe = peer_connection()
    probe.addTransceiver("video", direction="recvonly")
    await probe.setLocalDescription(await probe.createOffer())
    wanted = {str(probe.getTransceivers()[0].mid): "classroom-a/camera"}
    with pytest.raises(PermissionDenied):
        await sfu.negotiate("r", "classroom-b", Offer(probe.localDescription.sdp, subscribe=wanted))
    await probe.close()
    listed = [t["id"] for t in sfu.describe("r", "classroom-b")["tracks"]]
    assert "classroom-a/camera" not in listed
    teacher_pc, at_teacher = await subscribe(sfu, "r", "teacher", {"video": "classroom-a/camera"})
    await wait_for_tracks(at_teacher, "video")
    assert len(await count_frames(at_teacher["video"], 1.0)) > 5

    sfu.update_grant("r", "classroom-a", frozenset({"camera", "microphone"}), frozenset())
    assert "classroom-a/camera" in [t["id"] for t in sfu.describe("r", "classroom-b")["tracks"]]
    other_pc, at_other = await subscribe(sfu, "r", "classroom-c", {"video": "classroom-a/camera"},
                                         role="receiving_classroom")  # fmt: skip
    await wait_for_tracks(at_other, "video")
    assert len(await count_frames(at_other["video"], 1.0)) > 5

    sfu.update_grant("r", "classroom-a", frozenset({"camera"}), to_teacher)
    await count_frames(at_other["video"], 0.5)  # what was on its way
    assert len(await count_frames(at_other["video"], 1.0)) == 0
    assert len(await count_frames(at_teacher["video"], 1.0)) > 5
    for pc in (publisher, teacher_pc, other_pc):
        await pc.close()
