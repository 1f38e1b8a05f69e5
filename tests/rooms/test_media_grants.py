"""Media grants per role: what each may publish, subscribe and whether it is seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.roles import Role
from media.errors import GrantInvalid
from media.grants import sign_grant, verify_grant
from rooms.media_grants import media_grant, while_called_on

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SECRET = "s" * 40


@pytest.mark.parametrize(
    ("role", "publish", "hidden"),
    [
        (Role.TEACHER, {"camera", "microphone", "screen", "screen_audio"}, False),
        (Role.RECEIVING_CLASSROOM, {"camera"}, False),
        (Role.INSPECTOR, set(), True),
        (Role.RESEARCHER, set(), True),
        ("recorder", set(), True),
    ],
)
def test_each_role_gets_its_grant(role: str, publish: set[str], hidden: bool) -> None:
    grant = media_grant("P1-3-20261123", "someone", role, "名字", NOW)
    assert grant.can_publish == publish and grant.hidden is hidden and grant.can_subscribe
    assert verify_grant(sign_grant(grant, SECRET, NOW), SECRET, NOW + timedelta(minutes=5)) == grant


def test_roles_without_media_get_none() -> None:
    with pytest.raises(KeyError):
        media_grant("r", "x", Role.ADMIN, "", NOW)


def test_a_classroom_speaks_only_while_called_on() -> None:
    grant = media_grant("r", "room-1", Role.RECEIVING_CLASSROOM, "", NOW)
    assert while_called_on(grant, True) == {"camera", "microphone"}
    assert while_called_on(grant, False) == {"camera"}
    called = media_grant("r", "room-1", Role.RECEIVING_CLASSROOM, "", NOW, called_on=True)
    assert called.can_publish == {"camera", "microphone"}
    teacher = media_grant("r", "t", Role.TEACHER, "", NOW)
    assert while_called_on(teacher, True) == teacher.can_publish


def test_a_classroom_camera_goes_to_the_teacher_and_watchers_until_called_on() -> None:
    grant = media_grant("r", "room-1", Role.RECEIVING_CLASSROOM, "", NOW)
    assert grant.shown_to(Role.TEACHER) and grant.shown_to(Role.INSPECTOR)
    assert grant.shown_to("recorder") and not grant.shown_to(Role.RECEIVING_CLASSROOM)
    assert verify_grant(sign_grant(grant, SECRET, NOW), SECRET, NOW).audience == grant.audience
    called = media_grant("r", "room-1", Role.RECEIVING_CLASSROOM, "", NOW, called_on=True)
    assert called.audience == frozenset() and called.shown_to(Role.RECEIVING_CLASSROOM)
    muted = media_grant("r", "room-1", Role.RECEIVING_CLASSROOM, "", NOW, called_on=True,
                        speaking=False)  # fmt: skip
    assert muted.can_publish == {"camera"} and muted.shown_to(Role.RECEIVING_CLASSROOM)
    assert media_grant("r", "t", Role.TEACHER, "", NOW).shown_to(Role.RECEIVING_CLASSROOM)


def test_grants_expire_and_are_bound_to_their_room() -> None:
    token = sign_grant(media_grant("r", "x", Role.TEACHER, "", NOW), SECRET, NOW)
    with pytest.raises(GrantInvalid) as expired:
        verify_grant(token, SECRET, NOW + timedelta(hours=3))
    assert expired.value.reason == "expired"
    with pytest.raises(GrantInvalid) as other:
        verify_grant(token, SECRET, NOW, room="r2")
    assert other.value.reason == "room"
    with pytest.raises(GrantInvalid) as forged:
        verify_grant(token, "t" * 40, NOW)
    assert forged.value.reason == "signature"
    with pytest.raises(ValueError):
        sign_grant(
            media_grant("r", "x", Role.TEACHER, "", NOW, lifetime=timedelta(hours=13)), SECRET, NOW
        )
