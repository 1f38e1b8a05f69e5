"""What Sanke believes is in each LiveKit room, and the media events that bring that belief
in line with what LiveKit reports.

LiveKit's webhooks may be lost, late or repeated, so the belief is fed from both sides:
webhooks report one change each (:meth:`Belief.joined`, :meth:`Belief.left`, ...), which
returns nothing when the change is known already; every minute :meth:`Belief.reconcile`
compares the belief with ``list_participants`` and returns the joins, leaves,
publications and unpublications the webhooks missed. A participant is one session
(LiveKit's ``sid``): a new session of the same identity is a rejoin, and the old
session's late ``participant_left`` is ignored. Pure: no I/O, time passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from livekit.protocol.models import ParticipantInfo, TrackInfo, TrackType

from kernel.events import Event
from media import events as ev
from media.livekit.tokens import ROLE_ATTRIBUTE, publishable, sanke_source

#: Roles of participants that carry no role attribute, by LiveKit participant kind.
KIND_ROLES = {ParticipantInfo.Kind.EGRESS: "recorder", ParticipantInfo.Kind.INGRESS: "ingress"}


@dataclass(frozen=True)
class SeenTrack:
    sid: str
    source: str  # Sanke's name: camera, microphone, screen, screen_audio (or unknown)
    kind: str  # audio | video
    codec: str  # vp8, h264, opus, ... (empty until LiveKit knows it)


@dataclass(frozen=True)
class SeenParticipant:
    identity: str
    sid: str  # the session
    role: str
    hidden: bool
    tracks: Mapping[str, SeenTrack] = field(default_factory=dict)  # by track sid
    can_publish: frozenset[str] = frozenset()  # what its permission allows now


def seen_track(info: TrackInfo) -> SeenTrack:
    kind = {TrackType.AUDIO: "audio", TrackType.VIDEO: "video"}.get(info.type, "data")
    codec = info.mime_type.partition("/")[2].lower()
    return SeenTrack(info.sid, sanke_source(info.source), kind, codec)


def seen_participant(info: ParticipantInfo) -> SeenParticipant:
    """A participant as LiveKit reports it (``list_participants``, webhooks)."""
    role = info.attributes.get(ROLE_ATTRIBUTE) or KIND_ROLES.get(info.kind, "")
    return SeenParticipant(
        identity=info.identity,
        sid=info.sid,
        role=role,
        hidden=info.permission.hidden,
        tracks={t.sid: seen_track(t) for t in info.tracks},
        can_publish=publishable(info.permission),
    )


def present(infos: list[ParticipantInfo]) -> dict[str, SeenParticipant]:
    """The participants of a ``list_participants`` answer that are in the room."""
    gone = ParticipantInfo.State.DISCONNECTED
    return {p.identity: seen_participant(p) for p in infos if p.state != gone}


def _published(room: str, identity: str, track: SeenTrack, at: datetime) -> ev.TrackPublished:
    return ev.TrackPublished(
        at=at, room=room, identity=identity, track=track.sid, source=track.source,
        layer="", kind=track.kind, codec=track.codec,
    )  # fmt: skip


def _unpublished(room: str, identity: str, sids: Iterable[str], at: datetime) -> list[Event]:
    return [ev.TrackUnpublished(at=at, room=room, identity=identity, track=s) for s in sids]


@dataclass
class Belief:
    """Who and what Sanke believes is in each room, by room and identity."""

    rooms: dict[str, dict[str, SeenParticipant]] = field(default_factory=dict)

    def participant(self, room: str, identity: str) -> SeenParticipant | None:
        return self.rooms.get(room, {}).get(identity)

    def roles(self) -> dict[str, int]:
        """Participants by role, in every room (monitoring)."""
        return dict(Counter(p.role for room in self.rooms.values() for p in room.values()))

    # --- one change at a time (webhooks): only ever adds what is missing ---------------

    def joined(self, room: str, seen: SeenParticipant, at: datetime) -> list[Event]:
        """The session ``seen.sid`` of ``seen.identity`` is in ``room``."""
        before = self.participant(room, seen.identity)
        if before is not None and before.sid == seen.sid:
            return []
        events: list[Event] = []
        if before is not None:  # a new session replaced the old one
            events += _unpublished(room, before.identity, before.tracks, at)
        events.append(
            ev.ParticipantJoined(
                at=at, room=room, identity=seen.identity, role=seen.role, hidden=seen.hidden,
                rejoined=before is not None,
            )
        )  # fmt: skip
        self.rooms.setdefault(room, {})[seen.identity] = replace(seen, tracks={})
        return events

    def left(self, room: str, identity: str, sid: str, reason: str, at: datetime) -> list[Event]:
        """The session ``sid`` of ``identity`` left (an older session's leave is ignored)."""
        before = self.participant(room, identity)
        if before is None or (sid and before.sid and sid != before.sid):
            return []
        return self._leave(room, before, reason, at)

    def published(
        self, room: str, seen: SeenParticipant, track: SeenTrack, at: datetime
    ) -> list[Event]:
        """``seen`` published ``track`` (and joined, if that was missed)."""
        events = self.joined(room, seen, at)
        before = self.rooms[room][seen.identity]
        if track.sid in before.tracks:
            return events
        tracks = {**before.tracks, track.sid: track}
        self.rooms[room][seen.identity] = replace(before, tracks=tracks)
        return [*events, _published(room, seen.identity, track, at)]

    def unpublished(self, room: str, identity: str, track: str, at: datetime) -> list[Event]:
        before = self.participant(room, identity)
        if before is None or track not in before.tracks:
            return []
        kept = {sid: t for sid, t in before.tracks.items() if sid != track}
        self.rooms[room][identity] = replace(before, tracks=kept)
        return _unpublished(room, identity, [track], at)

    # --- everything at once (list_participants) ---------------------------------------

    def reconcile(
        self, room: str, actual: Mapping[str, SeenParticipant], at: datetime, reason: str = "lost"
    ) -> list[Event]:
        """Make the belief about ``room`` what LiveKit reports; return the events missed.

        Someone believed present and no longer there left (``reason``); someone there and
        not believed joined; tracks likewise. An empty ``actual`` ends the room.
        """
        events: list[Event] = []
        for before in [p for i, p in self.rooms.get(room, {}).items() if i not in actual]:
            events += self._leave(room, before, reason, at)
        for seen in actual.values():
            events += self.joined(room, seen, at)
            before = self.rooms[room][seen.identity]
            gone = [sid for sid in before.tracks if sid not in seen.tracks]
            new = [track for sid, track in seen.tracks.items() if sid not in before.tracks]
            events += _unpublished(room, seen.identity, gone, at)
            events += [_published(room, seen.identity, track, at) for track in new]
            self.rooms[room][seen.identity] = seen
        return events

    def forget(self, room: str, at: datetime, reason: str = "removed") -> list[Event]:
        """The room is gone (deleted, finished): everyone in it left."""
        return self.reconcile(room, {}, at, reason)

    def _leave(self, room: str, who: SeenParticipant, reason: str, at: datetime) -> list[Event]:
        people = self.rooms.get(room, {})
        people.pop(who.identity, None)
        if not people:
            self.rooms.pop(room, None)
        events = _unpublished(room, who.identity, who.tracks, at)
        return [*events, ev.ParticipantLeft(at=at, room=room, identity=who.identity, reason=reason)]
