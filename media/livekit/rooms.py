"""The media port on a LiveKit cluster: what ``web`` asks of the embedded SFU
(``close_room``, ``update_grant``, ``census``, ``stop``), done with the room service.

Sanke keeps what it wants (each participant's publishable sources, each publisher's
audience, the rooms it closed) and what it believes is in each room; LiveKit is made to
match, at once and again every minute (:meth:`LiveKitRooms.reconcile`), since a call
can fail and a webhook can be lost. The ``LiveKitAPI`` client is injected with
:meth:`connect` by whoever opened it, who also closes it; each call it makes is signed
with just the grant it needs (room create, room list, or room admin of one room).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from livekit.api import LiveKitAPI
from livekit.protocol.room import (
    CreateRoomRequest,
    DeleteRoomRequest,
    ListParticipantsRequest,
    ListRoomsRequest,
    MuteRoomTrackRequest,
    RoomParticipantIdentity,
    UpdateParticipantRequest,
)
from livekit.protocol.webhook import WebhookEvent

from kernel.events import Event
from media import events as ev
from media.census import Census
from media.errors import BackendError, SignallingError
from media.livekit.audience import cuts, subscription_updates
from media.livekit.background import Background
from media.livekit.client import call
from media.livekit.placement import RoomPlan
from media.livekit.reconcile import Belief, SeenParticipant, present
from media.livekit.tokens import permission, publishable
from media.livekit.webhooks import events_of

logger = logging.getLogger(__name__)

Emit = Callable[[Event], None]
CLOSED_KEPT = timedelta(days=1)  # a closed room is not created again for this long


def _now() -> datetime:
    return datetime.now(UTC)


class LiveKitRooms:
    """Rooms, participants and grants on LiveKit, behind the same port as ``media.sfu``."""

    def __init__(self, emit: Emit | None = None) -> None:
        self.belief = Belief()
        self._emit = emit or (lambda event: None)
        self._api: LiveKitAPI | None = None
        self._wanted: dict[tuple[str, str], frozenset[str]] = {}  # (room, identity) → sources
        self._audiences: dict[str, dict[str, frozenset[str]]] = {}  # room → publisher → roles
        self._cut: dict[str, dict[str, set[str]]] = {}  # room → subscriber → track sids taken
        self._closing: set[str] = set()  # deletions to try again
        self._closed: dict[str, datetime] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._background = Background("LiveKitRooms")

    # --- the client -------------------------------------------------------------------

    def connect(self, api: LiveKitAPI) -> None:
        """Use ``api`` from now on (its opener closes it, after :meth:`disconnect`)."""
        self._api = api

    def disconnect(self) -> None:
        self._api = None

    @property
    def api(self) -> LiveKitAPI:
        if self._api is None:
            raise BackendError("unavailable", "no LiveKit client is connected")
        return self._api

    # --- the port (web/media_port.py) ---------------------------------------------------

    async def close_room(self, room_id: str, code: str, message: str) -> None:
        """Delete the room: LiveKit disconnects everyone in it. Why (``code``) reaches the
        pages on Sanke's own live channel. The deletion runs in the background, so that an
        unreachable LiveKit never holds up the lessons' clock, which calls this on every
        tick of an ended room: only the first call does anything, and :meth:`reconcile`
        tries a failed deletion again."""
        if room_id in self._closed:
            return
        logger.info("LiveKitRooms(%s) closing: %s", room_id, code)
        self._closed[room_id] = _now()
        self._closing.add(room_id)
        for key in [k for k in self._wanted if k[0] == room_id]:
            del self._wanted[key]
        self._audiences.pop(room_id, None)
        self._cut.pop(room_id, None)
        self._spawn(self._delete(room_id))

    def update_grant(
        self,
        room_id: str,
        identity: str,
        can_publish: frozenset[str],
        audience: frozenset[str] | None = None,
    ) -> None:
        """Change what a participant may publish now, and who may receive it. Applied in
        the background, again when it (re)joins, and by :meth:`reconcile` until it holds."""
        self._wanted[(room_id, identity)] = frozenset(can_publish)
        if audience is not None:
            self._audiences.setdefault(room_id, {})[identity] = audience
        self._spawn(self._apply(room_id, [identity]))

    def census(self) -> Census:
        """Participants by role as last seen (LiveKit reports no forwarding totals)."""
        return Census(self.belief.roles(), 0, 0, 0)

    async def stop(self) -> None:
        """Cancel the background calls still running."""
        await self._background.stop()

    async def settle(self) -> None:
        """Wait for the background calls started so far (tests, shutdown)."""
        await self._background.settle()

    # --- webhooks -----------------------------------------------------------------------

    def on_webhook(self, event: WebhookEvent, now: datetime) -> list[Event]:
        """Take a verified, new webhook in: emit Sanke's events; a participant who joined or
        published gets its wanted grant and audience applied."""
        events = events_of(event, self.belief, now)
        self._publish(events)
        arrived = [
            e.identity for e in events if isinstance(e, ev.ParticipantJoined | ev.TrackPublished)
        ]
        if arrived:
            self._spawn(self._apply(event.room.name, arrived))
        return events

    # --- rooms before the bell ----------------------------------------------------------

    async def create_room(
        self,
        room: str,
        empty_timeout: int,
        max_participants: int = 0,
        metadata: str = "",
        node: str = "",
    ) -> None:
        """Create ``room`` (LiveKit answers with the existing room if it is there)."""
        request = CreateRoomRequest(
            name=room,
            empty_timeout=empty_timeout,
            max_participants=max_participants,
            metadata=metadata,
            node_id=node,
        )
        await call("CreateRoom", self.api.room.create_room(request))

    async def ensure_rooms(
        self, plans: Iterable[RoomPlan], placement: Mapping[str, str], now: datetime
    ) -> list[str]:
        """Create the planned rooms that do not exist yet (never one Sanke closed)."""
        wanted = {p.room: p for p in plans if p.room not in self._closed}
        if not wanted:
            return []
        request = ListRoomsRequest(names=sorted(wanted))
        listed = await call("ListRooms", self.api.room.list_rooms(request))
        created = []
        for name in sorted(set(wanted) - {r.name for r in listed.rooms}):
            plan = wanted[name]
            await self.create_room(
                name, plan.empty_timeout(now), plan.max_participants, node=placement.get(name, "")
            )
            created.append(name)
        if created:
            logger.info("LiveKitRooms created %d rooms ahead of the bell", len(created))
        return created

    # --- participants -------------------------------------------------------------------

    async def remove(self, room: str, identity: str) -> None:
        """Send a participant out of the room (it may join again with a valid token)."""
        request = RoomParticipantIdentity(room=room, identity=identity)
        await call("RemoveParticipant", self.api.room.remove_participant(request))
        self._publish(self.belief.left(room, identity, "", "removed", _now()))

    async def mute(self, room: str, identity: str, source: str, muted: bool) -> None:
        """Mute (or unmute) what a participant publishes from ``source``."""
        seen = self.belief.participant(room, identity)
        sids = [t.sid for t in (seen.tracks.values() if seen else ()) if t.source == source]
        if not sids:
            raise SignallingError("no_track", f"{source} is not published")
        for sid in sids:
            request = MuteRoomTrackRequest(room=room, identity=identity, track_sid=sid, muted=muted)
            await call("MutePublishedTrack", self.api.room.mute_published_track(request))

    # --- reconcile ----------------------------------------------------------------------

    async def reconcile(self, now: datetime) -> list[Event]:
        """Compare the belief with ``list_rooms`` / ``list_participants``; emit what the
        webhooks missed, delete closed rooms that are (again) there, re-apply grants."""
        for room, at in list(self._closed.items()):
            if now - at > CLOSED_KEPT:
                del self._closed[room]
        listed = await call("ListRooms", self.api.room.list_rooms(ListRoomsRequest()))
        names = {r.name for r in listed.rooms}
        for room in sorted(self._closing | (names & set(self._closed))):
            self._closing.add(room)
            await self._delete(room)
        busy = {r.name for r in listed.rooms if r.num_participants and r.name not in self._closed}
        emitted: list[Event] = []
        for room in sorted(busy | set(self.belief.rooms)):
            actual: dict[str, SeenParticipant] = {}
            if room in names:
                request = ListParticipantsRequest(room=room)
                answer = await call("ListParticipants", self.api.room.list_participants(request))
                actual = present(list(answer.participants))
            events = self.belief.reconcile(room, actual, now)
            self._publish(events)
            emitted += events
            stale = [
                identity
                for identity, seen in actual.items()
                if self._wanted.get((room, identity), seen.can_publish) != seen.can_publish
            ]
            if stale or (events and actual):
                self._spawn(self._apply(room, stale))
        return emitted

    # --- helpers ------------------------------------------------------------------------

    async def _delete(self, room: str) -> None:
        try:
            await call("DeleteRoom", self.api.room.delete_room(DeleteRoomRequest(room=room)))
        except BackendError as exc:
            if exc.code != "not_found":
                logger.warning("LiveKitRooms(%s) not deleted, trying again later: %s", room, exc)
                return
        self._closing.discard(room)
        self._locks.pop(room, None)
        self._publish(self.belief.forget(room, _now()))

    async def _apply(self, room: str, identities: Iterable[str]) -> None:
        """Make these participants' permissions what Sanke wants, then the room's audiences."""
        async with self._locks.setdefault(room, asyncio.Lock()):
            for identity in dict.fromkeys(identities):
                await self._grant(room, identity)
            await self._enforce(room)

    async def _grant(self, room: str, identity: str) -> None:
        wanted = self._wanted.get((room, identity))
        if wanted is None:
            return
        request = RoomParticipantIdentity(room=room, identity=identity)
        try:
            info = await call("GetParticipant", self.api.room.get_participant(request))
        except BackendError as exc:
            if exc.code == "not_found":
                return  # not in the room: applied when it joins
            raise
        current = info.permission
        if publishable(current) == wanted:
            return
        # The permission is replaced whole: keep what the token gave besides the sources.
        update = UpdateParticipantRequest(
            room=room,
            identity=identity,
            permission=permission(
                wanted, can_subscribe=current.can_subscribe, hidden=current.hidden
            ),
        )
        await call("UpdateParticipant", self.api.room.update_participant(update))

    async def _enforce(self, room: str) -> None:
        """Unsubscribe everyone from what they may not receive; give back what they now may."""
        audiences = self._audiences.get(room, {})
        before = self._cut.get(room, {})
        if not any(audiences.values()) and not before:
            return
        request = ListParticipantsRequest(room=room)
        answer = await call("ListParticipants", self.api.room.list_participants(request))
        participants = present(list(answer.participants))
        now_cut = {who: set(sids) for who, sids in cuts(participants, audiences).items()}
        for update in subscription_updates(room, participants, before, now_cut):
            await call("UpdateSubscriptions", self.api.room.update_subscriptions(update))
        self._cut[room] = now_cut

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._api is None:
            work.close()  # not connected: reconcile applies what is wanted once it is
            return
        self._background.spawn(work)

    def _publish(self, events: list[Event]) -> None:
        for event in events:
            try:
                self._emit(event)
            except Exception:  # an event sink must never stop the adapter
                logger.exception("LiveKitRooms: event sink failed for %s", event.type_name)
