"""Presence and attendance: who joined a lesson, when, for how long; who is missing.

Pure: fed with joins and leaves (from the SFU's ``media.joined``/``media.left``) and
the time. A receiving classroom that has not joined ``grace`` after the bell raises
an alert; the alert clears when it comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rooms.events import AttendanceAlert

GRACE = timedelta(minutes=2)


@dataclass
class Stay:
    identity: str
    first_joined: datetime
    joined_at: datetime | None  # None while away
    present_seconds: float = 0.0
    joins: int = 1

    def seconds(self, now: datetime) -> float:
        current = (now - self.joined_at).total_seconds() if self.joined_at else 0.0
        return self.present_seconds + max(0.0, current)


@dataclass
class Attendance:
    """One lesson's attendance; ``expected`` are the receiving classrooms' identities."""

    lesson: str
    starts_at: datetime
    expected: tuple[str, ...]
    grace: timedelta = GRACE
    stays: dict[str, Stay] = field(default_factory=dict)
    alerted: set[str] = field(default_factory=set)

    def joined(self, identity: str, now: datetime) -> list[AttendanceAlert]:
        stay = self.stays.get(identity)
        if stay is None:
            self.stays[identity] = Stay(identity, now, now)
        elif stay.joined_at is None:
            stay.joined_at = now
            stay.joins += 1
        if identity in self.alerted:
            self.alerted.discard(identity)
            return [AttendanceAlert(at=now, lesson=self.lesson, identity=identity, active=False)]
        return []

    def left(self, identity: str, now: datetime) -> None:
        stay = self.stays.get(identity)
        if stay is not None and stay.joined_at is not None:
            stay.present_seconds += max(0.0, (now - stay.joined_at).total_seconds())
            stay.joined_at = None

    def present(self) -> list[str]:
        return [s.identity for s in self.stays.values() if s.joined_at is not None]

    def missing(self) -> list[str]:
        """Expected classrooms that have never joined."""
        return [i for i in self.expected if i not in self.stays]

    def check(self, now: datetime) -> list[AttendanceAlert]:
        """Alerts for the classrooms still missing ``grace`` after the bell."""
        if now < self.starts_at + self.grace:
            return []
        due = [i for i in self.missing() if i not in self.alerted]
        self.alerted.update(due)
        return [AttendanceAlert(at=now, lesson=self.lesson, identity=i, active=True) for i in due]

    def join_delay(self, identity: str) -> float | None:
        """Seconds after the bell a classroom first joined (negative if early)."""
        stay = self.stays.get(identity)
        return None if stay is None else (stay.first_joined - self.starts_at).total_seconds()

    def summary(self, now: datetime) -> list[dict[str, object]]:
        return [
            {
                "identity": s.identity,
                "first_joined": s.first_joined.isoformat(),
                "present": s.joined_at is not None,
                "minutes": round(s.seconds(now) / 60, 1),
                "joins": s.joins,
                "join_delay_s": self.join_delay(s.identity),
            }
            for s in self.stays.values()
        ]
