"""LiveKit's webhooks: verified, de-duplicated, and turned into Sanke's media events.

LiveKit signs each delivery: the ``Authorization`` header is a JWT (signed with the API
secret, valid for minutes) whose ``sha256`` claim is the body's hash. LiveKit retries a
delivery that failed, and may send one twice, so ids already seen in the last
:data:`WINDOW` are dropped; an older replay is refused because its token has expired.
Delivery is not guaranteed: ``reconcile`` makes up for what never arrives.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import jwt
from google.protobuf.json_format import ParseError
from livekit.api import TokenVerifier, WebhookReceiver
from livekit.protocol.egress import EgressInfo, EgressStatus
from livekit.protocol.models import DisconnectReason
from livekit.protocol.webhook import WebhookEvent

from kernel.events import Event
from media import events as ev
from media.errors import WebhookInvalid
from media.livekit.reconcile import Belief, seen_participant, seen_track

logger = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)  # longer than a webhook token lives (5 min + 1 min leeway)
MAX_IDS = 50_000
MAX_BODY = 1 << 20

#: Why a participant left, in the words of ``media.left``.
LEFT_REASONS = {
    DisconnectReason.CLIENT_INITIATED: "left",
    DisconnectReason.DUPLICATE_IDENTITY: "replaced",
    DisconnectReason.PARTICIPANT_REMOVED: "removed",
    DisconnectReason.ROOM_DELETED: "removed",
    DisconnectReason.ROOM_CLOSED: "removed",
}
EGRESS_STATUS = {
    EgressStatus.EGRESS_STARTING: "starting",
    EgressStatus.EGRESS_ACTIVE: "active",
    EgressStatus.EGRESS_ENDING: "ending",
    EgressStatus.EGRESS_COMPLETE: "complete",
    EgressStatus.EGRESS_FAILED: "failed",
    EgressStatus.EGRESS_ABORTED: "aborted",
    EgressStatus.EGRESS_LIMIT_REACHED: "limit_reached",
}


class RecentIds:
    """Event ids seen within ``window``, at most ``size`` of them (the oldest go first)."""

    def __init__(self, window: timedelta = WINDOW, size: int = MAX_IDS) -> None:
        self.window = window
        self.size = size
        self._seen: OrderedDict[str, datetime] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, event_id: str, now: datetime) -> bool:
        """Was ``event_id`` seen already? Remembers it if not."""
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at < self.window and len(self._seen) < self.size:
                break
            del self._seen[oldest]
        if event_id in self._seen:
            return True
        self._seen[event_id] = now
        return False


class WebhookInbox:
    """Where LiveKit's deliveries arrive: :meth:`receive` each one's body and header."""

    def __init__(self, api_key: str, api_secret: str, recent: RecentIds | None = None) -> None:
        if not api_key or not api_secret:  # livekit-api would fall back to the environment
            raise ValueError("a LiveKit API key and secret are needed to verify webhooks")
        self._receiver = WebhookReceiver(TokenVerifier(api_key, api_secret))
        self._recent = recent or RecentIds()

    def receive(self, body: bytes, authorization: str, now: datetime) -> WebhookEvent | None:
        """The event, or None if it was delivered before; raises :class:`WebhookInvalid`."""
        token = authorization.removeprefix("Bearer ").strip()
        if not token or len(body) > MAX_BODY:
            raise WebhookInvalid("signature", "no webhook token, or a body too large")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookInvalid("malformed", "the webhook body is not UTF-8") from exc
        try:
            event = self._receiver.receive(text, token)
        except (jwt.PyJWTError, ValueError) as exc:  # forged, expired, hash not base64
            raise WebhookInvalid("signature", f"the webhook token is invalid: {exc}") from exc
        except ParseError as exc:
            raise WebhookInvalid("malformed", f"the webhook body is not an event: {exc}") from exc
        except Exception as exc:  # livekit-api raises a bare Exception for a hash mismatch
            raise WebhookInvalid("signature", f"the webhook body was altered: {exc}") from exc
        if event.id and self._recent.seen(event.id, now):
            logger.info("WebhookInbox: %s %s delivered again; ignored", event.event, event.id)
            return None
        return event


def _at(event: WebhookEvent, now: datetime) -> datetime:
    return datetime.fromtimestamp(event.created_at, UTC) if event.created_at > 0 else now


def events_of(event: WebhookEvent, belief: Belief, now: datetime) -> list[Event]:
    """Sanke's media events for one LiveKit event (the belief takes the change in).

    ``room_started`` tells nothing Sanke needs: the room is empty; ``room_finished``
    means everyone left. Ingress and other events are not translated.
    """
    at, room, kind = _at(event, now), event.room.name, event.event
    if kind == "participant_joined":
        return belief.joined(room, seen_participant(event.participant), at)
    if kind in ("participant_left", "participant_connection_aborted"):
        reason = LEFT_REASONS.get(event.participant.disconnect_reason, "lost")
        who = event.participant
        return belief.left(room, who.identity, who.sid, reason, at)
    if kind == "track_published":
        return belief.published(
            room, seen_participant(event.participant), seen_track(event.track), at
        )
    if kind == "track_unpublished":
        return belief.unpublished(room, event.participant.identity, event.track.sid, at)
    if kind == "room_finished":
        return belief.forget(room, at)
    if kind.startswith("egress_"):
        return [egress_event(event.egress_info, at)]
    return []


def egress_event(info: EgressInfo, at: datetime) -> ev.EgressUpdated:
    files = [f.location or f.filename for f in info.file_results]
    files += [s.playlist_location or s.playlist_name for s in info.segment_results]
    files += [i.filename_prefix for i in info.image_results]
    return ev.EgressUpdated(
        at=at,
        room=info.room_name,
        egress=info.egress_id,
        status=EGRESS_STATUS.get(info.status, "unknown"),
        error=info.error,
        files=files,
    )
