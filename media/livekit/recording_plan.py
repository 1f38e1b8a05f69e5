"""Which LiveKit egresses record a room, decided from what LiveKit reports (DESIGN.md §4, §5).

- One **track egress** per camera, microphone and screen (and screen audio) published by the
  teacher and the receiving classrooms: the track as it was published, into its codec's own
  file (Opus → .ogg, VP8 → .webm, H.264 → .mp4), never decoded or re-encoded, like the
  embedded recorder. Its path is shaped like the embedded recorder's keys,
  ``recordings/<room>/<identity>_<source>-{time}-<track>-<attempt>`` (Egress fills in
  ``{time}`` and the extension), under :attr:`RecordingConfig.root` (a directory of the
  Egress host) or, with :attr:`RecordingConfig.s3`, as a key of the bucket.
- One **patrol thumbnail** egress per teacher camera: a track-composite egress with an image
  output only, a JPEG every few seconds overwritten in ``patrol/<room>/<identity>_camera``.
- A **room composite** (the room side by side in an MP4) only when
  :attr:`RecordingConfig.composite` asks: it renders the room in Chrome and encodes it, the
  one transcoding step, and the recorder's composite job builds the same from the tracks
  afterwards, so it is off by default.

The plan is fed LiveKit's webhooks (:meth:`EgressPlan.on_webhook`), the answers to the
calls it asked for (:meth:`~EgressPlan.started`, :meth:`~EgressPlan.start_failed`,
:meth:`~EgressPlan.on_egress` for listed egresses) and every minute the published tracks
and the active egresses (:meth:`~EgressPlan.reconcile`), since webhooks may be lost, late or
repeated. Each call returns :data:`Action` s: calls for the adapter to make (:class:`Start`,
:class:`Stop`, :class:`Collect`) and outcomes for its owner (:class:`TrackFile`,
:class:`GaveUp`, :class:`Completed`).

Never two egresses for one target (room, kind, track): a start is remembered from the
moment it is decided; a repeated report changes nothing (ended egress ids are kept); an
egress found running for a target (started before an app restart, or by another app
instance) is adopted, and of two for one target the one with the smaller id is kept and
the other stopped, a rule every instance applies alike. An egress that ends with an error
while its track is still published is started again at once, at most
:attr:`RecordingConfig.max_restarts` times; one that is lost or completes while its track is
still published is started again by the next reconcile, from the same allowance. When a
room ends, what still runs is stopped and every egress LiveKit has for the room is listed
once (:class:`Collect`); when none runs any more the room is :class:`Completed`.
Pure: no I/O, time passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from livekit.protocol.egress import (
    EgressInfo,
    EgressStatus,
    RoomCompositeEgressRequest,
    S3Upload,
    TrackCompositeEgressRequest,
    TrackEgressRequest,
)
from livekit.protocol.webhook import WebhookEvent

from media.livekit.egress import room_composite, thumbnails, track_egress, track_thumbnails
from media.livekit.reconcile import Belief, SeenTrack, seen_participant, seen_track

TRACK, THUMBNAILS, COMPOSITE = "track", "thumbnails", "composite"
RECORDED_ROLES = frozenset({"teacher", "receiving_classroom"})
RECORDED_SOURCES = frozenset({"camera", "microphone", "screen", "screen_audio"})
THUMBNAILS_OF = ("teacher", "camera", "video")  # role, source, kind of the patrol pictures
RECORDINGS, PATROL = "recordings", "patrol"
RUNNING_STATUSES = frozenset(
    {EgressStatus.EGRESS_STARTING, EgressStatus.EGRESS_ACTIVE, EgressStatus.EGRESS_ENDING}
)
ERROR_STATUSES = frozenset(
    {EgressStatus.EGRESS_FAILED, EgressStatus.EGRESS_ABORTED, EgressStatus.EGRESS_LIMIT_REACHED}
)
KEPT = timedelta(days=1)  # ended egress ids and ended rooms are remembered this long
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_SAFE_ROOM = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")


def file_stem(identity: str, source: str) -> str:
    """The file-name stem of a source, as the embedded recorder names its tracks
    (``recorder.capture.track_name``): ``teacher:cs-1-t1`` + ``camera`` →
    ``teacher_cs-1-t1_camera``."""
    return _UNSAFE.sub("_", f"{identity}/{source}")[:120]


@dataclass(frozen=True)
class RecordingConfig:
    """What to record and where. ``root`` is the directory of the Egress host the files go
    to (it must be the app's recordings store); with ``s3``, paths are keys of its bucket."""

    root: str = ""
    s3: S3Upload | None = None
    roles: frozenset[str] = RECORDED_ROLES
    sources: frozenset[str] = RECORDED_SOURCES
    thumbnails: bool = True
    thumbnail_every: int = 10  # seconds
    composite: bool = False  # transcodes (Chrome renders the room): off unless asked for
    max_restarts: int = 3  # per target, after its first start
    complete_after: timedelta = timedelta(minutes=30)  # an ended room waits no longer

    def path(self, *parts: str) -> str:
        base = PurePosixPath(self.root) if self.root else PurePosixPath()
        return str(base.joinpath(*parts))


@dataclass(frozen=True)
class Target:
    """What one egress records: a track, a teacher camera's thumbnails, or the room."""

    room: str
    kind: str  # TRACK | THUMBNAILS | COMPOSITE
    track: str = ""  # the track sid (TRACK, THUMBNAILS)


@dataclass(frozen=True)
class Published:
    """A track in a room and who published it."""

    identity: str
    role: str
    track: SeenTrack


# --- what the plan decides -----------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Start an egress for ``target``; tell the plan its id (``started``) or failure."""

    target: Target
    request: TrackEgressRequest | TrackCompositeEgressRequest | RoomCompositeEgressRequest


@dataclass(frozen=True)
class Stop:
    target: Target
    egress: str


@dataclass(frozen=True)
class Collect:
    """List every egress of the ended ``room``, hand each to ``on_egress`` (``again``), then
    call ``collected``: what ended unheard is taken in, and every file is handed on once more."""

    room: str


@dataclass(frozen=True)
class TrackFile:
    """A file a track egress finished: ``filename`` as Egress reports it (the path on its
    host, or the bucket key), its first media at ``started`` (UTC epoch seconds).
    ``identity`` and ``source`` are empty when the plan never saw the track published
    (the egress was adopted after a restart and the track is gone)."""

    room: str
    track: str
    identity: str
    source: str
    codec: str
    egress: str
    filename: str
    location: str
    started: float
    seconds: float
    size: int


@dataclass(frozen=True)
class GaveUp:
    """``target`` failed again and again while it should be recorded: not started again."""

    target: Target
    error: str


@dataclass(frozen=True)
class Completed:
    """Every egress of the ended ``room`` has ended (or it waited ``complete_after``)."""

    room: str


Action = Start | Stop | Collect | TrackFile | GaveUp | Completed

REQUESTED, RUNNING, ENDED = "requested", "running", "ended"


@dataclass
class _Job:
    target: Target
    publisher: Published | None
    state: str = REQUESTED
    egress: str = ""
    attempts: int = 1  # starts decided, the first included
    stopping: bool = False
    gave_up: bool = False
    error: str = ""
    dropped: set[str] = field(default_factory=set)  # duplicates stopped


@dataclass
class _Ending:
    at: datetime
    collected: bool = False
    completed: bool = False


@dataclass
class EgressPlan:
    """The egresses of every room, as far as Sanke knows them."""

    config: RecordingConfig = field(default_factory=RecordingConfig)
    _jobs: dict[Target, _Job] = field(default_factory=dict, init=False)
    _tracks: dict[str, dict[str, Published]] = field(default_factory=dict, init=False)
    _ended: dict[str, _Ending] = field(default_factory=dict, init=False)
    _done: dict[str, datetime] = field(default_factory=dict, init=False)  # egress id → seen

    # --- what is going on ----------------------------------------------------------------

    def running(self) -> dict[Target, str]:
        """The targets believed to have an egress under way, with its id ('' if unknown)."""
        return {t: j.egress for t, j in self._jobs.items() if j.state != ENDED}

    def unlisted(self, active: Iterable[EgressInfo]) -> list[str]:
        """Ids of egresses believed running that ``active`` (LiveKit's list) lacks: the
        adapter looks each up, to learn how it ended, before :meth:`reconcile`."""
        listed = {info.egress_id for info in active}
        return sorted(
            j.egress
            for j in self._jobs.values()
            if j.state == RUNNING and j.egress and j.egress not in listed
        )

    # --- webhooks ------------------------------------------------------------------------

    def on_webhook(self, event: WebhookEvent, now: datetime) -> list[Action]:
        kind, room = event.event, event.room.name
        if kind == "track_published":
            who = seen_participant(event.participant)
            return self.published(room, Published(who.identity, who.role, seen_track(event.track)),
                                  now)  # fmt: skip
        if kind == "track_unpublished":
            return self.unpublished(room, event.track.sid)
        if kind in ("participant_left", "participant_connection_aborted"):
            tracks, identity = self._tracks.get(room, {}), event.participant.identity
            for sid in [sid for sid, who in tracks.items() if who.identity == identity]:
                del tracks[sid]
            return []
        if kind == "room_finished":
            return self.end(room, now)
        if kind in ("egress_started", "egress_updated", "egress_ended"):
            return self.on_egress(event.egress_info, now)
        return []

    def published(self, room: str, who: Published, now: datetime) -> list[Action]:
        if room in self._ended or not _SAFE_ROOM.match(room):
            return []
        self._tracks.setdefault(room, {})[who.track.sid] = who
        return self._ensure(room, now)

    def unpublished(self, room: str, track: str) -> list[Action]:
        """The track is gone: its egresses end by themselves (LiveKit ends a track egress
        with its track) and are not started again."""
        self._tracks.get(room, {}).pop(track, None)
        return []

    def end(self, room: str, now: datetime) -> list[Action]:
        """The room's lesson is over: stop what records it, then collect what it made."""
        if room in self._ended:
            return []
        self._ended[room] = _Ending(now)
        self._tracks.pop(room, None)
        actions: list[Action] = []
        for job in self._of(room):
            if job.state == RUNNING and job.egress:
                job.stopping = True
                actions.append(Stop(job.target, job.egress))
        return [*actions, Collect(room)]

    def collected(self, room: str, now: datetime) -> list[Action]:
        ending = self._ended.get(room)
        if ending is None:
            return []
        ending.collected = True
        return self._complete(room, now)

    # --- what LiveKit says of an egress ----------------------------------------------------

    def on_egress(self, info: EgressInfo, now: datetime, *, again: bool = False) -> list[Action]:
        """An egress as a webhook or ``list_egress`` reports it; ``again``: the files of one
        known to have ended are handed on again (taking them in twice changes nothing, and
        what failed to be taken the first time gets a second chance)."""
        target = self._target_of(info)
        if target is None:
            return []
        if info.egress_id in self._done:
            return list(self._files(target, info)) if again else []
        if info.status in RUNNING_STATUSES:
            return self._running(target, info.egress_id)
        self._done[info.egress_id] = now
        actions: list[Action] = list(self._files(target, info))
        job = self._jobs.get(target)
        if job is None or job.state == ENDED or job.egress not in ("", info.egress_id):
            return [*actions, *self._complete(target.room, now)]  # not (or no longer) ours
        job.state, job.egress, job.error = ENDED, info.egress_id, info.error
        if info.status in ERROR_STATUSES and not job.stopping:
            actions += self._ensure(target.room, now, only=target)
        return [*actions, *self._complete(target.room, now)]

    def started(self, target: Target, egress: str, now: datetime) -> list[Action]:
        """LiveKit answered the :class:`Start` of ``target`` with ``egress`` (its id)."""
        job = self._jobs.get(target)
        if job is None or job.state != REQUESTED:
            return []
        job.state = RUNNING
        if not egress or egress in self._done:
            return self._complete(target.room, now) if egress else []
        return self._running(target, egress)

    def start_failed(
        self, target: Target, error: str, now: datetime, *, counts: bool
    ) -> list[Action]:
        """The :class:`Start` of ``target`` was refused (``counts``: against its restarts)
        or LiveKit could not be reached (tried again by the next reconcile)."""
        job = self._jobs.get(target)
        if job is None or job.state != REQUESTED:
            return []
        job.state, job.error = ENDED, error
        if not counts:
            job.attempts -= 1
            return self._complete(target.room, now)
        return [*self._ensure(target.room, now, only=target, again=False),
                *self._complete(target.room, now)]  # fmt: skip

    # --- every minute ----------------------------------------------------------------------

    def reconcile(
        self,
        published: Mapping[str, Mapping[str, Published]],
        active: Iterable[EgressInfo],
        now: datetime,
    ) -> list[Action]:
        """Take in the tracks LiveKit reports published and the egresses it reports active
        (after the adapter looked up :meth:`unlisted` ones): adopt egresses started
        elsewhere, keep one per target, start what is missing, stop what records an ended
        room, complete ended rooms, and forget what is old."""
        actions: list[Action] = []
        listed = sorted(active, key=lambda info: info.egress_id)
        for info in listed:
            actions += self.on_egress(info, now)
        ids = {info.egress_id for info in listed}
        for job in self._jobs.values():
            if job.state == RUNNING and job.egress not in ids:
                job.state, job.error = ENDED, "LiveKit lists no such egress"  # lost
        self._tracks = {
            room: dict(tracks)
            for room, tracks in published.items()
            if room not in self._ended and _SAFE_ROOM.match(room)
        }
        for room in sorted(self._tracks):
            actions += self._ensure(room, now)
        for job in self._jobs.values():
            if job.target.room in self._ended and job.state == RUNNING and job.egress:
                job.stopping = True
                actions.append(Stop(job.target, job.egress))
        for room, ending in sorted(self._ended.items()):
            actions += self._complete(room, now) if ending.collected else [Collect(room)]
        self._forget(now)
        return actions

    # --- helpers ---------------------------------------------------------------------------

    def _of(self, room: str) -> list[_Job]:
        return [job for target, job in self._jobs.items() if target.room == room]

    def _wanted(self, room: str) -> dict[Target, Published | None]:
        config = self.config
        wanted: dict[Target, Published | None] = {}
        tracks = self._tracks.get(room, {})
        for sid, who in sorted(tracks.items()):
            recorded = who.role in config.roles and who.track.source in config.sources
            if recorded and who.track.kind in ("audio", "video"):
                wanted[Target(room, TRACK, sid)] = who
            patrol = (who.role, who.track.source, who.track.kind) == THUMBNAILS_OF
            if config.thumbnails and patrol:
                wanted[Target(room, THUMBNAILS, sid)] = who
        if config.composite and any(t.kind == TRACK for t in wanted):
            wanted[Target(room, COMPOSITE)] = None
        return wanted

    def _ensure(
        self, room: str, now: datetime, *, only: Target | None = None, again: bool = True
    ) -> list[Action]:
        """Start what ``room`` should have and has not; an ended target again while its
        allowance lasts (``again=False``: only give up when it is spent)."""
        if room in self._ended:
            return []
        actions: list[Action] = []
        for target, who in self._wanted(room).items():
            if only is not None and target != only:
                continue
            job = self._jobs.get(target)
            if job is None:
                job = self._jobs[target] = _Job(target, who)
            elif job.state != ENDED or job.gave_up or job.stopping:
                continue
            elif job.attempts > self.config.max_restarts:
                job.gave_up = True
                actions.append(GaveUp(target, job.error or "ended"))
                continue
            elif not again:
                continue
            else:
                job.attempts += 1
                job.state, job.egress, job.publisher = REQUESTED, "", who or job.publisher
            actions.append(Start(target, self._request(target, who, job.attempts)))
        return actions

    def _request(
        self, target: Target, who: Published | None, attempt: int
    ) -> TrackEgressRequest | TrackCompositeEgressRequest | RoomCompositeEgressRequest:
        config, room = self.config, target.room
        if target.kind == COMPOSITE:
            path = config.path(RECORDINGS, room, f"composite-{{time}}-{attempt}.mp4")
            return room_composite(room, path, s3=config.s3)
        assert who is not None
        stem = file_stem(who.identity, who.track.source)
        if target.kind == THUMBNAILS:
            images = thumbnails(config.path(PATROL, room, stem),
                                every_seconds=config.thumbnail_every, s3=config.s3)  # fmt: skip
            return track_thumbnails(room, target.track, images)
        path = config.path(RECORDINGS, room, f"{stem}-{{time}}-{target.track}-{attempt}")
        return track_egress(room, target.track, path, config.s3)

    def _target_of(self, info: EgressInfo) -> Target | None:
        """The target of an egress this plan starts (by its request and paths), or None."""
        room = info.room_name
        which = info.WhichOneof("request")
        if which == "track":
            mine = f"/{RECORDINGS}/{room}/" in "/" + info.track.file.filepath
            return Target(room, TRACK, info.track.track_id) if mine else None
        if which == "track_composite":
            request = info.track_composite
            prefixes = [i.filename_prefix for i in request.image_outputs]
            mine = any(f"/{PATROL}/{room}/" in "/" + p for p in prefixes)
            return Target(room, THUMBNAILS, request.video_track_id) if mine else None
        if which == "room_composite":
            paths = [f.filepath for f in info.room_composite.file_outputs]
            mine = any(f"/{RECORDINGS}/{room}/composite-" in "/" + p for p in paths)
            return Target(room, COMPOSITE) if mine else None
        return None

    def _running(self, target: Target, egress: str) -> list[Action]:
        """``egress`` runs for ``target``: learn its id, adopt it, or keep one of two."""
        job = self._jobs.get(target)
        actions: list[Action] = []
        if job is None or job.state == ENDED:
            who = self._tracks.get(target.room, {}).get(target.track)
            attempts = job.attempts if job is not None else 1
            job = self._jobs[target] = _Job(target, who or (job.publisher if job else None),
                                             RUNNING, egress, attempts)  # fmt: skip
        elif not job.egress:
            job.state, job.egress = RUNNING, egress
        elif job.egress != egress and egress not in job.dropped:
            kept, other = sorted((job.egress, egress))
            job.egress = kept
            job.dropped.add(other)
            actions.append(Stop(target, other))
        if target.room in self._ended and not job.stopping and job.state == RUNNING:
            job.stopping = True
            actions.append(Stop(target, job.egress))
        return actions

    def _files(self, target: Target, info: EgressInfo) -> list[TrackFile]:
        if target.kind != TRACK:
            return []
        job = self._jobs.get(target)
        who = (job.publisher if job else None) or self._tracks.get(target.room, {}).get(
            target.track
        )
        return [
            TrackFile(
                room=target.room,
                track=target.track,
                identity=who.identity if who else "",
                source=who.track.source if who else "",
                codec=who.track.codec if who else "",
                egress=info.egress_id,
                filename=f.filename,
                location=f.location,
                started=(f.started_at or info.started_at) / 1e9,
                seconds=(f.duration or max(0, f.ended_at - f.started_at)) / 1e9,
                size=f.size,
            )
            for f in info.file_results
            if f.filename
        ]

    def _complete(self, room: str, now: datetime) -> list[Action]:
        ending = self._ended.get(room)
        if ending is None or ending.completed or not ending.collected:
            return []
        under_way = [job for job in self._of(room) if job.state != ENDED]
        if under_way and now - ending.at < self.config.complete_after:
            return []
        ending.completed = True
        for job in self._of(room):
            del self._jobs[job.target]
        return [Completed(room)]

    def _forget(self, now: datetime) -> None:
        self._done = {e: at for e, at in self._done.items() if now - at < KEPT}
        self._ended = {r: e for r, e in self._ended.items() if now - e.at < KEPT}
        for target, job in list(self._jobs.items()):
            gone = target.room not in self._tracks and target.room not in self._ended
            if job.state == ENDED and (gone or target not in self._wanted(target.room)):
                del self._jobs[target]


def published_tracks(belief: Belief) -> dict[str, dict[str, Published]]:
    """Every room's published tracks, as the belief about the rooms holds them."""
    return {
        room: {
            sid: Published(who.identity, who.role, track)
            for who in people.values()
            for sid, track in who.tracks.items()
        }
        for room, people in belief.rooms.items()
    }
