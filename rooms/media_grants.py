"""Which media grant each role gets in a live room (DESIGN.md §8, issue: live lessons).

The SFU enforces these per track. A receiving classroom publishes its camera to the
teacher but its microphone only while it is called on (``while_called_on``); an
inspector watches hidden; a researcher watches live master lessons hidden; the
recorder is a hidden subscriber. Grants are short-lived: pages renew them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from identity.roles import Role
from media.grants import MediaGrant

LIFETIME = timedelta(hours=2)
RECORDER = "recorder"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    can_publish: frozenset[str]
    can_subscribe: bool
    hidden: bool


GRANTS: dict[str, RoleGrant] = {
    Role.TEACHER: RoleGrant(
        frozenset({"camera", "microphone", "screen", "screen_audio"}), True, False
    ),
    Role.RECEIVING_CLASSROOM: RoleGrant(frozenset({"camera"}), True, False),
    Role.INSPECTOR: RoleGrant(frozenset(), True, True),
    Role.RESEARCHER: RoleGrant(frozenset(), True, True),
    RECORDER: RoleGrant(frozenset(), True, True),
}


def media_grant(
    room: str,
    identity: str,
    role: str,
    name: str,
    now: datetime,
    *,
    called_on: bool = False,
    lifetime: timedelta = LIFETIME,
) -> MediaGrant:
    """The grant of ``role`` in ``room``; raises KeyError for a role with no media."""
    spec = GRANTS[role]
    publish = spec.can_publish
    if role == Role.RECEIVING_CLASSROOM and called_on:
        publish = publish | {"microphone"}
    return MediaGrant(
        room=room,
        identity=identity,
        role=str(role),
        can_publish=publish,
        can_subscribe=spec.can_subscribe,
        hidden=spec.hidden,
        expires_at=now + lifetime,
        name=name,
    )


def while_called_on(grant: MediaGrant, called_on: bool) -> frozenset[str]:
    """What a receiving classroom may publish when the call on it starts or ends."""
    base = GRANTS[grant.role].can_publish if grant.role in GRANTS else frozenset()
    return base | {"microphone"} if called_on and grant.role == Role.RECEIVING_CLASSROOM else base
