"""Each role's LiveKit access token, decoded and checked with ``TokenVerifier``.

The grants come from Sanke's own rules (``rooms/media_grants.py``), so these tests also
show that a role gets in LiveKit what it gets in the embedded SFU, and no more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from livekit.api import TokenVerifier
from livekit.api.access_token import Claims
from livekit.protocol.models import ParticipantPermission, TrackSource

from media.livekit.tokens import (
    ROLE_ATTRIBUTE,
    access_token,
    permission,
    publishable,
    video_grants,
)
from rooms.media_grants import media_grant
from tests.media.livekit_twirp import KEY, SECRET

ROOM = "P3-L7-20260302"


def token_of(role: str, identity: str, **kwargs: bool) -> str:
    now = datetime.now(UTC)
    grant = media_grant(ROOM, identity, role, "名字", now, **kwargs)  # type: ignore[arg-type]
    return access_token(grant, KEY, SECRET, now)


def verified(token: str) -> Claims:
    return TokenVerifier(KEY, SECRET, leeway=timedelta(0)).verify(token)


def raw(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=KEY)
    return claims


def test_the_teacher_publishes_camera_microphone_and_screen() -> None:
    token = token_of("teacher", "teacher:t1")
    claims = verified(token)
    video = claims.video
    assert video is not None
    assert (claims.identity, claims.name, claims.kind) == ("teacher:t1", "名字", "standard")
    assert claims.attributes == {ROLE_ATTRIBUTE: "teacher"}
    assert (video.room_join, video.room) == (True, ROOM)
    assert video.can_publish and video.can_subscribe
    assert video.can_publish_sources == [
        "camera",
        "microphone",
        "screen_share",
        "screen_share_audio",
    ]
    assert not video.hidden and not video.can_publish_data and not video.can_update_own_metadata
    # no admin power over rooms, ever, in a participant's token
    assert not (video.room_admin or video.room_create or video.room_list or video.room_record)
    assert not video.ingress_admin and not video.recorder


@pytest.mark.parametrize(
    ("kwargs", "sources"),
    [
        ({}, ["camera"]),  # following the lesson: camera only (its audience is enforced apart)
        ({"called_on": True}, ["camera", "microphone"]),
        ({"called_on": True, "speaking": False}, ["camera"]),  # called on, muted by the teacher
    ],
)
def test_a_receiving_classroom_has_its_microphone_only_while_it_may_speak(
    kwargs: dict[str, bool], sources: list[str]
) -> None:
    claims = verified(token_of("receiving_classroom", "classroom:r1", **kwargs))
    video = claims.video
    assert video is not None
    assert video.can_publish and video.can_subscribe and not video.hidden
    assert video.can_publish_sources == sources
    assert claims.attributes == {ROLE_ATTRIBUTE: "receiving_classroom"}


@pytest.mark.parametrize("role", ["inspector", "researcher", "observer", "recorder"])
def test_watchers_are_hidden_and_subscribe_only(role: str) -> None:
    token = token_of(role, f"{role}:9")
    video = verified(token).video
    assert video is not None
    assert video.hidden is True and video.can_subscribe is True
    assert video.can_publish is False and not video.can_publish_data
    # LiveKit reads a missing or empty source list as "every source": with canPublish
    # false nothing may be published, and the list is left out altogether.
    grants = raw(token)["video"]
    assert isinstance(grants, dict)
    assert "canPublishSources" not in grants and grants["canPublish"] is False


def test_the_token_lives_as_long_as_the_grant() -> None:
    now = datetime.now(UTC)
    grant = media_grant(ROOM, "teacher:t1", "teacher", "t", now, lifetime=timedelta(minutes=30))
    claims = raw(access_token(grant, KEY, SECRET, now))
    assert isinstance(claims["exp"], int) and isinstance(claims["nbf"], int)
    assert abs(claims["exp"] - claims["nbf"] - 30 * 60) <= 1
    assert claims["sub"] == "teacher:t1" and claims["iss"] == KEY
    with pytest.raises(ValueError, match="expired"):
        access_token(grant, KEY, SECRET, now + timedelta(hours=1))


def test_a_token_signed_with_another_secret_does_not_verify() -> None:
    token = token_of("teacher", "teacher:t1")
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(KEY, SECRET + "-other").verify(token)


def test_grants_and_permissions_name_the_same_sources() -> None:
    grant = media_grant(ROOM, "classroom:r1", "receiving_classroom", "r", datetime.now(UTC),
                        called_on=True)  # fmt: skip
    assert video_grants(grant).can_publish_sources == ["camera", "microphone"]
    granted = permission(grant.can_publish, can_subscribe=True, hidden=False)
    assert isinstance(granted, ParticipantPermission)
    assert list(granted.can_publish_sources) == [TrackSource.CAMERA, TrackSource.MICROPHONE]
    assert publishable(granted) == frozenset({"camera", "microphone"})
    silent = permission(frozenset(), can_subscribe=True, hidden=True)
    assert not silent.can_publish and list(silent.can_publish_sources) == [] and silent.hidden
    assert publishable(silent) == frozenset()
    # a permission without a source list lets its holder publish every source
    assert publishable(ParticipantPermission(can_publish=True)) == {
        "camera", "microphone", "screen", "screen_audio"
    }  # fmt: skip


def test_keys_are_never_taken_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    now = datetime.now(UTC)
    grant = media_grant(ROOM, "teacher:t1", "teacher", "t", now)
    with pytest.raises(ValueError, match="key and secret"):
        access_token(grant, "", "", now)
