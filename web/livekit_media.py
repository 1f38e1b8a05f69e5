"""The LiveKit backend as the app runs it (``SANKE_MEDIA_BACKEND=livekit``).

Built from settings by :func:`open_livekit`: the live-lessons service then drives LiveKit
rooms (:class:`~media.livekit.rooms.LiveKitRooms`) instead of the embedded SFU, and
LiveKit's webhooks arrive at ``POST /api/v1/livekit/webhook``. :meth:`LiveKitMedia.run`
(started with the app, see ``web/routers/livekit_webhook.py``) opens the API client,
every minute reconciles the rooms with LiveKit and creates the rooms of the lessons
about to open, with their expected load, and closes the client when the app stops.

Recording goes through LiveKit Egress (``media.livekit.recording``): the webhooks and the
same minute-by-minute upkeep start a track egress for each track the teacher and the
classrooms publish, thumbnails of the teacher camera for the patrol wall, and stop them when
the lesson ends. :class:`EgressArchive` makes what they write the lesson's recording through
the recorder's own registration (``recorder.imported``): segments of its tracks, then
``recording.json`` and the assets job, whose worker puts ``recording.ready`` in the lesson's
log as for the embedded recorder; an egress that keeps failing puts ``recording.failed``
there. Files go into the S3 bucket when the settings name one, else straight into the
recordings folder of the data directory, which Egress must then be able to write; either
way the recording is built from that folder (copied down from the bucket first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from livekit.api import LiveKitAPI
from livekit.protocol.egress import S3Upload
from sqlalchemy import Engine

from kernel.events import Event
from media.errors import BackendError
from media.livekit.placement import Feed, RoomPlan, due, expected_load, place
from media.livekit.recording import LiveKitRecording, Outcome, Outcomes
from media.livekit.recording_plan import (
    TRACK,
    Completed,
    EgressPlan,
    GaveUp,
    RecordingConfig,
    TrackFile,
    published_tracks,
)
from media.livekit.rooms import LiveKitRooms
from media.livekit.webhooks import WebhookInbox
from recorder.errors import RecorderError
from recorder.events import RecordingFailed
from recorder.imported import ImportedFile, codec_of, complete, fetch, key_of, register
from recorder.jobs import JobQueue
from recorder.storage import LocalStorage, Storage
from rooms.lesson import LessonMode, LessonView
from rooms.lifecycle import RoomState, Timing
from rooms.store import RoomStore
from web.live_lessons import LiveLessons
from web.pages import BEIJING
from web.settings import MediaBackend, SankeSettings

logger = logging.getLogger(__name__)

RECONCILE_SECONDS = 60.0
AHEAD = timedelta(minutes=15)  # rooms exist this long before they open
API_TIMEOUT = aiohttp.ClientTimeout(total=10)
#: Expected bitrates (DESIGN.md §5: 720p30 H.264 about 1.5 Mbit/s; Opus speech 32 kbit/s).
VIDEO_BPS = 1_500_000.0
AUDIO_BPS = 32_000.0
WATCHERS = 2  # besides teacher and classrooms: the recorder and one inspector on patrol
SEATS_FOR_WATCHERS = 20  # room for hidden watchers in a delivery lesson's room
PLANNED = frozenset({RoomState.SCHEDULED, RoomState.OPEN, RoomState.LIVE})
PUBLISHED_LOOKED_UP = 2000  # media.published events of a lesson searched for a track's source


def room_plan(view: LessonView, timing: Timing) -> RoomPlan:
    """The room a lesson needs: the teacher's camera and microphone go to every classroom
    and watcher; each classroom's camera to the teacher and the watchers; the microphone
    of the classroom called on to everyone else."""
    classrooms = len(view.receivers)
    feeds = (
        Feed(VIDEO_BPS, 1, classrooms + WATCHERS),
        Feed(AUDIO_BPS, 1, classrooms + WATCHERS),
        Feed(VIDEO_BPS, classrooms, 1 + WATCHERS),
        Feed(AUDIO_BPS, min(classrooms, 1), classrooms + WATCHERS),
    )
    audience = view.mode is not LessonMode.DELIVERY  # an audience of unknown size
    return RoomPlan(
        room=view.id,
        opens_at=view.starts_at - timing.open_before,
        closes_at=view.ends_at + timing.end_after,
        feeds=feeds,
        max_participants=0 if audience else 1 + classrooms + SEATS_FOR_WATCHERS,
    )


@dataclass
class EgressArchive:
    """Where what the egresses make goes: each track file becomes a segment of the lesson's
    recording in the spool (the data directory's ``recordings/``, where the job worker
    builds; a file Egress uploaded into the ``remote`` bucket is copied down first), a
    completed lesson gets its manifest and build, and a track that could not be recorded
    ``recording.failed`` in the lesson's log (the patrol wall's alert)."""

    spool: LocalStorage
    remote: Storage | None
    store: RoomStore
    jobs: JobQueue

    async def __call__(self, outcome: Outcome) -> None:
        await asyncio.to_thread(self.take, outcome, datetime.now(UTC))

    def take(self, outcome: Outcome, now: datetime) -> None:
        if isinstance(outcome, TrackFile):
            self._file(outcome)
        elif isinstance(outcome, Completed):
            if not complete(self.spool, self.jobs, outcome.room, now):
                logger.info("EgressArchive(%s): nothing was recorded", outcome.room)
        elif isinstance(outcome, GaveUp) and outcome.target.kind == TRACK:
            error = f"egress_failed: {outcome.error}"
            self.store.append([RecordingFailed(at=now, lesson=outcome.target.room, error=error)])
            logger.error("EgressArchive(%s) track %s not recorded: %s", outcome.target.room,
                         outcome.target.track, outcome.error)  # fmt: skip
        elif isinstance(outcome, GaveUp):
            logger.warning("EgressArchive(%s) no %s: %s", outcome.target.room,
                           outcome.target.kind, outcome.error)  # fmt: skip

    def _file(self, done: TrackFile) -> None:
        key = key_of(done.room, done.filename)
        source = f"{done.identity}/{done.source}" if done.identity else self._source(done)
        if key is None or not source:
            logger.warning("EgressArchive(%s) cannot place %s (track %s, source %r)",
                           done.room, done.filename, done.track, source)  # fmt: skip
            return
        try:
            if self.remote is not None:
                fetch(self.remote, self.spool, key)
        except (RecorderError, OSError) as exc:  # not in the bucket, or the bucket is away
            logger.error("EgressArchive(%s) cannot fetch %s: %s", done.room, key, exc)
            return
        if not self.spool.exists(key):  # Egress wrote it where this host cannot read it
            logger.error("EgressArchive(%s) %s is not in %s: Egress must write into the data "
                         "directory, or a bucket", done.room, key, self.spool.root)  # fmt: skip
            return
        codec = "" if codec_of(key) else done.codec  # the container Egress chose says best
        try:
            register(self.spool, ImportedFile(done.room, source, key, done.started,
                                              done.seconds, codec))  # fmt: skip
        except ValueError as exc:
            logger.warning("EgressArchive(%s) left %s out: %s", done.room, key, exc)

    def _source(self, done: TrackFile) -> str:
        """The source of a track the egress plan did not see published (an app restart
        came between), from the lesson's log."""
        log = self.store.events(done.room, ["media.published"], limit=PUBLISHED_LOOKED_UP)
        for entry in log:
            data = entry["data"]
            if data.get("track") == done.track:
                return f"{data['identity']}/{data['source']}"
        return ""


@dataclass
class LiveKitMedia:
    url: str
    api_key: str
    api_secret: str
    rooms: LiveKitRooms
    inbox: WebhookInbox
    recording: LiveKitRecording | None = None  # Egress; its outcomes go to ``run``'s archive
    nodes: tuple[str, ...] = ()  # empty: LiveKit's node selector places the rooms
    expected: dict[str, float] = field(default_factory=dict)  # node → forwarded bit/s now

    def receive(self, body: bytes, authorization: str, now: datetime) -> bool:
        """Take one webhook delivery in; False if it came before. Raises ``WebhookInvalid``."""
        event = self.inbox.receive(body, authorization, now)
        if event is None:
            return False
        self.rooms.on_webhook(event, now)
        if self.recording is not None:
            self.recording.on_webhook(event, now)
        return True

    async def run(self, lessons: LiveLessons, archive: Outcomes | None = None) -> None:
        """Open the API client and keep LiveKit in line with Sanke until cancelled; what
        the egresses make goes to ``archive``."""
        async with aiohttp.ClientSession(timeout=API_TIMEOUT) as session:
            api = LiveKitAPI(self.url, self.api_key, self.api_secret, session=session,
                             failover=False)  # fmt: skip
            self.rooms.connect(api)
            if self.recording is not None:
                if archive is not None:
                    self.recording.outcomes = archive
                self.recording.connect(api)
            try:
                while True:
                    await self.step(lessons, datetime.now(UTC))
                    await asyncio.sleep(RECONCILE_SECONDS)
            finally:
                self.rooms.disconnect()
                await self.rooms.stop()
                if self.recording is not None:
                    self.recording.disconnect()
                    await self.recording.stop()

    async def step(self, lessons: LiveLessons, now: datetime) -> None:
        """Reconcile the rooms, then the recordings (stopping those of lessons that ended),
        then create the rooms about to open (each part on its own)."""
        try:
            await self.rooms.reconcile(now)
        except BackendError as exc:
            logger.warning("LiveKitMedia: reconcile failed: %s", exc)
        plans, ended = await asyncio.to_thread(self._plans, lessons, now)
        if self.recording is not None:
            try:
                await self.recording.end(ended, now)
                await self.recording.reconcile(published_tracks(self.rooms.belief), now)
            except BackendError as exc:
                logger.warning("LiveKitMedia: recordings not reconciled: %s", exc)
        try:
            placement = place(plans, self.nodes)
            await self.rooms.ensure_rooms(due(plans, now, AHEAD), placement, now)
        except BackendError as exc:
            logger.warning("LiveKitMedia: rooms not created ahead: %s", exc)
            return
        expected = expected_load(plans, placement, now + AHEAD)
        if expected != self.expected:
            for node, bps in sorted(expected.items()):
                logger.info("LiveKitMedia: node %s expects %.1f Mbit/s forwarded by %s",
                            node or "(any)", bps / 1e6, (now + AHEAD).isoformat())  # fmt: skip
        self.expected = expected

    @staticmethod
    def _plans(lessons: LiveLessons, now: datetime) -> tuple[list[RoomPlan], list[str]]:
        """The rooms still to be held (not cancelled, not ended), and those that ended
        lately (archived a few minutes after ending): the lessons of today, of yesterday
        (one that ended before midnight is still to be stopped) and, near midnight, of
        tomorrow (a room just after midnight is made ``AHEAD`` like any other)."""
        first = (now - timedelta(days=1)).astimezone(BEIJING).date()
        last = (now + AHEAD).astimezone(BEIJING).date()
        views = [v for v in lessons.lessons_between(first, last) if not v.cancelled]
        states = {lesson: room.state for lesson, (room, _) in lessons.rooms_of(views).items()}
        plans = [room_plan(v, lessons.timing) for v in views if states[v.id] in PLANNED]
        return plans, [v.id for v in views if states[v.id] is RoomState.ENDED]


def open_livekit(settings: SankeSettings, emit: Callable[[Event], None]) -> LiveKitMedia | None:
    """The LiveKit backend if the settings choose it (they hold its URL, key and secret)."""
    if settings.media_backend is not MediaBackend.LIVEKIT:
        return None
    url, key, secret = settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    assert url and key and secret is not None  # the settings refuse livekit without them
    return LiveKitMedia(
        url=url,
        api_key=key,
        api_secret=secret.get_secret_value(),
        rooms=LiveKitRooms(emit),
        inbox=WebhookInbox(key, secret.get_secret_value()),
        recording=LiveKitRecording(EgressPlan(recording_config(settings))),
    )


def recording_config(settings: SankeSettings) -> RecordingConfig:
    """Egress into the recordings bucket if there is one, else into the data directory's
    ``recordings/`` (an absolute path, the same on the Egress host). No room composite:
    it transcodes, and the recorder makes the composite from the tracks."""
    s3 = s3_upload(settings)
    return RecordingConfig(root="" if s3 else str(settings.data_dir.resolve()), s3=s3)


def s3_upload(settings: SankeSettings) -> S3Upload | None:
    """Where Egress uploads, from the recordings store's settings (path-style addressing,
    as the store itself uses), or None without a bucket."""
    if not settings.s3_url:
        return None
    bucket, key, secret = settings.s3_bucket, settings.s3_access_key, settings.s3_secret_key
    assert bucket and key and secret is not None  # the settings refuse an s3_url without them
    return S3Upload(
        access_key=key,
        secret=secret.get_secret_value(),
        region=settings.s3_region,
        endpoint=settings.s3_url,
        bucket=bucket,
        force_path_style=True,
    )


def egress_archive(settings: SankeSettings, storage: Storage, engine: Engine) -> EgressArchive:
    """The archive of an app whose recordings store is ``storage`` (a bucket, or the data
    directory, which is then the spool itself)."""
    spool = LocalStorage(settings.data_dir)
    remote = None if isinstance(storage, LocalStorage) else storage
    return EgressArchive(spool, remote, RoomStore(engine), JobQueue(engine))
