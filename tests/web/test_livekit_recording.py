"""Recording through LiveKit Egress in the app (``SANKE_MEDIA_BACKEND=livekit``): signed
webhooks in, egress requests out, and the files an egress reports finished entered into the
recorder's pipeline, so that the lesson gets ``recording.ready`` like any other.

LiveKit's side is the Twirp recorder of ``tests/media/livekit_twirp.py`` (real HTTP on
loopback, decoded with LiveKit's protocol definitions, empty answers); the webhooks are
signed as LiveKit signs them, and the files are real media files in the containers a track
egress writes (H.264 in MP4, Opus in Ogg), made with ffmpeg.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToJson
from livekit.protocol.egress import (
    DirectFileOutput,
    EgressInfo,
    EgressStatus,
    FileInfo,
    TrackCompositeEgressRequest,
    TrackEgressRequest,
)
from livekit.protocol.models import ParticipantInfo, Room, TrackInfo, TrackSource, TrackType
from livekit.protocol.webhook import WebhookEvent
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from media.livekit.recording_plan import Completed, EgressPlan, TrackFile, file_stem
from recorder.capture import track_name
from recorder.ffmpeg_binary import find_ffmpeg
from recorder.imported import ImportedFile, complete, register
from recorder.jobs import JobQueue, JobState
from recorder.storage import LocalStorage
from recorder.worker import ASSETS
from rooms.store import RoomStore
from tests.media.livekit_twirp import KEY, SECRET, TwirpRecorder, twirp_recorder
from tests.media.test_livekit_webhooks import sign
from tests.web.live_fixtures import TEACHER, lessons_now
from tests.web.test_livekit_media import HOOK, TEACHER_SEAT, app_with, media_of, services_of
from web.database import upgrade
from web.livekit_media import EgressArchive, LiveKitMedia
from web.recording import job_worker

IDENTITY = f"teacher:{TEACHER}"
CAMERA = TrackInfo(sid="TR_cam", type=TrackType.VIDEO, source=TrackSource.CAMERA,
                   mime_type="video/H264")  # fmt: skip
MIC = TrackInfo(sid="TR_mic", type=TrackType.AUDIO, source=TrackSource.MICROPHONE,
                mime_type="audio/opus")  # fmt: skip


@pytest.fixture
def recorder() -> Iterator[TwirpRecorder]:
    with twirp_recorder() as running:
        yield running


@pytest.fixture
def livekit_app(
    sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path, recorder: TwirpRecorder
) -> FastAPI:
    return app_with(sqlite_engine, hasher, tmp_path, media_backend="livekit",
                    livekit_url=recorder.url, livekit_api_key=KEY,
                    livekit_api_secret=SECRET)  # fmt: skip


def post(client: TestClient, event: WebhookEvent) -> str:
    """Deliver ``event`` as LiveKit does: its JSON, signed with the API secret."""
    body = MessageToJson(event).encode()
    headers = {"Authorization": sign(body), "Content-Type": "application/webhook+json"}
    answer = client.post(HOOK, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["status"]
    return status


def published(room: str, track: TrackInfo, event_id: str) -> WebhookEvent:
    teacher = ParticipantInfo(identity=IDENTITY, sid="PA_1", attributes={"sanke.role": "teacher"})
    return WebhookEvent(event="track_published", id=event_id, room=Room(name=room),
                        participant=teacher, track=track,
                        created_at=int(time.time()))  # fmt: skip


def egress_ended(
    room: str, track: str, egress_id: str, status: EgressStatus, filepath: str, *files: FileInfo
) -> WebhookEvent:
    """``egress_ended`` of a track egress started with ``filepath``, as LiveKit reports it."""
    request = TrackEgressRequest(room_name=room, track_id=track,
                                 file=DirectFileOutput(filepath=filepath))  # fmt: skip
    error = "" if files else "pipeline failed"
    info = EgressInfo(egress_id=egress_id, room_name=room, status=status, track=request,
                      file_results=list(files), error=error)  # fmt: skip
    return WebhookEvent(event="egress_ended", id=f"EV_{egress_id}", egress_info=info,
                        created_at=int(time.time()))  # fmt: skip


def media_file(path: Path, video: bool, seconds: int = 2) -> FileInfo:
    """A real file like a track egress writes, and its ``FileInfo``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = ["-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=320x180:rate=15",
               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "15"]  # fmt: skip
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "libopus"]
    source = picture if video else sound
    subprocess.run([find_ffmpeg().ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
                    "-y", *source, str(path)], check=True)  # fmt: skip
    started = int((time.time() - 60) * 1e9)
    return FileInfo(filename=str(path), location=str(path), started_at=started,
                    ended_at=started + int(seconds * 1e9), duration=int(seconds * 1e9),
                    size=path.stat().st_size)  # fmt: skip


def first_upkeep(media: LiveKitMedia) -> None:
    deadline = time.monotonic() + 10
    while not media.expected:  # the app's first step ends by noting the load it expects
        assert time.monotonic() < deadline, "the first upkeep did not finish"
        time.sleep(0.02)


def test_egress_files_become_the_lessons_recording(
    livekit_app: FastAPI, recorder: TwirpRecorder, tmp_path: Path
) -> None:
    services = services_of(livekit_app)
    media = media_of(livekit_app)
    assert media.recording is not None
    (lesson,) = lessons_now(services.engine, started_minutes_ago=5)
    room = lesson.id
    folder = tmp_path.resolve() / "recordings" / room
    with TestClient(livekit_app) as client:
        first_upkeep(media)
        client.portal.call(services.lessons.step, datetime.now(UTC))  # type: ignore[union-attr]
        recorder.clear()
        assert post(client, published(room, CAMERA, "EV_1")) == "accepted"
        assert post(client, published(room, MIC, "EV_2")) == "accepted"
        assert post(client, published(room, MIC, "EV_2")) == "duplicate"
        client.portal.call(media.recording.settle)  # type: ignore[union-attr]
        # straight into the data directory's recordings (no bucket is configured)
        requests = [c.request for c in recorder.named("StartTrackEgress")]
        sent = {r.track_id: r for r in requests if isinstance(r, TrackEgressRequest)}
        assert set(sent) == {"TR_cam", "TR_mic"} and len(requests) == 2
        camera_path = f"{folder}/teacher_cs-qingxi-shiyan-t1_camera-{{time}}-TR_cam-1"
        mic_path = f"{folder}/teacher_cs-qingxi-shiyan-t1_microphone-{{time}}-TR_mic-1"
        assert (sent["TR_cam"].file.filepath, sent["TR_mic"].file.filepath) == (
            camera_path, mic_path
        )  # fmt: skip
        (wall,) = recorder.named("StartTrackCompositeEgress")
        assert isinstance(wall.request, TrackCompositeEgressRequest)
        assert wall.request.image_outputs[0].filename_prefix == (
            f"{tmp_path.resolve()}/patrol/{room}/teacher_cs-qingxi-shiyan-t1_camera"
        )
        assert recorder.named("StartRoomCompositeEgress") == []  # it transcodes: off by default

        # Egress finished the camera's file (the teacher's camera track ended)
        camera = media_file(folder / "teacher_cs-qingxi-shiyan-t1_camera-2026T1-TR_cam-1.mp4",
                            video=True)  # fmt: skip
        ended = egress_ended(room, "TR_cam", "EG_c", EgressStatus.EGRESS_COMPLETE, camera_path,
                             camera)  # fmt: skip
        assert post(client, ended) == "accepted"
        client.portal.call(media.recording.settle)  # type: ignore[union-attr]
        stem = "teacher_cs-qingxi-shiyan-t1_camera"
        assert (folder / f"{stem}.timeline.jsonl").is_file()
        assert not (folder / "recording.json").exists()  # not before every egress has ended

        # the app restarts: a new plan knows nothing of the microphone, the lesson's log does
        media.recording.plan = EgressPlan(media.recording.plan.config)
        mic = media_file(folder / "teacher_cs-qingxi-shiyan-t1_microphone-2026T1-TR_mic-1.ogg",
                         video=False)  # fmt: skip
        post(client, egress_ended(room, "TR_mic", "EG_m", EgressStatus.EGRESS_COMPLETE, mic_path,
                                  mic))  # fmt: skip
        client.portal.call(media.recording.settle)  # type: ignore[union-attr]

        # the teacher ends the lesson (下课); the next upkeep completes the recording
        client.portal.call(services.lessons.end, room, TEACHER_SEAT)  # type: ignore[union-attr]
        recorder.clear()
        client.portal.call(media.step, services.lessons, datetime.now(UTC))  # type: ignore[union-attr]
        listed = [c.request for c in recorder.named("ListEgress")]
        assert any(r.room_name == room for r in listed)  # type: ignore[attr-defined]  # once
    manifest = (folder / "recording.json").read_text()
    assert '"source": "teacher:cs-qingxi-shiyan-t1/camera"' in manifest
    assert '"source": "teacher:cs-qingxi-shiyan-t1/microphone"' in manifest
    queued = JobQueue(services.engine).find(room, ASSETS)
    assert queued is not None and queued.state is JobState.QUEUED
    assert services.reviews.state(room) == "processing"

    # the recorder's job worker builds it as any recording, and says so in the lesson's log
    job = asyncio.run(job_worker(services.settings, services.engine).run_once())
    assert job is not None and job.recording == room
    ready = RoomStore(services.engine).events(room, ["recording.ready"])
    assert len(ready) == 1
    assert sorted(ready[0]["data"]["tracks"]) == [stem, "teacher_cs-qingxi-shiyan-t1_microphone"]
    assert services.reviews.state(room) == "ready"


def test_a_track_whose_egress_keeps_failing_raises_recording_failed(
    livekit_app: FastAPI, recorder: TwirpRecorder
) -> None:
    services = services_of(livekit_app)
    media = media_of(livekit_app)
    (lesson,) = lessons_now(services.engine, started_minutes_ago=5)
    room = lesson.id
    with TestClient(livekit_app) as client:
        first_upkeep(media)
        recorder.clear()
        post(client, published(room, MIC, "EV_1"))
        client.portal.call(media.recording.settle)  # type: ignore[union-attr]
        path = recorder.named("StartTrackEgress")[0].request.file.filepath  # type: ignore[attr-defined]
        for attempt in range(1, 5):  # the first start and its three restarts
            failed = egress_ended(room, "TR_mic", f"EG_{attempt}", EgressStatus.EGRESS_FAILED, path)
            post(client, failed)
            client.portal.call(media.recording.settle)  # type: ignore[union-attr]
        starts = [c.request.file.filepath for c in recorder.named("StartTrackEgress")]  # type: ignore[attr-defined]
        assert [p.rsplit("-", 1)[1] for p in starts] == ["1", "2", "3", "4"]
    failures = RoomStore(services.engine).events(room, ["recording.failed"])
    assert [f["data"]["error"] for f in failures] == ["egress_failed: pipeline failed"]
    assert room in RoomStore(services.engine).lessons_with(
        "recording.failed", datetime.now(UTC) - timedelta(minutes=5)
    )  # what the patrol wall's alert reads


def test_a_file_is_registered_once_and_of_two_covering_one_time_the_longer_is_kept(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    upgrade(sqlite_engine)
    storage, source = LocalStorage(tmp_path), f"{IDENTITY}/camera"
    key = "recordings/L1/teacher_cs-qingxi-shiyan-t1_camera-a.mp4"
    assert register(storage, ImportedFile("L1", source, key, 1000.0, 60.0))
    assert not register(storage, ImportedFile("L1", source, key, 1000.0, 60.0))  # again
    short = "recordings/L1/teacher_cs-qingxi-shiyan-t1_camera-b.mp4"  # a stopped duplicate
    assert not register(storage, ImportedFile("L1", source, short, 1001.0, 5.0))
    longer = "recordings/L1/teacher_cs-qingxi-shiyan-t1_camera-c.mp4"
    assert register(storage, ImportedFile("L1", source, longer, 990.0, 80.0))
    later = "recordings/L1/teacher_cs-qingxi-shiyan-t1_camera-d.mp4"  # after a reconnect
    assert register(storage, ImportedFile("L1", source, later, 1100.0, 30.0))
    timeline = tmp_path / "recordings/L1/teacher_cs-qingxi-shiyan-t1_camera.timeline.jsonl"
    names = [
        line.split('"segment": "')[1].split('"')[0] for line in timeline.read_text().splitlines()
    ]
    assert names == [longer.rsplit("/", 1)[1], later.rsplit("/", 1)[1]]
    with pytest.raises(ValueError, match="not in recordings/L1/"):
        register(storage, ImportedFile("L1", source, "recordings/L2/x.mp4", 0.0, 1.0))
    with pytest.raises(ValueError, match="codec"):
        register(storage, ImportedFile("L1", source, "recordings/L1/x.mkv", 0.0, 1.0))
    jobs = JobQueue(sqlite_engine)
    assert complete(storage, jobs, "L1", datetime.now(UTC)) == [
        "teacher_cs-qingxi-shiyan-t1_camera"
    ]
    assert complete(storage, jobs, "L2", datetime.now(UTC)) == []  # nothing recorded


def test_egress_files_are_named_as_the_embedded_recorder_names_its_tracks() -> None:
    for identity, source in [(IDENTITY, "camera"), ("classroom:tp-yangshuwan-r1", "screen_audio")]:
        assert file_stem(identity, source) == track_name(f"{identity}/{source}")


def test_a_file_egress_put_in_the_bucket_is_copied_into_the_spool_and_built_from_there(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    upgrade(sqlite_engine)
    # the bucket, through the same storage port as the S3 adapter (keys are keys)
    bucket, spool = LocalStorage(tmp_path / "bucket"), LocalStorage(tmp_path / "data")
    key = "recordings/L1/teacher_cs-qingxi-shiyan-t1_microphone-2026T1-TR_mic-1.ogg"
    made = media_file(tmp_path / "made.ogg", video=False)
    bucket.put_file(key, Path(made.filename))
    archive = EgressArchive(spool, bucket, RoomStore(sqlite_engine), JobQueue(sqlite_engine))
    done = TrackFile(room="L1", track="TR_mic", identity=IDENTITY, source="microphone",
                     codec="opus", egress="EG_1", filename=key, location=f"s3://b/{key}",
                     started=made.started_at / 1e9, seconds=2.0, size=made.size)  # fmt: skip
    now = datetime.now(UTC)
    archive.take(done, now)
    assert (tmp_path / "data" / key).read_bytes() == Path(made.filename).read_bytes()
    archive.take(Completed("L1"), now)
    assert spool.exists("recordings/L1/recording.json")
    assert JobQueue(sqlite_engine).find("L1", ASSETS) is not None
    # without a bucket, a file Egress wrote where this host cannot read it is left out
    lost = EgressArchive(spool, None, RoomStore(sqlite_engine), JobQueue(sqlite_engine))
    lost.take(replace(done, room="L2", filename="/elsewhere/recordings/L2/x-TR_mic-1.ogg"), now)
    assert list(spool.list("recordings/L2/")) == []
