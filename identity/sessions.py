"""Sessions: opaque tokens for page cookies and API bearer use, with expiry rules.

The token is shown once; only its SHA-256 is stored, so a database leak yields no
usable session. Device accounts (receiving classrooms) stay signed in for a term;
people are signed out after a working day idle.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from identity.roles import Role


class SessionKind(StrEnum):
    PAGE = "page"  # cookie for the pages
    API = "api"  # bearer token for the API


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


PEOPLE = SessionPolicy(idle=timedelta(hours=8), absolute=timedelta(days=7))
DEVICE = SessionPolicy(idle=timedelta(days=30), absolute=timedelta(days=180))
API = SessionPolicy(idle=timedelta(hours=12), absolute=timedelta(hours=12))

#: How stale ``last_seen`` may get before a request refreshes it (saves writes).
TOUCH_EVERY = timedelta(minutes=1)


def policy_for(role: Role, kind: SessionKind) -> SessionPolicy:
    if kind is SessionKind.API:
        return API
    return DEVICE if role is Role.RECEIVING_CLASSROOM else PEOPLE


@dataclass(frozen=True)
class Session:
    id: int
    user_id: int
    kind: SessionKind
    created_at: datetime
    last_seen_at: datetime
    revoked: bool = False

    def expires_at(self, policy: SessionPolicy) -> datetime:
        return min(self.last_seen_at + policy.idle, self.created_at + policy.absolute)

    def alive(self, policy: SessionPolicy, now: datetime) -> bool:
        return not self.revoked and now < self.expires_at(policy)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
