"""The embedded SFU: rooms of participants that publish and subscribe over aiortc.

Signalling (WebSocket, WHIP, WHEP) calls :meth:`Sfu.join`, :meth:`Sfu.negotiate` and
friends; datagrams arrive through :class:`media.aiortc_tap.Connection` and are
forwarded by :mod:`media.forwarding`. A timer task sends receiver reports, REMB,
repeated NACKs and merged PLIs upstream, chooses layers and emits stats events.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kernel.events import Event
from media import events as ev
from media.aiortc_tap import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    Connection,
    MediaSection,
)
from media.census import Census, Retired, take_census
from media.errors import MalformedPacket, PermissionDenied, SignallingError
from media.feedback import (
    stats_events,
    take_receiver_reports,
    translate_sender_report,
    upstream_feedback,
)
from media.forwarding import CodecInfo, DownTrack, UpTrack
from media.grants import MediaGrant
from media.layers import LayerNeed, LayerState, choose_layer
from media.room import (
    AWAY_GRACE_MS,
    MAX_PUBLICATIONS,
    MAX_SUBSCRIPTIONS,
    Participant,
    Room,
    Source,
    source_kind,
)
from media.rtp import rtcp
from media.rtp.header import ExtensionIds, parse_rtp
from media.signalling import Offer, Publication, error_message, offer_sections

logger = logging.getLogger(__name__)

TICK_S = 0.02
REPORT_EVERY_MS = 1000.0
STATS_EVERY_MS = 5000.0

Notify = Callable[[dict[str, Any]], None]
Emit = Callable[[Event], None]


def _now_ms() -> float:
    return time.monotonic() * 1000.0


def _ntp(now: float) -> int:
    seconds = now + 2_208_988_800
    return (int(seconds) << 32) | int((seconds % 1) * (1 << 32))


class Sfu:
    def __init__(self, emit: Emit | None = None, ice_servers: tuple[str, ...] = ()) -> None:
        self.rooms: dict[str, Room] = {}
        self.ice_servers = ice_servers
        self._emit = emit or (lambda event: None)
        self._notify: dict[tuple[str, str], Notify] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_report_ms = 0.0
        self._last_stats_ms = 0.0
        self._retired = Retired()

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for room in list(self.rooms.values()):
            for participant in list(room.participants.values()):
                await self.leave(room.id, participant.identity, "removed")

    def census(self) -> Census:
        """Participants by role, subscriptions and forwarding totals, for monitoring."""
        return take_census(self.rooms.values(), self._retired)

    def emit(self, event: Event) -> None:
        try:
            self._emit(event)
        except Exception:  # an event sink must never stop forwarding
            logger.exception("Sfu: event sink failed for %s", event.type_name)

    # --- membership -----------------------------------------------------------

    async def join(self, grant: MediaGrant, notify: Notify | None = None) -> Participant:
        """Admit ``grant.identity``; an existing session of that identity is replaced."""
        self.start()
        room = self.rooms.setdefault(grant.room, Room(grant.room))
        old = room.participants.get(grant.identity)
        rejoined = old is not None
        if old is not None:
            previous = self._notify.pop((room.id, grant.identity), None)
            if previous is not None and previous is not notify:  # tell the page it lost its seat
                previous(error_message("replaced", "this identity joined again elsewhere"))
            await self._drop_connection(room, old)
            old.grant = grant
            old.away_since_ms = None
            participant = old
        else:
            participant = Participant(grant.identity, grant)
            room.participants[grant.identity] = participant
        participant.session += 1
        if notify is not None:
            self._notify[(room.id, grant.identity)] = notify
        self.emit(
            ev.ParticipantJoined(
                at=datetime.now(UTC),
                room=room.id,
                identity=grant.identity,
                role=grant.role,
                hidden=grant.hidden,
                rejoined=rejoined,
            )
        )
        self._broadcast_participants(room)
        return participant

    async def leave(self, room_id: str, identity: str, reason: str = "left") -> None:
        room = self.rooms.get(room_id)
        if room is None or identity not in room.participants:
            return
        participant = room.participants.pop(identity)
        await self._drop_connection(room, participant)
        for source_id in [s.id for s in room.sources.values() if s.identity == identity]:
            self._remove_source(room, source_id)
        self._notify.pop((room_id, identity), None)
        self.emit(
            ev.ParticipantLeft(at=datetime.now(UTC), room=room_id, identity=identity, reason=reason)
        )
        if not room.participants and self.rooms.get(room_id) is room:
            del self.rooms[room_id]  # two leaving at once both get here after the await
        else:
            self._broadcast_tracks(room)
            self._broadcast_participants(room)

    async def close_room(self, room_id: str, code: str, message: str) -> None:
        """Tell everyone in the room why, then let them all go (e.g. the lesson ended)."""
        room = self.rooms.get(room_id)
        for identity in list(room.participants) if room else []:
            self._notify_one(room_id, identity, {"type": "error", "code": code, "message": message})
            await self.leave(room_id, identity, "removed")

    def detach_notify(self, room_id: str, identity: str, notify: Notify) -> None:
        if self._notify.get((room_id, identity)) is notify:
            del self._notify[(room_id, identity)]

    def is_current(self, room_id: str, identity: str, session: int) -> bool:
        """Is ``session`` still the identity's latest join (not replaced, not gone)?"""
        room = self.rooms.get(room_id)
        participant = room.participants.get(identity) if room else None
        return participant is not None and participant.session == session

    def lost(self, room_id: str, identity: str, session: int) -> None:
        """A session's signalling or media went away: keep it for a rejoin, for a while."""
        if self.is_current(room_id, identity, session):
            participant = self.rooms[room_id].participants[identity]
            if participant.away_since_ms is None:
                participant.away_since_ms = _now_ms()
                logger.info("Room(%s) lost %s; waiting for a rejoin", room_id, identity)

    def participant(self, room_id: str, identity: str) -> Participant:
        room = self.rooms.get(room_id)
        if room is None or identity not in room.participants:
            raise SignallingError("not_joined", "join the room first")
        return room.participants[identity]

    async def _drop_connection(self, room: Room, participant: Participant) -> None:
        for down in participant.downs_by_mid.values():
            self._detach_down(room, down)
            self._retired.add(down)
        participant.downs_by_mid.clear()
        participant.downs_by_ssrc.clear()
        for up in participant.ups_by_mid.values():
            source = room.sources.get(f"{participant.identity}/{up.source}")
            if source is not None and source.layers.get(up.layer) is up:
                del source.layers[up.layer]
                for down in source.downs:
                    if down.current is up or down.target is up:
                        down.switch_to(None)
        participant.ups_by_mid.clear()
        participant.ups_by_ssrc.clear()
        participant.sections.clear()
        connection, participant.connection = participant.connection, None
        if connection is not None:
            await connection.close()

    # --- negotiation ------------------------------------------------------------

    async def negotiate(self, room_id: str, identity: str, offer: Offer) -> str:
        """Answer an offer that publishes and/or subscribes; returns the answer SDP."""
        room = self.rooms.get(room_id)
        participant = self.participant(room_id, identity)
        assert room is not None
        grant = participant.grant
        for mid, publication in offer.publish.items():
            if not grant.allows_publish(publication.source):
                raise PermissionDenied(f"this grant may not publish {publication.source}")
            if mid in participant.ups_by_mid:
                raise SignallingError("bad_message", f"mid {mid} is already published")
        if offer.subscribe and not grant.can_subscribe:
            raise PermissionDenied("this grant may not subscribe")
        if len(participant.ups_by_mid) + len(offer.publish) > MAX_PUBLICATIONS:
            raise SignallingError("too_many_tracks", f"at most {MAX_PUBLICATIONS} published tracks")
        if len(participant.downs_by_mid) + len(offer.subscribe) > MAX_SUBSCRIPTIONS:
            raise SignallingError("too_many_tracks", f"at most {MAX_SUBSCRIPTIONS} subscriptions")
        taken = {(up.source, up.layer) for up in participant.ups_by_mid.values()}
        for publication in offer.publish.values():
            key = (publication.source, publication.layer)
            if key in taken:
                raise SignallingError(
                    "bad_message",
                    f"{publication.source} ({publication.layer}) is already published",
                )
            taken.add(key)
        if not offer_sections(offer.sdp):
            raise SignallingError("bad_sdp", "the offer has no audio or video m-section")
        session = participant.session
        created = participant.connection is None
        if participant.connection is None:
            participant.connection = self._connect(room, participant)
        connection = participant.connection
        send_mids = set(offer.subscribe) | set(participant.downs_by_mid)
        try:
            answer = await connection.answer(offer.sdp, send_mids)
        except SignallingError:
            if created and participant.connection is connection:
                participant.connection = None  # a refused first offer leaves nothing behind
                await connection.close()
            raise
        if participant.session != session or room.participants.get(identity) is not participant:
            raise SignallingError("replaced", "this session was replaced by a newer one")
        sections = {section.mid: section for section in connection.sections()}
        participant.sections.update(sections)
        now = _now_ms()
        for mid, publication in offer.publish.items():
            section = sections.get(mid)
            if section is None or section.kind != source_kind(publication.source):
                raise SignallingError(
                    "bad_sdp",
                    f"mid {mid} is not a {source_kind(publication.source)} m-section of the offer",
                )
            self._publish(room, participant, section, publication)
        for mid, source_id in offer.subscribe.items():
            section = sections.get(mid)
            if section is None or "send" not in section.direction:
                raise SignallingError(
                    "bad_sdp", f"mid {mid} is not a recvonly m-section of the offer"
                )
            self._add_down(participant, section)
            self.subscribe(room_id, identity, mid, source_id, now)
        self._broadcast_tracks(room)
        return answer

    def _connect(self, room: Room, participant: Participant) -> Connection:
        def on_rtp(data: bytes, now_ms: float) -> None:
            self._on_rtp(participant, data, now_ms)

        def on_rtcp(data: bytes) -> None:
            self._on_rtcp(room, participant, data)

        def on_ready() -> None:
            self._connection_ready(room, participant)

        connection = Connection(on_rtp, on_rtcp, self.ice_servers, on_ready)
        session = participant.session

        async def watch() -> None:
            await connection.closed.wait()
            if participant.connection is connection:
                self.lost(room.id, participant.identity, session)

        asyncio.get_running_loop().create_task(watch())
        return connection

    def _publish(
        self, room: Room, participant: Participant, section: MediaSection, publication: Publication
    ) -> None:
        codecs: dict[int, CodecInfo] = {}
        for codec in section.codecs:
            if codec.name in ("vp8", "h264", "opus"):
                codecs[codec.payload_type] = CodecInfo(
                    codec.name, codec.clock_rate, section.rtx_payload_type(codec.payload_type)
                )
        if not codecs:
            raise SignallingError("bad_sdp", "no supported codec (VP8, H.264 or Opus) was offered")
        source_id = f"{participant.identity}/{publication.source}"
        up = UpTrack(
            f"{source_id}/{publication.layer}",
            section.kind,
            publication.source,
            publication.layer,
            codecs,
            section.extensions.get(AUDIO_LEVEL_URI, 0),
        )
        participant.ups_by_mid[section.mid] = up
        participant.rtcp_ssrc[up.id] = section.local_ssrc
        for ssrc in (section.remote_ssrc, section.remote_rtx_ssrc):
            if ssrc is not None:
                participant.ups_by_ssrc[ssrc] = up
        source = room.sources.get(source_id)
        if source is None:
            source = Source(
                source_id,
                participant.identity,
                participant.grant.name,
                publication.source,
                section.kind,
            )
            room.sources[source_id] = source
            for other in room.participants.values():  # subscribers waiting for this source
                for down in other.downs_by_mid.values():
                    if down.source_id == source_id and down not in source.downs:
                        source.downs.append(down)
        source.layers[publication.layer] = up
        first = next(iter(codecs.values()))
        self.emit(
            ev.TrackPublished(
                at=datetime.now(UTC),
                room=room.id,
                identity=participant.identity,
                track=up.id,
                source=publication.source,
                layer=publication.layer,
                kind=section.kind,
                codec=first.name,
            )
        )
        now = _now_ms()
        for down in source.downs:
            self._choose(room, source, down, now)

    def _add_down(self, participant: Participant, section: MediaSection) -> DownTrack:
        existing = participant.downs_by_mid.get(section.mid)
        if existing is not None:
            return existing
        payload_types: dict[str, tuple[int, int | None]] = {}
        for codec in section.codecs:
            if codec.name in ("vp8", "h264", "opus") and codec.name not in payload_types:
                payload_types[codec.name] = (
                    codec.payload_type,
                    section.rtx_payload_type(codec.payload_type),
                )
        connection = participant.connection
        assert connection is not None
        down = DownTrack(
            participant.identity,
            section.kind,
            section.local_ssrc,
            section.local_rtx_ssrc,
            payload_types,
            ExtensionIds(
                abs_send_time=section.extensions.get(ABS_SEND_TIME_URI, 0),
                audio_level=section.extensions.get(AUDIO_LEVEL_URI, 0),
            ),
            connection,
            random.randint(0, 0x7FFF),
            random.randint(0, 0xFFFFFFFF),
        )
        participant.downs_by_mid[section.mid] = down
        participant.downs_by_ssrc[section.local_ssrc] = down
        participant.downs_by_ssrc[section.local_rtx_ssrc] = down
        return down

    # --- subscriptions ------------------------------------------------------------

    def subscribe(
        self, room_id: str, identity: str, mid: str, source_id: str, now_ms: float | None = None
    ) -> None:
        room = self.rooms[room_id]
        participant = self.participant(room_id, identity)
        if not participant.grant.can_subscribe:
            raise PermissionDenied("this grant may not subscribe")
        down = participant.downs_by_mid.get(mid)
        if down is None:
            raise SignallingError("bad_message", f"mid {mid} is not a subscription m-section")
        if source_id.startswith(f"{identity}/"):
            raise SignallingError("bad_message", "a participant does not subscribe to itself")
        now = _now_ms() if now_ms is None else now_ms
        self._detach_down(room, down)
        down.source_id = source_id
        if not room.may_receive(identity, source_id.split("/", 1)[0]):
            raise PermissionDenied("this source is not shown to this participant")
        source = room.sources.get(source_id)
        if source is None:
            publisher = source_id.split("/", 1)[0]
            if publisher not in room.participants:
                raise SignallingError("no_track", f"no track {source_id[:80]} in this room")
            return  # the publisher is reconnecting; attach when it publishes again
        if source.kind != down.kind:
            raise SignallingError(
                "bad_message", f"mid {mid} is {down.kind}, {source_id} is {source.kind}"
            )
        source.downs.append(down)
        self._choose(room, source, down, now)

    def unsubscribe(self, room_id: str, identity: str, mid: str) -> None:
        room = self.rooms[room_id]
        down = self.participant(room_id, identity).downs_by_mid.get(mid)
        if down is not None:
            self._detach_down(room, down)
            down.source_id = None

    def set_layer(self, room_id: str, identity: str, mid: str, preference: str) -> None:
        room = self.rooms[room_id]
        down = self.participant(room_id, identity).downs_by_mid.get(mid)
        if down is None:
            raise SignallingError("bad_message", f"mid {mid} is not a subscription")
        down.preference = preference
        down.layer_state = LayerState()
        source = room.sources.get(down.source_id or "")
        if source is not None:
            self._choose(room, source, down, _now_ms())

    def mute(self, room_id: str, identity: str, source_name: str, muted: bool) -> None:
        room = self.rooms[room_id]
        source = room.sources.get(f"{identity}/{source_name}")
        if source is None:
            raise SignallingError("no_track", f"{source_name} is not published")
        self._set_muted(room, source, muted=muted)

    def update_grant(
        self,
        room_id: str,
        identity: str,
        can_publish: frozenset[str],
        audience: frozenset[str] | None = None,
    ) -> None:
        """Change what a participant may publish now, and who may receive it (e.g. a
        classroom called on); subscribers no longer in the audience are cut off."""
        participant = self.participant(room_id, identity)
        participant.grant = participant.grant.with_publish(can_publish, audience)
        room = self.rooms[room_id]
        prefix = f"{identity}/"
        for viewer in room.participants.values():
            if room.may_receive(viewer.identity, identity):
                continue
            for down in viewer.downs_by_mid.values():
                if (down.source_id or "").startswith(prefix):
                    self._detach_down(room, down)
                    down.source_id = None
        for source in room.sources.values():
            if source.identity == identity:
                source.revoked = source.source not in can_publish
                self._set_muted(room, source, muted=source.muted)
        self._notify_one(room_id, identity, {"type": "grant", "can_publish": sorted(can_publish)})

    def _connection_ready(self, room: Room, participant: Participant) -> None:
        """A subscriber's SRTP is up: a keyframe forwarded before it was lost, so every
        video it receives waits for (and asks for) a fresh one."""
        now = _now_ms()
        for down in participant.downs_by_mid.values():
            if down.kind != "video":
                continue
            if down.current is not None:
                down.target, down.current = down.current, None
            if down.target is not None:
                self._request_keyframe(room, down.target, now)

    def _set_muted(self, room: Room, source: Source, *, muted: bool) -> None:
        source.muted = muted
        off = muted or source.revoked
        for up in source.layers.values():
            up.muted = off
        if not off:  # the picture resumes: everyone needs a keyframe
            now = _now_ms()
            for down in source.downs:
                if down.current is not None:
                    down.target, down.current = down.current, None
                    self._request_keyframe(room, down.target, now)
        self._broadcast_tracks(room)

    def _detach_down(self, room: Room, down: DownTrack) -> None:
        source = room.sources.get(down.source_id or "")
        if source is not None and down in source.downs:
            source.downs.remove(down)
        down.stop()

    def _remove_source(self, room: Room, source_id: str) -> None:
        source = room.sources.pop(source_id, None)
        if source is None:
            return
        for down in source.downs:
            down.switch_to(None)
        for up in source.layers.values():
            self.emit(
                ev.TrackUnpublished(
                    at=datetime.now(UTC), room=room.id, identity=source.identity, track=up.id
                )
            )

    def _choose(self, room: Room, source: Source, down: DownTrack, now_ms: float) -> None:
        layers = source.ordered_layers()
        if not layers:
            return
        if source.kind == "audio":
            target: UpTrack | None = layers[0]
        else:
            subscriber = room.participants.get(down.subscriber)
            need = LayerNeed(
                down.estimate_bps,
                down.fraction_lost,
                down.preference,
                sent_bps=subscriber.sent_bps if subscriber else down.sent_bps,
            )
            current = down.target or down.current
            chosen = choose_layer(
                [u.layer_info() for u in layers],
                need,
                current.id if current else None,
                down.layer_state,
                now_ms,
            )
            target = next((u for u in layers if u.id == chosen), None)
        if down.switch_to(target) and target is not None:
            self._request_keyframe(room, target, now_ms)

    # --- datagrams ----------------------------------------------------------------

    def _on_rtp(self, participant: Participant, data: bytes, now_ms: float) -> None:
        try:
            header = parse_rtp(data)
        except MalformedPacket:
            return  # SRTP authenticated it, yet it is no RTP: drop it
        up = participant.ups_by_ssrc.get(header.ssrc)
        if up is None:
            up = self._route_unknown(
                participant, header.ssrc, header.payload_type, header.extensions
            )
            if up is None:
                return
        to_nack = up.receive(data, header, now_ms)
        if to_nack and up.ssrc is not None and participant.connection is not None:
            up.nacks_sent += 1
            participant.connection.send(
                rtcp.nack(participant.rtcp_ssrc.get(up.id, 1), up.ssrc, to_nack)
            )

    def _route_unknown(
        self, participant: Participant, ssrc: int, payload_type: int, extensions: dict[int, bytes]
    ) -> UpTrack | None:
        """A packet from an SSRC the SDP did not announce: match by mid, then by codec."""
        for mid, section in participant.sections.items():
            mid_id = section.extensions.get(MID_URI)
            if mid_id and extensions.get(mid_id, b"").decode("ascii", "replace") == mid:
                up = participant.ups_by_mid.get(mid)
                if up is not None:
                    participant.ups_by_ssrc[ssrc] = up
                return up
        candidates = [
            up
            for up in participant.ups_by_mid.values()
            if payload_type in up.codecs or payload_type in up.rtx_types
        ]
        if len(candidates) == 1 and candidates[0].ssrc is None:
            participant.ups_by_ssrc[ssrc] = candidates[0]
            return candidates[0]
        return None

    def _on_rtcp(self, room: Room, participant: Participant, data: bytes) -> None:
        try:
            items = rtcp.parse_rtcp(data)
        except MalformedPacket:
            return
        now = _now_ms()
        for item in items:
            if isinstance(item, rtcp.SenderReport):
                translate_sender_report(participant, item, now)
            elif isinstance(item, rtcp.ReceiverReport):
                take_receiver_reports(participant, item.reports, now)
            elif isinstance(item, rtcp.Nack):
                down = participant.downs_by_ssrc.get(item.media_ssrc)
                if down is not None:
                    down.retransmit(list(item.lost), now)
            elif isinstance(item, rtcp.PictureLoss):
                down = participant.downs_by_ssrc.get(item.media_ssrc)
                if down is not None:
                    down.plis += 1
                    up = down.current or down.target
                    if up is not None:
                        self._request_keyframe(room, up, now)
            elif isinstance(item, rtcp.Remb):
                for ssrc in item.ssrcs:
                    down = participant.downs_by_ssrc.get(ssrc)
                    if down is not None:
                        down.estimate_bps = float(item.bitrate)

    def _request_keyframe(self, room: Room, up: UpTrack, now_ms: float) -> None:
        if up.kind != "video" or up.ssrc is None:
            return
        if up.keyframes.request(now_ms):
            self._send_pli(room, up)

    def _send_pli(self, room: Room, up: UpTrack) -> None:
        publisher = room.participants.get(up.id.split("/", 1)[0])
        if publisher is not None and publisher.connection is not None and up.ssrc is not None:
            publisher.connection.send(rtcp.picture_loss(publisher.rtcp_ssrc.get(up.id, 1), up.ssrc))

    # --- timers -------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick(_now_ms())
            except Exception:
                logger.exception("Sfu: timer tick failed")

    async def tick(self, now_ms: float) -> None:
        report = now_ms - self._last_report_ms >= REPORT_EVERY_MS
        stats = now_ms - self._last_stats_ms >= STATS_EVERY_MS
        if report:
            self._last_report_ms = now_ms
        if stats:
            self._last_stats_ms = now_ms
        for room in list(self.rooms.values()):
            for participant in list(room.participants.values()):
                if (
                    participant.away_since_ms is not None
                    and now_ms - participant.away_since_ms > AWAY_GRACE_MS
                ):
                    await self.leave(room.id, participant.identity, "lost")
                    continue
                for up in upstream_feedback(participant, now_ms, report):
                    self._send_pli(room, up)
            if report:
                for participant in room.participants.values():
                    for down in participant.downs_by_mid.values():
                        down.measure_rate(now_ms)
                    # one REMB covers the whole connection: compare it with all it gets
                    participant.sent_bps = sum(
                        d.sent_bps for d in participant.downs_by_mid.values()
                    )
                for source in room.sources.values():
                    for down in list(source.downs):
                        self._choose(room, source, down, now_ms)
            if stats:
                for event in stats_events(room, datetime.now(UTC), STATS_EVERY_MS):
                    self.emit(event)

    # --- notifications -------------------------------------------------------------

    def _notify_one(self, room_id: str, identity: str, message: dict[str, Any]) -> None:
        notify = self._notify.get((room_id, identity))
        if notify is not None:
            notify(message)

    def _broadcast_tracks(self, room: Room) -> None:
        for identity in room.participants:
            self._notify_one(
                room.id, identity, {"type": "tracks", "tracks": room.visible_sources(identity)}
            )

    def _broadcast_participants(self, room: Room) -> None:
        for identity in room.participants:
            self._notify_one(
                room.id,
                identity,
                {"type": "participants", "participants": room.participant_list(identity)},
            )

    def describe(self, room_id: str, identity: str) -> dict[str, Any]:
        room = self.rooms[room_id]
        return {
            "tracks": room.visible_sources(identity),
            "participants": room.participant_list(identity),
        }
