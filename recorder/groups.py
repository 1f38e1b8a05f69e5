"""Research groups (网络研修共同体) and their review sessions (评课活动), as read from
the store; and the rules for making them. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from recorder.review import MAX_TITLE, check_text
from recorder.review_errors import ReviewInvalid

MAX_SESSION_RECORDINGS = 50


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    lead: bool


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    region: str
    members: tuple[Member, ...] = ()
    recordings: tuple[str, ...] = ()

    def member(self, user_id: int) -> Member | None:
        return next((m for m in self.members if m.user_id == user_id), None)


@dataclass(frozen=True)
class Session:
    id: int
    group_id: int
    title: str
    deadline: datetime
    recordings: tuple[str, ...]
    created_at: datetime

    def open_at(self, now: datetime) -> bool:
        return now <= self.deadline


@dataclass(frozen=True)
class Clip:
    id: int
    recording: str
    author_id: int
    author: str
    title: str
    start: float
    end: float
    group_id: int | None
    created_at: datetime


def check_session(
    title: str, deadline: datetime, recordings: list[str], now: datetime
) -> tuple[str, tuple[str, ...]]:
    """A session's title (stripped) and recordings (in order, without repeats), or
    ``ReviewInvalid``."""
    title = check_text(title, "title", MAX_TITLE)
    if deadline <= now:
        raise ReviewInvalid("deadline", "must be in the future")
    unique = tuple(dict.fromkeys(recordings))
    if not unique:
        raise ReviewInvalid("recordings", "a review session needs at least one recording")
    if len(unique) > MAX_SESSION_RECORDINGS:
        raise ReviewInvalid("recordings", f"at most {MAX_SESSION_RECORDINGS} recordings")
    return title, unique


def check_clip(title: str, start: float, end: float, duration: float | None) -> str:
    """A clip's title (stripped), or ``ReviewInvalid`` for a bad range."""
    title = check_text(title, "title", MAX_TITLE)
    if not start >= 0:
        raise ReviewInvalid("start", "must be ≥ 0 seconds")
    if not end > start:
        raise ReviewInvalid("end", "must be later than the start")
    if duration is not None and start >= duration:
        raise ReviewInvalid("start", f"is past the recording's end ({duration:.0f} s)")
    return title
