"""Reconcile: Sanke's belief against what ``list_participants`` reports (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from livekit.protocol.models import (
    ParticipantInfo,
    ParticipantPermission,
    TrackInfo,
    TrackSource,
    TrackType,
)

from media import events as ev
from media.livekit.audience import cuts
from media.livekit.reconcile import Belief, SeenParticipant, SeenTrack, present
from media.livekit.tokens import ROLE_ATTRIBUTE

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ROOM = "P3-L7-20260302"
CAMERA = SeenTrack("TR_cam", "camera", "video", "vp8")
MIC = SeenTrack("TR_mic", "microphone", "audio", "opus")


def who(identity: str, sid: str, role: str, *tracks: SeenTrack) -> SeenParticipant:
    return SeenParticipant(identity, sid, role, role == "inspector", {t.sid: t for t in tracks})


def test_list_participants_answers_become_what_is_seen() -> None:
    infos = [
        ParticipantInfo(
            identity="classroom:r1", sid="PA_1", state=ParticipantInfo.State.ACTIVE,
            attributes={ROLE_ATTRIBUTE: "receiving_classroom"},
            permission=ParticipantPermission(can_publish=True, can_subscribe=True,
                                             can_publish_sources=[TrackSource.CAMERA]),
            tracks=[TrackInfo(sid="TR_cam", type=TrackType.VIDEO, source=TrackSource.CAMERA,
                              mime_type="video/VP8")],
        ),
        ParticipantInfo(identity="EG_1", sid="PA_2", kind=ParticipantInfo.Kind.EGRESS,
                        permission=ParticipantPermission(hidden=True)),
        ParticipantInfo(identity="gone", sid="PA_3", state=ParticipantInfo.State.DISCONNECTED),
    ]  # fmt: skip
    seen = present(infos)
    assert set(seen) == {"classroom:r1", "EG_1"}
    classroom = seen["classroom:r1"]
    assert (classroom.role, classroom.hidden, classroom.can_publish) == (
        "receiving_classroom", False, frozenset({"camera"})
    )  # fmt: skip
    assert classroom.tracks == {"TR_cam": CAMERA}
    assert (seen["EG_1"].role, seen["EG_1"].hidden) == ("recorder", True)


def test_what_the_webhooks_missed_is_reported_once() -> None:
    belief = Belief()
    teacher = who("teacher:t1", "PA_1", "teacher", CAMERA, MIC)
    events = belief.reconcile(ROOM, {"teacher:t1": teacher}, NOW)
    assert [e.type_name for e in events] == ["media.joined", "media.published", "media.published"]
    assert belief.reconcile(ROOM, {"teacher:t1": teacher}, NOW + timedelta(minutes=1)) == []
    # the late webhooks of what reconcile already reported change nothing
    assert belief.joined(ROOM, teacher, NOW) == []
    assert belief.published(ROOM, teacher, CAMERA, NOW) == []


def test_tracks_and_people_that_went_are_unpublished_and_left() -> None:
    belief = Belief()
    first = {
        "teacher:t1": who("teacher:t1", "PA_1", "teacher", CAMERA, MIC),
        "inspector:9": who("inspector:9", "PA_9", "inspector"),
    }
    belief.reconcile(ROOM, first, NOW)
    events = belief.reconcile(ROOM, {"teacher:t1": who("teacher:t1", "PA_1", "teacher", MIC)}, NOW)
    assert [(e.type_name, getattr(e, "track", getattr(e, "identity", ""))) for e in events] == [
        ("media.left", "inspector:9"), ("media.unpublished", "TR_cam")
    ]  # fmt: skip
    left = events[0]
    assert isinstance(left, ev.ParticipantLeft) and left.reason == "lost"
    ended = belief.forget(ROOM, NOW)
    assert [e.type_name for e in ended] == ["media.unpublished", "media.left"]
    assert belief.rooms == {} and belief.roles() == {}


def test_a_new_session_found_by_reconcile_is_a_rejoin() -> None:
    belief = Belief()
    belief.reconcile(ROOM, {"teacher:t1": who("teacher:t1", "PA_1", "teacher", CAMERA)}, NOW)
    events = belief.reconcile(ROOM, {"teacher:t1": who("teacher:t1", "PA_2", "teacher")}, NOW)
    assert [e.type_name for e in events] == ["media.unpublished", "media.joined"]
    joined = events[1]
    assert isinstance(joined, ev.ParticipantJoined) and joined.rejoined


def test_a_classroom_not_called_on_is_cut_from_the_other_classrooms() -> None:
    people = {
        "teacher:t1": who("teacher:t1", "PA_1", "teacher", MIC),
        "classroom:r1": who("classroom:r1", "PA_2", "receiving_classroom", CAMERA),
        "classroom:r2": who("classroom:r2", "PA_3", "receiving_classroom"),
        "inspector:9": who("inspector:9", "PA_9", "inspector"),
    }
    audience = frozenset({"teacher", "inspector", "researcher", "recorder"})
    assert cuts(people, {"classroom:r1": audience}) == {"classroom:r2": ["TR_cam"]}
    assert cuts(people, {"classroom:r1": frozenset()}) == {}  # called on: everyone sees it
