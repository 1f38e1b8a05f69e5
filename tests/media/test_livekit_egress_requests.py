"""What the Egress recording adapter sends, checked against LiveKit's protocol definitions.

The calls go over real HTTP to the Twirp recorder on loopback (``livekit_twirp.py``), which
decodes each with the input type of the ``livekit.Egress`` method it names and answers with
the method's empty output message: an ``EgressInfo`` without an id, a ``ListEgressResponse``
that lists nothing. What a real Egress answers is ``test_livekit_server.py``'s part.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from livekit.api import LiveKitAPI
from livekit.protocol.egress import (
    EgressInfo,
    EgressStatus,
    EncodingOptionsPreset,
    ListEgressRequest,
    RoomCompositeEgressRequest,
    S3Upload,
    StopEgressRequest,
    TrackCompositeEgressRequest,
    TrackEgressRequest,
)
from livekit.protocol.models import ParticipantInfo, Room, TrackInfo, TrackSource, TrackType
from livekit.protocol.webhook import WebhookEvent

from media.errors import BackendError
from media.livekit.reconcile import Belief, SeenParticipant, SeenTrack
from media.livekit.recording import LiveKitRecording, Outcome
from media.livekit.recording_plan import (
    Completed,
    EgressPlan,
    GaveUp,
    Published,
    RecordingConfig,
    published_tracks,
)
from media.livekit.tokens import ROLE_ATTRIBUTE
from tests.conftest import free_port
from tests.media.livekit_twirp import KEY, SECRET, Recorded, TwirpRecorder, twirp_recorder

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ROOM = "P3-L7-20260302"
ROOT = "/srv/sanke"
TEACHER = "teacher:cs-1-t1"
CAMERA = TrackInfo(sid="TR_cam", type=TrackType.VIDEO, source=TrackSource.CAMERA,
                   mime_type="video/H264")  # fmt: skip
MIC = TrackInfo(sid="TR_mic", type=TrackType.AUDIO, source=TrackSource.MICROPHONE,
                mime_type="audio/opus")  # fmt: skip


@pytest.fixture
def recorder() -> Iterator[TwirpRecorder]:
    with twirp_recorder() as running:
        yield running


@pytest.fixture
async def api(recorder: TwirpRecorder) -> AsyncIterator[LiveKitAPI]:
    async with aiohttp.ClientSession() as session:
        yield LiveKitAPI(recorder.url, KEY, SECRET, session=session, failover=False)


class Outcomes(list[Outcome]):
    async def __call__(self, outcome: Outcome) -> None:
        self.append(outcome)


def fields(message: object) -> set[str]:
    return {f.name for f, _ in message.ListFields()}  # type: ignore[attr-defined]


def egress_calls(recorder: TwirpRecorder, name: str) -> list[Recorded]:
    calls = recorder.named(name)
    for call in calls:
        assert call.method.containing_service.full_name == "livekit.Egress"
        assert call.content_type == "application/protobuf"
        video = call.claims().video  # each call asks for recording rights, and nothing more
        assert video is not None and video.room_record is True
        assert not (video.room_admin or video.room_create or video.room_join or video.room_list)
    return calls


def publish(track: TrackInfo, event_id: str) -> WebhookEvent:
    who = ParticipantInfo(identity=TEACHER, sid="PA_1", attributes={ROLE_ATTRIBUTE: "teacher"})
    return WebhookEvent(event="track_published", id=event_id, room=Room(name=ROOM),
                        participant=who, track=track)  # fmt: skip


def teacher_publishing(*tracks: SeenTrack) -> dict[str, dict[str, Published]]:
    belief = Belief()
    for track in tracks:
        belief.published(ROOM, SeenParticipant(TEACHER, "PA_1", "teacher", False), track, NOW)
    return published_tracks(belief)


async def test_published_tracks_start_track_egresses_and_the_patrol_thumbnails(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    recording = LiveKitRecording(EgressPlan(RecordingConfig(root=ROOT)))
    recording.connect(api)
    recording.on_webhook(publish(CAMERA, "EV_1"), NOW)
    recording.on_webhook(publish(MIC, "EV_2"), NOW)
    recording.on_webhook(publish(MIC, "EV_2"), NOW)  # a replay
    await recording.settle()
    assert recorder.names() == [
        "StartTrackEgress", "StartTrackCompositeEgress", "StartTrackEgress"
    ]  # fmt: skip
    tracks = egress_calls(recorder, "StartTrackEgress")
    assert {c.method.input_type.full_name for c in tracks} == {"livekit.TrackEgressRequest"}
    camera, mic = (c.request for c in tracks)
    assert isinstance(camera, TrackEgressRequest) and isinstance(mic, TrackEgressRequest)
    assert fields(camera) == {"room_name", "track_id", "file"}  # a file, nothing else
    assert fields(camera.file) == {"filepath"}  # as published: no encoding, no upload
    assert (camera.room_name, camera.track_id) == (ROOM, "TR_cam")
    assert (
        camera.file.filepath == f"{ROOT}/recordings/{ROOM}/teacher_cs-1-t1_camera-{{time}}-TR_cam-1"
    )
    assert mic.file.filepath == (
        f"{ROOT}/recordings/{ROOM}/teacher_cs-1-t1_microphone-{{time}}-TR_mic-1"
    )
    (wall,) = egress_calls(recorder, "StartTrackCompositeEgress")
    assert wall.method.input_type.full_name == "livekit.TrackCompositeEgressRequest"
    request = wall.request
    assert isinstance(request, TrackCompositeEgressRequest)
    assert fields(request) == {"room_name", "video_track_id", "image_outputs"}  # no file
    (images,) = request.image_outputs
    assert fields(images) == {
        "capture_interval", "width", "height", "filename_prefix", "filename_suffix",
        "image_codec", "disable_manifest",
    }  # fmt: skip
    assert images.filename_prefix == f"{ROOT}/patrol/{ROOM}/teacher_cs-1-t1_camera"
    assert recorder.unknown == []


async def test_reconcile_lists_the_active_egresses_and_restarts_what_livekit_does_not_list(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    recording = LiveKitRecording(EgressPlan(RecordingConfig(root=ROOT, thumbnails=False)))
    recording.connect(api)
    recording.on_webhook(publish(MIC, "EV_1"), NOW)
    # LiveKit tells the id of the egress it started (the recorder's answer had none)
    started = EgressInfo(egress_id="EG_1", room_name=ROOM, status=EgressStatus.EGRESS_ACTIVE,
                         track=TrackEgressRequest(room_name=ROOM, track_id="TR_mic", file={
                             "filepath": f"{ROOT}/recordings/{ROOM}/x-TR_mic-1"}))  # fmt: skip
    recording.on_webhook(WebhookEvent(event="egress_started", id="EV_2", egress_info=started), NOW)
    await recording.settle()
    recorder.clear()
    mic = SeenTrack("TR_mic", "microphone", "audio", "opus")
    await recording.reconcile(teacher_publishing(mic), NOW + timedelta(minutes=1))
    assert recorder.names() == ["ListEgress", "ListEgress", "StartTrackEgress"]
    active, looked_up = (c.request for c in egress_calls(recorder, "ListEgress"))
    assert isinstance(active, ListEgressRequest) and isinstance(looked_up, ListEgressRequest)
    assert fields(active) == {"active"} and active.active  # every room's, in one call
    assert fields(looked_up) == {"egress_id"} and looked_up.egress_id == "EG_1"
    # listed nowhere: lost, so started again, into a file of its own
    (again,) = egress_calls(recorder, "StartTrackEgress")
    assert isinstance(again.request, TrackEgressRequest)
    assert again.request.file.filepath.endswith("-{time}-TR_mic-2")


async def test_the_lesson_end_stops_the_egresses_and_lists_the_rooms_once(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    outcomes = Outcomes()
    recording = LiveKitRecording(EgressPlan(RecordingConfig(root=ROOT)), outcomes)
    recording.connect(api)
    recording.on_webhook(publish(CAMERA, "EV_1"), NOW)
    # LiveKit tells the ids of the two egresses it started (the recorder's answers had none)
    camera = EgressInfo(egress_id="EG_c", room_name=ROOM, status=EgressStatus.EGRESS_ACTIVE,
                        track=TrackEgressRequest(room_name=ROOM, track_id="TR_cam", file={
                            "filepath": f"{ROOT}/recordings/{ROOM}/c-TR_cam-1"}))  # fmt: skip
    images = {"filename_prefix": f"{ROOT}/patrol/{ROOM}/teacher_cs-1-t1_camera"}
    thumbnails = TrackCompositeEgressRequest(room_name=ROOM, video_track_id="TR_cam",
                                             image_outputs=[images])  # fmt: skip
    wall = EgressInfo(egress_id="EG_t", room_name=ROOM, status=EgressStatus.EGRESS_ACTIVE,
                      track_composite=thumbnails)  # fmt: skip
    for event_id, info in (("EV_2", camera), ("EV_3", wall)):
        started = WebhookEvent(event="egress_started", id=event_id, egress_info=info)
        recording.on_webhook(started, NOW)
    await recording.settle()
    recorder.clear()
    later = NOW + timedelta(minutes=45)
    await recording.end([ROOM], later)
    await recording.end([ROOM], later)  # every upkeep while the lesson is ended
    assert recorder.names() == ["StopEgress", "StopEgress", "ListEgress"]
    stops = [c.request for c in egress_calls(recorder, "StopEgress")]
    assert all(isinstance(s, StopEgressRequest) and fields(s) == {"egress_id"} for s in stops)
    assert sorted(s.egress_id for s in stops) == ["EG_c", "EG_t"]  # type: ignore[attr-defined]
    (listing,) = egress_calls(recorder, "ListEgress")
    assert fields(listing.request) == {"room_name"}
    assert listing.request.room_name == ROOM  # type: ignore[attr-defined]
    assert outcomes == []  # both still run as far as anyone said
    await recording.reconcile({}, later + timedelta(minutes=1))  # LiveKit lists neither
    assert outcomes == [Completed(ROOM)]


async def test_a_room_composite_into_the_bucket_when_asked_for(
    recorder: TwirpRecorder, api: LiveKitAPI
) -> None:
    bucket = S3Upload(access_key="AK", secret="SK", region="us-east-1", bucket="sanke-recordings",
                      endpoint="https://s3.example.edu.cn", force_path_style=True)  # fmt: skip
    recording = LiveKitRecording(
        EgressPlan(RecordingConfig(s3=bucket, composite=True, thumbnails=False))
    )
    recording.connect(api)
    recording.on_webhook(publish(MIC, "EV_1"), NOW)
    await recording.settle()
    assert sorted(recorder.names()) == ["StartRoomCompositeEgress", "StartTrackEgress"]
    (room,) = egress_calls(recorder, "StartRoomCompositeEgress")
    composite = room.request
    assert isinstance(composite, RoomCompositeEgressRequest)
    assert composite.preset == EncodingOptionsPreset.H264_720P_30  # it encodes: hence opt-in
    (output,) = composite.file_outputs
    assert output.filepath == f"recordings/{ROOM}/composite-{{time}}-1.mp4"
    (track,) = egress_calls(recorder, "StartTrackEgress")
    assert isinstance(track.request, TrackEgressRequest)
    upload = track.request.file.s3
    assert fields(track.request.file) == {"filepath", "s3"}
    assert fields(upload) == {"access_key", "secret", "region", "endpoint", "bucket",
                              "force_path_style"}  # fmt: skip
    assert (upload.bucket, upload.endpoint, upload.force_path_style) == (
        "sanke-recordings", "https://s3.example.edu.cn", True
    )  # fmt: skip
    assert track.request.file.filepath.startswith(f"recordings/{ROOM}/teacher_cs-1-t1_microphone-")


async def test_an_unreachable_livekit_costs_the_track_no_restart() -> None:
    outcomes = Outcomes()
    config = RecordingConfig(root=ROOT, thumbnails=False, max_restarts=0)  # no restart at all
    recording = LiveKitRecording(EgressPlan(config), outcomes)
    async with aiohttp.ClientSession() as session:
        nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        recording.connect(LiveKitAPI(nowhere, KEY, SECRET, session=session, failover=False))
        recording.on_webhook(publish(MIC, "EV_1"), NOW)
        await recording.settle()  # logged, not raised
        with pytest.raises(BackendError):  # the upkeep says so, and goes on
            await recording.reconcile({}, NOW)
        with twirp_recorder() as running:
            recording.connect(LiveKitAPI(running.url, KEY, SECRET, session=session,
                                         failover=False))  # fmt: skip
            mic = SeenTrack("TR_mic", "microphone", "audio", "opus")
            await recording.reconcile(teacher_publishing(mic), NOW + timedelta(minutes=1))
            assert running.names() == ["ListEgress", "StartTrackEgress"]  # its first start
            (start,) = running.named("StartTrackEgress")
            assert isinstance(start.request, TrackEgressRequest)
            assert start.request.file.filepath.endswith("-TR_mic-1")
    assert not any(isinstance(o, GaveUp) for o in outcomes)
