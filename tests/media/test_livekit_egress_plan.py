"""The egress plan (pure): hand-written sequences of LiveKit webhook events in, the egress
requests to start and stop and what came out of them out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from livekit.protocol.egress import (
    DirectFileOutput,
    EgressInfo,
    EgressStatus,
    FileInfo,
    ImageFileSuffix,
    ImageOutput,
    RoomCompositeEgressRequest,
    S3Upload,
    TrackCompositeEgressRequest,
    TrackEgressRequest,
)
from livekit.protocol.models import (
    ImageCodec,
    ParticipantInfo,
    Room,
    TrackInfo,
    TrackSource,
    TrackType,
)
from livekit.protocol.webhook import WebhookEvent

from media.livekit.egress import thumbnails
from media.livekit.reconcile import SeenTrack
from media.livekit.recording_plan import (
    COMPOSITE,
    THUMBNAILS,
    TRACK,
    Action,
    Collect,
    Completed,
    EgressPlan,
    GaveUp,
    Published,
    RecordingConfig,
    Start,
    Stop,
    Target,
    TrackFile,
    file_stem,
)
from media.livekit.tokens import ROLE_ATTRIBUTE

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ROOM = "P3-L7-20260302"
ROOT = "/var/lib/sanke"
TEACHER, CLASSROOM = "teacher:cs-1-t1", "classroom:tp-1-r1"
CAMERA = TrackInfo(sid="TR_cam", type=TrackType.VIDEO, source=TrackSource.CAMERA,
                   mime_type="video/H264")  # fmt: skip
MIC = TrackInfo(sid="TR_mic", type=TrackType.AUDIO, source=TrackSource.MICROPHONE,
                mime_type="audio/opus")  # fmt: skip
SCREEN = TrackInfo(sid="TR_scr", type=TrackType.VIDEO, source=TrackSource.SCREEN_SHARE,
                   mime_type="video/VP8")  # fmt: skip
CAMERA_SEEN = SeenTrack("TR_cam", "camera", "video", "h264")
MIC_SEEN = SeenTrack("TR_mic", "microphone", "audio", "opus")
ROOM_CAMERA = TrackInfo(sid="TR_rcam", type=TrackType.VIDEO, source=TrackSource.CAMERA,
                        mime_type="video/VP8")  # fmt: skip


def person(identity: str, role: str, sid: str = "PA_1") -> ParticipantInfo:
    return ParticipantInfo(identity=identity, sid=sid, attributes={ROLE_ATTRIBUTE: role})


def hook(kind: str, event_id: str, **kwargs: object) -> WebhookEvent:
    return WebhookEvent(event=kind, id=event_id, room=Room(name=ROOM),
                        created_at=int(NOW.timestamp()), **kwargs)  # type: ignore[arg-type]  # fmt: skip


def publish(track: TrackInfo, identity: str = TEACHER, role: str = "teacher") -> WebhookEvent:
    return hook("track_published", f"EV_pub_{track.sid}", participant=person(identity, role),
                track=track)  # fmt: skip


def egress(egress_id: str, track: str, status: EgressStatus, *files: FileInfo,
           attempt: int = 1, error: str = "") -> EgressInfo:  # fmt: skip
    """What LiveKit reports of a track egress this plan started."""
    stem = {"TR_cam": "teacher_cs-1-t1_camera", "TR_mic": "teacher_cs-1-t1_microphone"}[track]
    path = f"{ROOT}/recordings/{ROOM}/{stem}-{{time}}-{track}-{attempt}"
    request = TrackEgressRequest(room_name=ROOM, track_id=track,
                                 file=DirectFileOutput(filepath=path))  # fmt: skip
    return EgressInfo(egress_id=egress_id, room_name=ROOM, status=status, track=request,
                      file_results=list(files), error=error,
                      started_at=int(NOW.timestamp() * 1e9))  # fmt: skip


def ended(info: EgressInfo, event_id: str) -> WebhookEvent:
    return hook("egress_ended", event_id, egress_info=info)


def starts(actions: list[Action]) -> dict[Target, Start]:
    found = {a.target: a for a in actions if isinstance(a, Start)}
    assert len(found) == sum(isinstance(a, Start) for a in actions), "two starts for one target"
    return found


def plan(**config: object) -> EgressPlan:
    return EgressPlan(RecordingConfig(root=ROOT, **config))  # type: ignore[arg-type]


def test_each_published_track_gets_one_track_egress_and_the_teacher_camera_thumbnails() -> None:
    egresses = plan()
    actions = egresses.on_webhook(publish(CAMERA), NOW)
    actions += egresses.on_webhook(publish(MIC), NOW)
    actions += egresses.on_webhook(publish(ROOM_CAMERA, CLASSROOM, "receiving_classroom"), NOW)
    hidden = TrackInfo(sid="TR_x", type=TrackType.VIDEO, source=TrackSource.CAMERA)
    actions += egresses.on_webhook(publish(hidden, "inspector:9", "inspector"), NOW)  # not recorded
    started = starts(actions)
    assert set(started) == {
        Target(ROOM, TRACK, "TR_cam"), Target(ROOM, TRACK, "TR_mic"),
        Target(ROOM, TRACK, "TR_rcam"), Target(ROOM, THUMBNAILS, "TR_cam"),
    }  # fmt: skip  # no room composite: it transcodes, so it is off unless configured
    camera = started[Target(ROOM, TRACK, "TR_cam")].request
    assert isinstance(camera, TrackEgressRequest)
    assert (camera.room_name, camera.track_id) == (ROOM, "TR_cam")
    assert camera.WhichOneof("output") == "file"  # a file as published: no encoding options
    assert camera.file.filepath == (
        f"{ROOT}/recordings/{ROOM}/teacher_cs-1-t1_camera-{{time}}-TR_cam-1"
    )
    assert not camera.file.HasField("s3")  # no bucket: the Egress host's directory
    classroom = started[Target(ROOM, TRACK, "TR_rcam")].request
    assert isinstance(classroom, TrackEgressRequest)
    assert classroom.file.filepath.startswith(f"{ROOT}/recordings/{ROOM}/classroom_tp-1-r1_camera-")
    wall = started[Target(ROOM, THUMBNAILS, "TR_cam")].request
    assert isinstance(wall, TrackCompositeEgressRequest)
    assert (wall.room_name, wall.video_track_id, wall.audio_track_id) == (ROOM, "TR_cam", "")
    (images,) = wall.image_outputs
    assert images.filename_prefix == f"{ROOT}/patrol/{ROOM}/teacher_cs-1-t1_camera"
    assert images.filename_suffix == ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE
    assert images.image_codec == ImageCodec.IC_JPEG
    assert not wall.file_outputs and not wall.segment_outputs and not wall.stream_outputs


def test_a_replayed_publication_starts_nothing_more() -> None:
    egresses = plan()
    assert len(starts(egresses.on_webhook(publish(MIC), NOW))) == 1
    assert egresses.on_webhook(publish(MIC), NOW) == []  # the same delivery again
    again = hook("track_published", "EV_other_id", participant=person(TEACHER, "teacher"),
                 track=MIC)  # fmt: skip
    assert egresses.on_webhook(again, NOW) == []  # told twice under two ids
    mic = Target(ROOM, TRACK, "TR_mic")
    assert egresses.started(mic, "EG_1", NOW) == []
    active = egress("EG_1", "TR_mic", EgressStatus.EGRESS_ACTIVE)
    assert egresses.on_webhook(hook("egress_started", "EV_s", egress_info=active), NOW) == []
    assert egresses.on_webhook(hook("egress_updated", "EV_u", egress_info=active), NOW) == []
    assert egresses.running() == {mic: "EG_1"}


def test_a_republished_track_after_a_reconnect_is_a_new_recording_of_the_same_source() -> None:
    egresses = plan(thumbnails=False)
    egresses.on_webhook(publish(CAMERA), NOW)
    egresses.started(Target(ROOM, TRACK, "TR_cam"), "EG_1", NOW)
    # the teacher's network drops: a new session publishes the camera as a new track
    gone = hook("track_unpublished", "EV_u", participant=person(TEACHER, "teacher"), track=CAMERA)
    assert egresses.on_webhook(gone, NOW) == []
    camera2 = TrackInfo(sid="TR_cam2", type=TrackType.VIDEO, source=TrackSource.CAMERA,
                        mime_type="video/H264")  # fmt: skip
    rejoined = hook("track_published", "EV_p2", participant=person(TEACHER, "teacher", "PA_2"),
                    track=camera2)  # fmt: skip
    (start,) = egresses.on_webhook(rejoined, NOW + timedelta(seconds=20))
    assert isinstance(start, Start) and isinstance(start.request, TrackEgressRequest)
    assert start.request.file.filepath.endswith("/teacher_cs-1-t1_camera-{time}-TR_cam2-1")
    # the old egress ended with its track: its file is handed on, nothing is started again
    name = f"{ROOT}/recordings/{ROOM}/teacher_cs-1-t1_camera-x-TR_cam-1.mp4"
    file = FileInfo(filename=name, started_at=int(NOW.timestamp() * 1e9), duration=int(15e9))
    (recorded,) = egresses.on_webhook(
        ended(egress("EG_1", "TR_cam", EgressStatus.EGRESS_COMPLETE, file), "EV_e"), NOW
    )
    assert isinstance(recorded, TrackFile)
    assert (recorded.identity, recorded.source, recorded.codec, recorded.egress) == (
        TEACHER, "camera", "h264", "EG_1"
    )  # fmt: skip
    assert (recorded.started, recorded.seconds) == (NOW.timestamp(), 15.0)
    assert file_stem(recorded.identity, recorded.source) == "teacher_cs-1-t1_camera"


def test_an_egress_that_fails_is_started_once_more_then_given_up() -> None:
    egresses = plan(max_restarts=1)
    mic = Target(ROOM, TRACK, "TR_mic")
    egresses.on_webhook(publish(MIC), NOW)
    egresses.started(mic, "EG_1", NOW)
    failed = ended(egress("EG_1", "TR_mic", EgressStatus.EGRESS_FAILED, error="pipeline"), "EV_1")
    (restart,) = egresses.on_webhook(failed, NOW)
    assert isinstance(restart, Start) and isinstance(restart.request, TrackEgressRequest)
    assert restart.request.file.filepath.endswith("-TR_mic-2")  # its own file, not the first's
    assert egresses.on_webhook(failed, NOW) == []  # the report again: nothing more
    egresses.started(mic, "EG_2", NOW)
    again = egress("EG_2", "TR_mic", EgressStatus.EGRESS_FAILED, attempt=2, error="pipeline")
    (gave_up,) = egresses.on_webhook(ended(again, "EV_2"), NOW)
    assert gave_up == GaveUp(mic, "pipeline")
    assert egresses.reconcile({ROOM: {"TR_mic": _published(MIC_SEEN)}}, [], NOW) == []  # not again


def test_an_egress_that_fails_after_its_track_went_is_not_started_again() -> None:
    egresses = plan()
    mic = Target(ROOM, TRACK, "TR_mic")
    egresses.on_webhook(publish(MIC), NOW)
    egresses.started(mic, "EG_1", NOW)
    egresses.on_webhook(hook("track_unpublished", "EV_u", participant=person(TEACHER, "teacher"),
                             track=MIC), NOW)  # fmt: skip
    aborted = egress("EG_1", "TR_mic", EgressStatus.EGRESS_ABORTED)
    assert egresses.on_webhook(ended(aborted, "EV_e"), NOW) == []


def test_the_lesson_end_stops_every_egress_and_completes_when_the_last_has_ended() -> None:
    egresses = plan()
    egresses.on_webhook(publish(CAMERA), NOW)
    egresses.on_webhook(publish(MIC), NOW)
    for target, egress_id in [(Target(ROOM, TRACK, "TR_cam"), "EG_c"),
                              (Target(ROOM, TRACK, "TR_mic"), "EG_m"),
                              (Target(ROOM, THUMBNAILS, "TR_cam"), "EG_t")]:  # fmt: skip
        egresses.started(target, egress_id, NOW)
    later = NOW + timedelta(minutes=40)
    actions = egresses.end(ROOM, later)
    assert {(a.target.kind, a.egress) for a in actions if isinstance(a, Stop)} == {
        (TRACK, "EG_c"), (TRACK, "EG_m"), (THUMBNAILS, "EG_t")
    }  # fmt: skip
    assert actions[-1] == Collect(ROOM)
    assert egresses.end(ROOM, later) == []  # every upkeep says so: once is enough
    assert egresses.on_webhook(publish(SCREEN), later) == []  # too late to record
    assert egresses.collected(ROOM, later) == []  # LiveKit listed nothing more; some still run
    file = FileInfo(filename="f.ogg", started_at=int(NOW.timestamp() * 1e9), duration=int(2.4e12))
    first = egresses.on_webhook(ended(egress("EG_m", "TR_mic", EgressStatus.EGRESS_COMPLETE, file),
                                      "EV_1"), later)  # fmt: skip
    assert [type(a) for a in first] == [TrackFile]
    egresses.on_webhook(ended(egress("EG_c", "TR_cam", EgressStatus.EGRESS_COMPLETE), "EV_2"),
                        later)  # fmt: skip
    thumbs = EgressInfo(egress_id="EG_t", room_name=ROOM, status=EgressStatus.EGRESS_COMPLETE,
                        track_composite=TrackCompositeEgressRequest(
                            room_name=ROOM, video_track_id="TR_cam",
                            image_outputs=[_images()]))  # fmt: skip
    last = egresses.on_webhook(hook("egress_ended", "EV_3", egress_info=thumbs), later)
    assert last == [Completed(ROOM)]
    assert egresses.running() == {}


def test_an_ended_room_that_hears_nothing_completes_after_a_while() -> None:
    egresses = plan(thumbnails=False)
    egresses.on_webhook(publish(MIC), NOW)
    egresses.started(Target(ROOM, TRACK, "TR_mic"), "EG_1", NOW)
    egresses.end(ROOM, NOW)
    egresses.collected(ROOM, NOW)
    still = [egress("EG_1", "TR_mic", EgressStatus.EGRESS_ENDING)]
    assert [type(a) for a in egresses.reconcile({}, still, NOW + timedelta(minutes=1))] == [Stop]
    late = NOW + timedelta(minutes=31)
    assert Completed(ROOM) in egresses.reconcile({}, still, late)


def test_two_egresses_for_one_track_keep_the_one_with_the_smaller_id() -> None:
    egresses = plan(thumbnails=False)
    cam = Target(ROOM, TRACK, "TR_cam")
    egresses.on_webhook(publish(CAMERA), NOW)
    egresses.started(cam, "EG_5", NOW)
    # another app instance started one too, and LiveKit reports it
    other = egress("EG_0", "TR_cam", EgressStatus.EGRESS_ACTIVE)
    assert egresses.on_webhook(hook("egress_started", "EV_o", egress_info=other), NOW) == [
        Stop(cam, "EG_5")
    ]
    assert egresses.running() == {cam: "EG_0"}
    listed = [other, egress("EG_5", "TR_cam", EgressStatus.EGRESS_ACTIVE)]
    assert egresses.reconcile({ROOM: {"TR_cam": _published()}}, listed, NOW) == []  # stopped once
    # the stopped one ends (complete): its file is handed on, nothing restarts
    stopped = egress("EG_5", "TR_cam", EgressStatus.EGRESS_COMPLETE, FileInfo(filename="x.mp4"))
    assert [type(a) for a in egresses.on_webhook(ended(stopped, "EV_x"), NOW)] == [TrackFile]
    assert egresses.running() == {cam: "EG_0"}


def test_reconcile_adopts_what_runs_starts_what_is_missing_and_restarts_what_was_lost() -> None:
    egresses = plan(thumbnails=False)  # a fresh plan: the app restarted
    published = {ROOM: {"TR_cam": _published(), "TR_mic": _published(MIC_SEEN)}}
    running = egress("EG_7", "TR_cam", EgressStatus.EGRESS_ACTIVE)
    actions = egresses.reconcile(published, [running], NOW)
    assert list(starts(actions)) == [Target(ROOM, TRACK, "TR_mic")]  # the camera's is adopted
    mic = Target(ROOM, TRACK, "TR_mic")
    egresses.started(mic, "EG_8", NOW)
    assert egresses.unlisted([running]) == ["EG_8"]  # the adapter looks it up: nothing found
    (restart,) = egresses.reconcile(published, [running], NOW + timedelta(minutes=1))
    assert isinstance(restart, Start) and restart.target == mic
    assert isinstance(restart.request, TrackEgressRequest)
    assert restart.request.file.filepath.endswith("-TR_mic-2")


def test_a_start_that_could_not_reach_livekit_costs_no_restart() -> None:
    egresses = plan(thumbnails=False, max_restarts=0)
    mic = Target(ROOM, TRACK, "TR_mic")
    egresses.on_webhook(publish(MIC), NOW)
    assert egresses.start_failed(mic, "unreachable", NOW, counts=False) == []
    published = {ROOM: {"TR_mic": _published(MIC_SEEN)}}
    (start,) = egresses.reconcile(published, [], NOW)
    assert isinstance(start, Start) and start.target == mic
    assert egresses.start_failed(mic, "no egress service", NOW, counts=True) == [
        GaveUp(mic, "no egress service")
    ]


def test_a_room_composite_and_a_bucket_only_when_configured() -> None:
    bucket = S3Upload(bucket="sanke-recordings", endpoint="https://s3.example.edu.cn",
                      access_key="k", secret="s", force_path_style=True)  # fmt: skip
    egresses = EgressPlan(RecordingConfig(s3=bucket, composite=True, thumbnails=False))
    started = starts(egresses.on_webhook(publish(MIC), NOW))
    composite = started[Target(ROOM, COMPOSITE)].request
    assert isinstance(composite, RoomCompositeEgressRequest)
    (output,) = composite.file_outputs
    assert output.filepath == f"recordings/{ROOM}/composite-{{time}}-1.mp4"  # a bucket key
    assert output.s3 == bucket
    track = started[Target(ROOM, TRACK, "TR_mic")].request
    assert isinstance(track, TrackEgressRequest)
    assert track.file.filepath.startswith(f"recordings/{ROOM}/teacher_cs-1-t1_microphone-")
    assert track.file.s3 == bucket


def test_egresses_this_plan_would_not_start_are_left_alone() -> None:
    egresses = plan()
    elsewhere = TrackEgressRequest(room_name=ROOM, track_id="TR_cam",
                                   file=DirectFileOutput(filepath="/tmp/manual.mp4"))  # fmt: skip
    info = EgressInfo(egress_id="EG_9", room_name=ROOM, status=EgressStatus.EGRESS_ACTIVE,
                      track=elsewhere)  # fmt: skip
    assert egresses.on_egress(info, NOW) == []
    assert egresses.running() == {}


def _published(track: SeenTrack = CAMERA_SEEN) -> Published:
    return Published(TEACHER, "teacher", track)


def _images() -> ImageOutput:
    return thumbnails(f"{ROOT}/patrol/{ROOM}/teacher_cs-1-t1_camera")
