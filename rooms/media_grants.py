"""Which media grant each role gets in a live room (DESIGN.md §8, issue: live lessons).

The SFU enforces these per track. A receiving classroom publishes its camera to the
teacher (and to the hidden watchers), not to the other classrooms: pupils' faces are
minors' data. Called on, its audio and video go to every classroom; its microphone
is open only while it is called on (``while_called_on``). An inspector watches
hidden; a researcher watches live master lessons hidden; the recorder is a hidden
subscriber. Grants are short-lived: pages renew them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from identity.roles import Role
from media.grants import MediaGrant

LIFETIME = timedelta(hours=2)
RECORDER = "recorder"
#: Who receives a receiving classroom's camera while it is not called on.
CLASSROOM_AUDIENCE = frozenset({Role.TEACHER, Role.INSPECTOR, Role.RESEARCHER, RECORDER})


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
    "observer": RoleGrant(frozenset(), True, True),  # teachers at a master teacher's lesson
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
    speaking: bool | None = None,
    lifetime: timedelta = LIFETIME,
) -> MediaGrant:
    """The grant of ``role`` in ``room``; raises KeyError for a role with no media.

    ``called_on``: a receiving classroom's media go to everyone; ``speaking`` (by
    default the same): its microphone is open (not when the teacher muted all).
    """
    spec = GRANTS[role]
    publish = spec.can_publish
    if role == Role.RECEIVING_CLASSROOM and (called_on if speaking is None else speaking):
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
        audience=audience(role, called_on=called_on),
    )


def audience(role: str, *, called_on: bool) -> frozenset[str]:
    """Who may receive the media of a participant with ``role`` (empty: everyone)."""
    if role == Role.RECEIVING_CLASSROOM and not called_on:
        return frozenset(str(r) for r in CLASSROOM_AUDIENCE)
    return frozenset()


def while_called_on(grant: MediaGrant, called_on: bool) -> frozenset[str]:
    """What a receiving classroom may publish when the call on it starts or ends."""
    base = GRANTS[grant.role].can_publish if grant.role in GRANTS else frozenset()
    return base | {"microphone"} if called_on and grant.role == Role.RECEIVING_CLASSROOM else base
