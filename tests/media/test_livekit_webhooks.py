"""LiveKit webhooks: real signed bodies, as the LiveKit server signs them (a JWT with the
body's SHA-256, valid for five minutes), verified, de-duplicated and translated."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.json_format import MessageToJson
from livekit.api import AccessToken
from livekit.protocol.egress import EgressInfo, EgressStatus, FileInfo
from livekit.protocol.models import (
    DisconnectReason,
    ParticipantInfo,
    ParticipantPermission,
    Room,
    TrackInfo,
    TrackSource,
    TrackType,
)
from livekit.protocol.webhook import WebhookEvent

from kernel.events import Event
from media import events as ev
from media.errors import WebhookInvalid
from media.livekit.reconcile import Belief
from media.livekit.rooms import LiveKitRooms
from media.livekit.tokens import ROLE_ATTRIBUTE
from media.livekit.webhooks import RecentIds, WebhookInbox, events_of
from tests.media.livekit_twirp import KEY, SECRET

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ROOM = Room(sid="RM_1", name="P3-L7-20260302")


def sign(body: bytes, *, secret: str = SECRET, ttl: timedelta = timedelta(minutes=5)) -> str:
    """The ``Authorization`` header LiveKit sends with ``body``."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return AccessToken(KEY, secret).with_sha256(digest).with_ttl(ttl).to_jwt()


def delivery(event: WebhookEvent) -> tuple[bytes, str]:
    body = MessageToJson(event).encode()
    return body, sign(body)


def participant(
    identity: str, sid: str, role: str = "teacher", **kwargs: object
) -> ParticipantInfo:
    return ParticipantInfo(
        identity=identity, sid=sid, attributes={ROLE_ATTRIBUTE: role},
        permission=ParticipantPermission(hidden=role == "inspector"), **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def webhook(kind: str, event_id: str, **kwargs: object) -> WebhookEvent:
    return WebhookEvent(event=kind, id=event_id, room=ROOM, created_at=int(NOW.timestamp()),
                        **kwargs)  # type: ignore[arg-type]  # fmt: skip


# --- verification ---------------------------------------------------------------------------


def test_a_signed_delivery_is_received_once() -> None:
    inbox = WebhookInbox(KEY, SECRET)
    body, authorization = delivery(
        webhook("participant_joined", "EV_1", participant=participant("teacher:t1", "PA_1"))
    )
    event = inbox.receive(body, authorization, NOW)
    assert event is not None and event.event == "participant_joined"
    assert event.participant.identity == "teacher:t1"
    assert inbox.receive(body, authorization, NOW + timedelta(seconds=30)) is None  # a retry
    resigned = sign(body)  # LiveKit retries with a fresh token: still the same event
    assert inbox.receive(body, resigned, NOW + timedelta(minutes=1)) is None
    assert inbox.receive(body, "Bearer " + resigned, NOW + timedelta(minutes=2)) is None


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("altered body", "signature"),
        ("other secret", "signature"),
        ("expired token", "signature"),
        ("no token", "signature"),
        ("no body hash", "signature"),
        ("not an event", "malformed"),
        ("not utf-8", "malformed"),
    ],
)
def test_deliveries_that_cannot_be_trusted_are_refused(case: str, reason: str) -> None:
    inbox = WebhookInbox(KEY, SECRET)
    body, authorization = delivery(webhook("room_started", "EV_2"))
    if case == "altered body":
        body = body.replace(b"room_started", b"room_finished")
    elif case == "other secret":
        authorization = sign(body, secret=SECRET + "x")
    elif case == "expired token":  # a replay after the token's five minutes (and leeway)
        authorization = sign(body, ttl=timedelta(minutes=-2))
    elif case == "no token":
        authorization = ""
    elif case == "no body hash":
        authorization = AccessToken(KEY, SECRET).to_jwt()
    elif case == "not an event":
        body = b'{"event": 5, "unknown": ['
        authorization = sign(body)
    elif case == "not utf-8":
        body = b"\xff\xfe"
        authorization = sign(body)
    with pytest.raises(WebhookInvalid) as refused:
        inbox.receive(body, authorization, NOW)
    assert refused.value.reason == reason


def test_recent_ids_forget_after_the_window_and_beyond_their_size() -> None:
    recent = RecentIds(window=timedelta(minutes=15), size=3)
    assert not recent.seen("a", NOW)
    assert recent.seen("a", NOW + timedelta(minutes=14))
    assert not recent.seen("a", NOW + timedelta(minutes=16))  # long gone: its token expired too
    for name in ("b", "c", "d"):
        assert not recent.seen(name, NOW + timedelta(minutes=17))
    assert len(recent) == 3
    assert not recent.seen("a", NOW + timedelta(minutes=17))  # the oldest made room


# --- translation ------------------------------------------------------------------------------


def test_joins_publications_and_leaves_become_media_events() -> None:
    belief = Belief()
    teacher = participant("teacher:t1", "PA_1")
    camera = TrackInfo(sid="TR_cam", type=TrackType.VIDEO, source=TrackSource.CAMERA,
                       mime_type="video/H264")  # fmt: skip
    inspector = participant("inspector:9", "PA_9", "inspector")
    events: list[Event] = []
    steps: list[tuple[str, str, dict[str, object]]] = [
        ("room_started", "EV_0", {}),
        ("participant_joined", "EV_1", {"participant": teacher}),
        ("participant_joined", "EV_2", {"participant": inspector}),
        ("track_published", "EV_3", {"participant": teacher, "track": camera}),
        ("track_published", "EV_3b", {"participant": teacher, "track": camera}),  # told twice
        ("track_unpublished", "EV_4", {"participant": teacher, "track": camera}),
        ("participant_left", "EV_5", {"participant": participant(
            "teacher:t1", "PA_1", disconnect_reason=DisconnectReason.CLIENT_INITIATED)}),
    ]  # fmt: skip
    for kind, event_id, extra in steps:
        events += events_of(webhook(kind, event_id, **extra), belief, NOW)
    assert [e.type_name for e in events] == [
        "media.joined", "media.joined", "media.published", "media.unpublished", "media.left"
    ]  # fmt: skip
    joined, watcher, published = events[0], events[1], events[2]
    assert isinstance(joined, ev.ParticipantJoined) and isinstance(watcher, ev.ParticipantJoined)
    assert (joined.room, joined.identity, joined.role, joined.hidden) == (
        ROOM.name, "teacher:t1", "teacher", False
    )  # fmt: skip
    assert watcher.hidden and watcher.role == "inspector"
    assert isinstance(published, ev.TrackPublished)
    assert (published.track, published.source, published.kind, published.codec) == (
        "TR_cam", "camera", "video", "h264"
    )  # fmt: skip
    assert all(e.at == NOW for e in events)
    left = events[-1]
    assert isinstance(left, ev.ParticipantLeft) and left.reason == "left"
    assert belief.roles() == {"inspector": 1}


def test_a_new_session_is_a_rejoin_and_the_old_sessions_leave_is_ignored() -> None:
    belief = Belief()
    events_of(webhook("participant_joined", "EV_1", participant=participant("teacher:t1", "PA_1")),
              belief, NOW)  # fmt: skip
    again = events_of(
        webhook("participant_joined", "EV_2", participant=participant("teacher:t1", "PA_2")),
        belief, NOW,
    )  # fmt: skip
    assert len(again) == 1 and isinstance(again[0], ev.ParticipantJoined) and again[0].rejoined
    old_left = participant("teacher:t1", "PA_1",
                           disconnect_reason=DisconnectReason.DUPLICATE_IDENTITY)  # fmt: skip
    assert events_of(webhook("participant_left", "EV_3", participant=old_left), belief, NOW) == []
    assert belief.roles() == {"teacher": 1}


def test_a_publication_whose_join_was_lost_reports_the_join_first() -> None:
    belief = Belief()
    mic = TrackInfo(sid="TR_mic", type=TrackType.AUDIO, source=TrackSource.MICROPHONE,
                    mime_type="audio/opus")  # fmt: skip
    events = events_of(
        webhook("track_published", "EV_1", participant=participant("classroom:r1", "PA_3",
                "receiving_classroom"), track=mic), belief, NOW,
    )  # fmt: skip
    assert [e.type_name for e in events] == ["media.joined", "media.published"]


def test_a_finished_room_lets_everyone_go_and_egress_reports_its_files() -> None:
    belief = Belief()
    events_of(webhook("participant_joined", "EV_1", participant=participant("teacher:t1", "PA_1")),
              belief, NOW)  # fmt: skip
    finished = events_of(webhook("room_finished", "EV_2"), belief, NOW)
    assert [(e.type_name, getattr(e, "reason", "")) for e in finished] == [
        ("media.left", "removed")
    ]
    info = EgressInfo(
        egress_id="EG_1",
        room_name=ROOM.name,
        status=EgressStatus.EGRESS_COMPLETE,
        file_results=[FileInfo(filename="a.mp4", location="s3://b/a.mp4")],
    )
    (egress,) = events_of(webhook("egress_ended", "EV_3", egress_info=info), belief, NOW)
    assert isinstance(egress, ev.EgressUpdated)
    assert (egress.room, egress.egress, egress.status, egress.files) == (
        ROOM.name, "EG_1", "complete", ["s3://b/a.mp4"]
    )  # fmt: skip
    assert egress.key == ROOM.name


def test_the_adapter_emits_what_webhooks_tell_even_before_it_is_connected() -> None:
    emitted: list[Event] = []
    rooms = LiveKitRooms(emitted.append)
    inbox = WebhookInbox(KEY, SECRET)
    body, authorization = delivery(
        webhook("participant_joined", "EV_1", participant=participant("teacher:t1", "PA_1"))
    )
    event = inbox.receive(body, authorization, NOW)
    assert event is not None
    rooms.on_webhook(event, NOW)
    assert [e.type_name for e in emitted] == ["media.joined"]
    assert rooms.census().participants == {"teacher": 1}


def test_the_inbox_needs_its_keys_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    with pytest.raises(ValueError, match="key and secret"):
        WebhookInbox("", "")
