"""Media grants: short-lived signed tokens that let one identity into one room.

``rooms/`` issues them per role (DESIGN.md §8); the SFU verifies them on join and
enforces them per track: what a participant may publish (by source), whether it may
subscribe, whether others see it (an inspector is hidden), and who may receive its
media (``audience``: the roles that may; empty means everyone in the room).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import jwt

from media.errors import GrantInvalid

SOURCES = frozenset({"camera", "microphone", "screen", "screen_audio"})
AUDIENCE = "sanke-media"
MAX_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class MediaGrant:
    room: str
    identity: str
    role: str
    can_publish: frozenset[str]  # sources
    can_subscribe: bool
    hidden: bool
    expires_at: datetime
    name: str = ""
    audience: frozenset[str] = frozenset()  # roles that may receive its media; empty: all

    def shown_to(self, role: str) -> bool:
        return not self.audience or role in self.audience

    def __post_init__(self) -> None:
        unknown = set(self.can_publish) - SOURCES
        if unknown:
            raise ValueError(f"unknown media sources {sorted(unknown)}")
        if not self.room or not self.identity:
            raise ValueError("a media grant needs a room and an identity")

    def allows_publish(self, source: str) -> bool:
        return source in self.can_publish

    def with_publish(
        self, sources: frozenset[str], audience: frozenset[str] | None = None
    ) -> MediaGrant:
        return replace(
            self, can_publish=sources, audience=self.audience if audience is None else audience
        )


def sign_grant(grant: MediaGrant, secret: str, now: datetime) -> str:
    if grant.expires_at - now > MAX_LIFETIME:
        raise ValueError("media grants live at most 12 hours")
    claims = {
        "aud": AUDIENCE,
        "sub": grant.identity,
        "room": grant.room,
        "role": grant.role,
        "name": grant.name,
        "pub": sorted(grant.can_publish),
        "sub_ok": grant.can_subscribe,
        "hidden": grant.hidden,
        "to": sorted(grant.audience),
        "iat": int(now.timestamp()),
        "exp": int(grant.expires_at.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_grant(token: str, secret: str, now: datetime, room: str | None = None) -> MediaGrant:
    """The grant in ``token``; raises :class:`GrantInvalid` with a reason."""
    if not isinstance(token, str) or len(token) > 4096:
        raise GrantInvalid("malformed", "the media token is missing or too long")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub"]},
        )
    except jwt.InvalidSignatureError as exc:
        raise GrantInvalid("signature", "the media token is not signed by this server") from exc
    except jwt.PyJWTError as exc:
        raise GrantInvalid("malformed", f"the media token cannot be read: {exc}") from exc
    try:
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        grant = MediaGrant(
            room=str(claims["room"]),
            identity=str(claims["sub"]),
            role=str(claims.get("role", "")),
            can_publish=frozenset(str(s) for s in claims.get("pub", [])),
            can_subscribe=bool(claims.get("sub_ok", False)),
            hidden=bool(claims.get("hidden", False)),
            expires_at=expires_at,
            name=str(claims.get("name", "")),
            audience=frozenset(str(r) for r in claims.get("to", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GrantInvalid("malformed", f"the media token's claims are invalid: {exc}") from exc
    if expires_at <= now:
        raise GrantInvalid("expired", "the media token has expired; ask for a new one")
    if room is not None and grant.room != room:
        raise GrantInvalid("room", "the media token is for another room")
    return grant
