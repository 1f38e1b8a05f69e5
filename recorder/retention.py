"""How long recordings are kept, and which are due for deletion (pure: no I/O, the time
is an argument).

A recording is kept for the days its lesson's mode is given (``delivery`` 专递课堂,
``master`` 名师课堂, ``open`` 名校网络课堂, the values of ``rooms.lesson.LessonMode``),
counted from the end of the lesson; an exemplary one (a lesson the school keeps as a
model) for ``exemplary_days`` if that is longer, or for ever if it is ``None``. No
policy keeps a recording fewer than ``min_days``. A recording that a review session or a
clip still refers to is *held*: never due, whatever its age.

A policy document, as an administrator writes it (every key optional)::

    {"days": {"delivery": 180, "master": 365, "open": 365},
     "exemplary_days": null, "min_days": 30}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MODES = ("delivery", "master", "open")
DOCUMENT_KEYS = ("days", "exemplary_days", "min_days")


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep a recording, by the mode of its lesson; ``ValueError`` for a policy
    that would delete anything younger than ``min_days``."""

    delivery_days: int = 180
    master_days: int = 365
    open_days: int = 365
    exemplary_days: int | None = None  # None: exemplary recordings are kept for ever
    min_days: int = 30

    def __post_init__(self) -> None:
        _whole("min_days", self.min_days)
        for mode in MODES:
            self._at_least_min(f"{mode}_days", self.days(mode))
        if self.exemplary_days is not None:
            self._at_least_min("exemplary_days", self.exemplary_days)

    def days(self, mode: str) -> int:
        """The days a recording of ``mode`` is kept; ``ValueError`` for an unknown mode."""
        if mode not in MODES:
            raise ValueError(f"unknown lesson mode {mode!r}: expected one of {', '.join(MODES)}")
        days: int = getattr(self, f"{mode}_days")
        return days

    def _at_least_min(self, name: str, days: int) -> None:
        _whole(name, days)
        if days < self.min_days:
            raise ValueError(
                f"{name} is {days}, but no recording may be deleted before it is "
                f"min_days = {self.min_days} days old"
            )


@dataclass(frozen=True)
class RecordingFacts:
    """What retention needs to know of one recording."""

    recording: str
    mode: str  # the lesson's mode, one of MODES
    ended_at: datetime  # aware
    exemplary: bool
    held: bool  # a review session or a clip still refers to it


@dataclass(frozen=True)
class Due:
    """A recording that the policy no longer keeps: why, and until when it was kept."""

    recording: str
    reason: str
    kept_until: datetime


def parse_policy(doc: Mapping[str, Any]) -> RetentionPolicy:
    """The policy a document describes (see the module's docstring); missing keys take
    the defaults. ``ValueError`` naming the first thing wrong."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"a retention policy is an object, not {type(doc).__name__}")
    unknown = sorted(set(doc) - set(DOCUMENT_KEYS))
    if unknown:
        raise ValueError(
            f"unknown key {unknown[0]!r} in the retention policy: "
            f"expected {', '.join(DOCUMENT_KEYS)}"
        )
    options: dict[str, Any] = {}
    days = doc.get("days", {})
    if not isinstance(days, Mapping):
        raise ValueError(f"'days' is an object of days by lesson mode, not {days!r}")
    for mode, value in days.items():
        if mode not in MODES:
            raise ValueError(
                f"unknown lesson mode {mode!r} in 'days': expected one of {', '.join(MODES)}"
            )
        options[f"{mode}_days"] = _whole(f"days.{mode}", value)
    if "exemplary_days" in doc:
        value = doc["exemplary_days"]
        options["exemplary_days"] = None if value is None else _whole("exemplary_days", value)
    if "min_days" in doc:
        options["min_days"] = _whole("min_days", doc["min_days"])
    return RetentionPolicy(**options)


def kept_until(facts: RecordingFacts, policy: RetentionPolicy) -> datetime | None:
    """The last moment ``facts``'s recording is kept, ``None`` if for ever (held, or
    exemplary under a policy that keeps those for ever)."""
    days = _days(facts, policy)
    return None if days is None else facts.ended_at + timedelta(days=days)


def due(recordings: Iterable[RecordingFacts], policy: RetentionPolicy, now: datetime) -> list[Due]:
    """The recordings that are past what ``policy`` keeps at ``now``, oldest lesson first.

    "Older than N days" is strict: a recording that ended exactly N days before ``now``
    is still kept. A recording of an unknown mode raises ``ValueError``.
    """
    found: list[tuple[datetime, str, Due]] = []
    for facts in recordings:
        days = _days(facts, policy)
        if days is None:
            continue
        until = facts.ended_at + timedelta(days=days)
        if now > until:
            kind = f"exemplary {facts.mode}" if facts.exemplary else facts.mode
            reason = f"{kind} lesson older than {days} days"
            found.append((facts.ended_at, facts.recording, Due(facts.recording, reason, until)))
    found.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in found]


def _days(facts: RecordingFacts, policy: RetentionPolicy) -> int | None:
    days = policy.days(facts.mode)
    if facts.held:
        return None
    if facts.exemplary:
        if policy.exemplary_days is None:
            return None
        days = max(days, policy.exemplary_days)
    return max(days, policy.min_days)


def _whole(name: str, value: object) -> int:
    """``value`` if it is a whole number of days (``0`` or more), else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number of days, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value}")
    return value
