"""What each LiveKit call sends, checked against LiveKit's protocol definitions.

The calls go over real HTTP to a recorder on loopback (``livekit_twirp.py``) that decodes
them with ``livekit-protocol``'s service descriptors; each call's bearer token is
verified and must ask for the least that call needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from livekit.api import LiveKitAPI
from livekit.protocol.egress import (
    EncodingOptionsPreset,
    ImageFileSuffix,
    RoomCompositeEgressRequest,
    TrackCompositeEgressRequest,
    TrackEgressRequest,
)
from livekit.protocol.ingress import CreateIngressRequest, IngressInput
from livekit.protocol.models import ImageCodec, TrackSource
from livekit.protocol.room import UpdateParticipantRequest, UpdateSubscriptionsRequest

from kernel.events import Event
from media import events as ev
from media.errors import BackendError, SignallingError
from media.livekit.audience import subscription_updates
from media.livekit.egress import (
    LiveKitEgress,
    room_composite,
    thumbnails,
    track_egress,
    track_thumbnails,
)
from media.livekit.ingress import LiveKitIngress, ingress_request
from media.livekit.placement import Feed, RoomPlan
from media.livekit.reconcile import SeenParticipant, SeenTrack
from media.livekit.rooms import LiveKitRooms
from tests.conftest import free_port
from tests.media.livekit_twirp import KEY, SECRET, Recorded, TwirpRecorder, twirp_recorder

NOW = datetime(2026, 3, 2, 0, 50, tzinfo=UTC)


@pytest.fixture
def recorder() -> Iterator[TwirpRecorder]:
    with twirp_recorder() as running:
        yield running


@pytest.fixture
async def api(recorder: TwirpRecorder) -> AsyncIterator[LiveKitAPI]:
    async with aiohttp.ClientSession() as session:  # opened and closed here, not by the API
        yield LiveKitAPI(recorder.url, KEY, SECRET, session=session, failover=False)


def fields(message: object) -> set[str]:
    """The fields set in a protobuf message (by their names in the .proto)."""
    return {f.name for f, _ in message.ListFields()}  # type: ignore[attr-defined]


def only(recorder: TwirpRecorder, name: str) -> Recorded:
    calls = recorder.named(name)
    assert len(calls) == 1, recorder.names()
    call = calls[0]
    assert call.method.containing_service.full_name in (
        "livekit.RoomService", "livekit.Egress", "livekit.Ingress"
    )  # fmt: skip
    assert call.content_type == "application/protobuf"
    return call


def assert_room_admin(call: Recorded, room: str) -> None:
    video = call.claims().video
    assert video is not None
    assert (video.room_admin, video.room) == (True, room)
    assert not (video.room_create or video.room_list or video.room_record or video.room_join)


# --- rooms --------------------------------------------------------------------------------


async def test_create_room_sends_its_settings_with_a_room_create_grant(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    rooms = LiveKitRooms()
    rooms.connect(api)
    await rooms.create_room("P1-L1-20260302", 3600, max_participants=24, metadata="m", node="n1")
    call = only(recorder, "CreateRoom")
    assert call.method.input_type.full_name == "livekit.CreateRoomRequest"
    assert fields(call.request) == {
        "name", "empty_timeout", "max_participants", "metadata", "node_id"
    }  # fmt: skip
    assert call.request.name == "P1-L1-20260302"  # type: ignore[attr-defined]
    assert call.request.empty_timeout == 3600  # type: ignore[attr-defined]
    assert call.request.max_participants == 24  # type: ignore[attr-defined]
    video = call.claims().video
    assert video is not None and video.room_create is True
    assert not (video.room_admin or video.room_list or video.room_record or video.room_join)


async def test_ensure_rooms_lists_the_planned_rooms_then_creates_the_missing_ones(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    rooms = LiveKitRooms()
    rooms.connect(api)
    plans = [
        RoomPlan("room-b", NOW, NOW + timedelta(minutes=55), (Feed(1e6, 1, 3),), 24),
        RoomPlan("room-a", NOW, NOW + timedelta(minutes=55), (Feed(1e6, 1, 3),)),
    ]
    created = await rooms.ensure_rooms(plans, {"room-b": "node-2"}, NOW)
    assert created == ["room-a", "room-b"]  # the empty ListRooms answer: none exists
    assert recorder.names() == ["ListRooms", "CreateRoom", "CreateRoom"]
    listing = recorder.named("ListRooms")[0]
    assert list(listing.request.names) == ["room-a", "room-b"]  # type: ignore[attr-defined]
    video = listing.claims().video
    assert video is not None and video.room_list is True and not video.room_create
    b = recorder.named("CreateRoom")[1].request
    assert (b.name, b.node_id, b.max_participants, b.empty_timeout) == (  # type: ignore[attr-defined]
        "room-b",
        "node-2",
        24,
        55 * 60,
    )
    recorder.clear()
    await rooms.close_room("room-a", "lesson_ended", "the lesson has ended")
    await rooms.settle()
    recorder.clear()
    assert await rooms.ensure_rooms(plans, {}, NOW) == ["room-b"]  # a closed room stays closed
    assert list(recorder.named("ListRooms")[0].request.names) == ["room-b"]  # type: ignore[attr-defined]


async def test_close_room_deletes_it_once_and_everyone_in_it_leaves(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    emitted: list[Event] = []
    rooms = LiveKitRooms(emitted.append)
    rooms.connect(api)
    rooms.belief.joined("lesson", SeenParticipant("teacher:t1", "PA_1", "teacher", False), NOW)
    await rooms.close_room("lesson", "lesson_ended", "the lesson has ended")
    await rooms.close_room("lesson", "lesson_ended", "the lesson has ended")  # every clock tick
    await rooms.settle()
    call = only(recorder, "DeleteRoom")
    assert fields(call.request) == {"room"} and call.request.room == "lesson"  # type: ignore[attr-defined]
    video = call.claims().video
    assert video is not None and video.room_create is True and not video.room_admin
    assert [(type(e), e.identity, e.reason) for e in emitted] == [  # type: ignore[attr-defined]
        (ev.ParticipantLeft, "teacher:t1", "removed")
    ]
    assert rooms.census().participants == {}


async def test_update_grant_reads_the_permission_then_replaces_it_with_the_sources(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    rooms = LiveKitRooms()
    rooms.connect(api)
    shown = frozenset({"teacher", "inspector"})
    rooms.update_grant("lesson", "classroom:r1", frozenset({"camera", "microphone"}), shown)
    await rooms.settle()
    assert recorder.names() == ["GetParticipant", "UpdateParticipant", "ListParticipants"]
    asked = only(recorder, "GetParticipant")
    assert (asked.request.room, asked.request.identity) == ("lesson", "classroom:r1")  # type: ignore[attr-defined]
    call = only(recorder, "UpdateParticipant")
    assert call.method.input_type.full_name == "livekit.UpdateParticipantRequest"
    request = call.request
    assert isinstance(request, UpdateParticipantRequest)
    assert fields(request) == {"room", "identity", "permission"}  # metadata and name untouched
    assert list(request.permission.can_publish_sources) == [
        TrackSource.CAMERA, TrackSource.MICROPHONE
    ]  # fmt: skip
    assert request.permission.can_publish and not request.permission.can_publish_data
    assert not request.permission.can_update_metadata
    for recorded in recorder.calls:
        assert_room_admin(recorded, "lesson")


async def test_remove_and_mute_name_the_participant_and_its_track(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    rooms = LiveKitRooms()
    rooms.connect(api)
    teacher = SeenParticipant("teacher:t1", "PA_1", "teacher", False)
    rooms.belief.published(
        "lesson", teacher, SeenTrack("TR_mic", "microphone", "audio", "opus"), NOW
    )
    await rooms.mute("lesson", "teacher:t1", "microphone", True)
    mute = only(recorder, "MutePublishedTrack").request
    assert (mute.room, mute.identity, mute.track_sid, mute.muted) == (  # type: ignore[attr-defined]
        "lesson",
        "teacher:t1",
        "TR_mic",
        True,
    )
    with pytest.raises(SignallingError, match="camera is not published"):
        await rooms.mute("lesson", "teacher:t1", "camera", True)
    await rooms.remove("lesson", "teacher:t1")
    removed = only(recorder, "RemoveParticipant")
    assert fields(removed.request) == {"room", "identity"}
    for recorded in recorder.calls:
        assert_room_admin(recorded, "lesson")


async def test_reconcile_lists_rooms_and_ends_what_is_no_longer_there(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    emitted: list[Event] = []
    rooms = LiveKitRooms(emitted.append)
    rooms.connect(api)
    classroom = SeenParticipant("classroom:r1", "PA_2", "receiving_classroom", False)
    rooms.belief.published("lesson", classroom, SeenTrack("TR_cam", "camera", "video", "h264"), NOW)
    events = await rooms.reconcile(NOW)
    assert recorder.names() == ["ListRooms"]  # the room is gone: nobody to list
    assert fields(recorder.calls[0].request) == set()  # every room
    assert [e.type_name for e in events] == ["media.unpublished", "media.left"]
    assert events == emitted


async def test_an_unreachable_livekit_is_a_backend_error_and_grants_wait_for_reconcile() -> None:
    port = free_port()  # nothing listens there
    async with aiohttp.ClientSession() as session:
        api = LiveKitAPI(f"http://127.0.0.1:{port}", KEY, SECRET, session=session, failover=False)
        rooms = LiveKitRooms()
        rooms.connect(api)
        with pytest.raises(BackendError) as caught:
            await rooms.reconcile(NOW)
        assert caught.value.code == "unavailable"
        rooms.update_grant("lesson", "classroom:r1", frozenset({"camera"}))
        await rooms.settle()  # logged, not raised: the clock loop must go on
        await rooms.close_room("lesson", "lesson_ended", "the lesson has ended")
        await rooms.settle()  # not deleted: reconcile tries again


# --- who may receive whom -------------------------------------------------------------------


def test_subscription_updates_take_tracks_away_and_give_them_back() -> None:
    teacher = SeenParticipant("teacher:t1", "PA_1", "teacher", False)
    other = SeenParticipant("classroom:r2", "PA_3", "receiving_classroom", False)
    updates = subscription_updates(
        "lesson", {"teacher:t1": teacher, "classroom:r2": other},
        before={"classroom:r2": {"TR_old"}}, now={"classroom:r2": {"TR_cam"}},
    )  # fmt: skip
    assert all(isinstance(u, UpdateSubscriptionsRequest) for u in updates)
    assert [(u.identity, list(u.track_sids), u.subscribe) for u in updates] == [
        ("classroom:r2", ["TR_cam"], False),
        ("classroom:r2", ["TR_old"], True),
    ]
    assert all(fields(u) == {"room", "identity", "track_sids"} | ({"subscribe"} if u.subscribe
               else set()) for u in updates)  # fmt: skip


# --- egress and ingress ---------------------------------------------------------------------


def test_track_egress_writes_the_track_as_published() -> None:
    request = track_egress("lesson", "TR_cam", "recordings/{room_name}/{track_id}")
    assert request.DESCRIPTOR.full_name == "livekit.TrackEgressRequest"
    assert fields(request) == {"room_name", "track_id", "file"}
    assert fields(request.file) == {"filepath"}  # no encoding options exist for a track egress


def test_room_composite_and_thumbnails() -> None:
    images = thumbnails("patrol/lesson", every_seconds=5)
    assert images.DESCRIPTOR.full_name == "livekit.ImageOutput"
    assert images.filename_suffix == ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE
    assert images.image_codec == ImageCodec.IC_JPEG
    assert (images.capture_interval, images.width, images.height) == (5, 320, 180)
    composite = room_composite("lesson", "recordings/lesson.mp4", images=images)
    assert isinstance(composite, RoomCompositeEgressRequest)
    # the preset sits in a oneof: set explicitly, even at its zero value (720p30 H.264)
    assert fields(composite) == {"room_name", "layout", "preset", "file_outputs", "image_outputs"}
    assert composite.preset == EncodingOptionsPreset.H264_720P_30
    assert composite.file_outputs[0].filepath == "recordings/lesson.mp4"
    wall = track_thumbnails("lesson", "TR_cam", images)
    assert isinstance(wall, TrackCompositeEgressRequest)
    assert fields(wall) == {"room_name", "video_track_id", "image_outputs"}  # no file


async def test_egress_calls_carry_a_room_record_grant(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    egress = LiveKitEgress(api)
    await egress.record_track(track_egress("lesson", "TR_cam", "r/{track_id}"))
    await egress.record_room(room_composite("lesson", "r/lesson.mp4"))
    await egress.thumbnails(track_thumbnails("lesson", "TR_cam", thumbnails("patrol/lesson")))
    await egress.stop("EG_1")
    assert recorder.names() == [
        "StartTrackEgress", "StartRoomCompositeEgress", "StartTrackCompositeEgress", "StopEgress"
    ]  # fmt: skip
    assert isinstance(recorder.calls[0].request, TrackEgressRequest)
    assert recorder.calls[0].request.track_id == "TR_cam"
    for call in recorder.calls:
        video = call.claims().video
        assert video is not None and video.room_record is True
        assert not (video.room_admin or video.room_create or video.room_join)


async def test_ingress_for_classroom_hardware(recorder: TwirpRecorder, api: LiveKitAPI) -> None:
    whip = ingress_request("lesson", "classroom:r1", "杨树湾教学点", "whip")
    assert isinstance(whip, CreateIngressRequest)
    assert whip.input_type == IngressInput.WHIP_INPUT and not whip.enable_transcoding
    assert (whip.video.source, whip.audio.source) == (TrackSource.CAMERA, TrackSource.MICROPHONE)
    rtmp = ingress_request("lesson", "classroom:r1", "杨树湾教学点", "rtmp")
    assert rtmp.input_type == IngressInput.RTMP_INPUT and rtmp.enable_transcoding
    with pytest.raises(ValueError, match="rtsp"):
        ingress_request("lesson", "classroom:r1", "x", "rtsp")
    ingress = LiveKitIngress(api)
    await ingress.create(rtmp)
    await ingress.delete("IN_1")
    assert recorder.names() == ["CreateIngress", "DeleteIngress"]
    sent = recorder.calls[0].request
    assert isinstance(sent, CreateIngressRequest)
    assert (sent.room_name, sent.participant_identity) == ("lesson", "classroom:r1")
    for call in recorder.calls:
        video = call.claims().video
        assert video is not None and video.ingress_admin is True
        assert not (video.room_admin or video.room_create or video.room_record)
    assert recorder.unknown == []
