"""Sanke media grants as LiveKit grants: ``VideoGrants`` in a participant's access token,
and the ``ParticipantPermission`` that changes them while it is in the room.

Each role publishes only the sources its grant names (``can_publish_sources``): the
teacher camera, microphone and screen; a receiving classroom its camera, and its
microphone only while its grant allows (called on, not muted by the teacher); hidden
watchers (inspector, researcher, observer, recorder) nothing, and nobody sees them.
Nobody publishes data or changes their own metadata: chat and controls go through
Sanke, and the role attribute a participant carries must stay the one Sanke gave it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from livekit.api import AccessToken, VideoGrants
from livekit.protocol.models import ParticipantPermission, TrackSource

from media.grants import MediaGrant

#: Sanke's source names → LiveKit's (the names ``can_publish_sources`` takes).
SOURCE_NAMES: dict[str, str] = {
    "camera": "camera",
    "microphone": "microphone",
    "screen": "screen_share",
    "screen_audio": "screen_share_audio",
}
#: Sanke's source names → LiveKit's ``TrackSource`` values (permissions, track infos).
TRACK_SOURCES: dict[str, TrackSource] = {
    "camera": TrackSource.CAMERA,
    "microphone": TrackSource.MICROPHONE,
    "screen": TrackSource.SCREEN_SHARE,
    "screen_audio": TrackSource.SCREEN_SHARE_AUDIO,
}
_SANKE_SOURCES = {value: name for name, value in TRACK_SOURCES.items()}
#: The participant attribute that carries the Sanke role (others' audiences use it).
ROLE_ATTRIBUTE = "sanke.role"


def sanke_source(source: TrackSource) -> str:
    """Sanke's name of a LiveKit track source (``unknown`` for one Sanke has no name for)."""
    return _SANKE_SOURCES.get(source, "unknown")


def _ordered(sources: Iterable[str]) -> list[str]:
    return [name for name in SOURCE_NAMES if name in set(sources)]


def video_grants(grant: MediaGrant) -> VideoGrants:
    """What ``grant`` allows, as the ``video`` claim of a LiveKit access token."""
    sources = _ordered(grant.can_publish)
    return VideoGrants(
        room_join=True,
        room=grant.room,
        can_publish=bool(sources),
        # An empty list would let a publisher publish every source: leave it out then.
        can_publish_sources=[SOURCE_NAMES[s] for s in sources] or None,
        can_subscribe=grant.can_subscribe,
        can_publish_data=False,
        can_update_own_metadata=False,
        hidden=grant.hidden or None,
    )


def access_token(grant: MediaGrant, api_key: str, api_secret: str, now: datetime) -> str:
    """A LiveKit access token for ``grant``, valid until the grant expires."""
    if not api_key or not api_secret:  # livekit-api would fall back to the environment
        raise ValueError("a LiveKit API key and secret are needed to sign a token")
    ttl = grant.expires_at - now
    if ttl <= timedelta(0):
        raise ValueError("the media grant has already expired")
    token = (
        AccessToken(api_key, api_secret)
        .with_identity(grant.identity)
        .with_name(grant.name)
        .with_kind("standard")
        .with_attributes({ROLE_ATTRIBUTE: grant.role})
        .with_grants(video_grants(grant))
        .with_ttl(ttl)
    )
    return token.to_jwt()


def permission(
    can_publish: Iterable[str], *, can_subscribe: bool, hidden: bool
) -> ParticipantPermission:
    """The permission of a participant in the room (``update_participant``): replaces the
    whole permission, so it is built from what the participant already had."""
    sources = _ordered(can_publish)
    return ParticipantPermission(
        can_subscribe=can_subscribe,
        can_publish=bool(sources),
        can_publish_data=False,
        can_publish_sources=[TRACK_SOURCES[s] for s in sources],
        hidden=hidden,
        can_update_metadata=False,
    )


def publishable(current: ParticipantPermission) -> frozenset[str]:
    """The Sanke sources a LiveKit permission lets its participant publish."""
    if not current.can_publish:
        return frozenset()
    if not current.can_publish_sources:  # LiveKit: no list means every source
        return frozenset(SOURCE_NAMES)
    return frozenset(sanke_source(s) for s in current.can_publish_sources) - {"unknown"}
