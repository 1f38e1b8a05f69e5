"""Audit entries: who did what, when, to what, with what outcome.

Written for every login attempt and every administrative change (等保: security
audit). Entries are only ever appended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"  # refused by rights or throttling
    FAILURE = "failure"  # wrong credentials or invalid input


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str  # e.g. "login", "user.create", "totp.enable"
    outcome: Outcome
    target: str
    actor_id: int | None = None
    actor: str | None = None  # username, or "cli" / "system"
    region: str | None = None  # where the target lives, for scoped reading
    address: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
