"""A dated lesson as the live pages see it, and who may join it in which role.

The SFU room id is the dated lesson's id; identities in the room are
``teacher:<teacher id>``, ``classroom:<receiving classroom id>`` and
``<role>:<user id>`` for the hidden watchers (inspectors, researchers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum

from identity.authorize import Principal, authorize
from identity.roles import Action, Role
from identity.scope import Target
from rooms.errors import LessonRefused
from scheduler.model import Directory, SchoolKind
from scheduler.occurrence import CANCELLED, Occurrence

OBSERVER = "observer"  # a teacher watching a master teacher's lesson


class LessonMode(StrEnum):
    DELIVERY = "delivery"  # 专递课堂: one output, its receiving classrooms
    MASTER = "master"  # 名师课堂: teacher audiences may observe
    OPEN = "open"  # 名校网络课堂: a large audience watches


#: Modes whose live lessons teachers and researchers may watch (as a hidden audience).
AUDIENCE_MODES = frozenset({LessonMode.MASTER, LessonMode.OPEN})


@dataclass(frozen=True)
class ReceivingEnd:
    classroom_id: str
    school_id: str
    school_name: str
    region: str
    class_ids: tuple[str, ...]
    pupils: int

    @property
    def identity(self) -> str:
        return classroom_identity(self.classroom_id)


@dataclass(frozen=True)
class LessonView:
    id: str
    day: str  # ISO date, Beijing
    starts_at: datetime  # UTC
    ends_at: datetime
    subject: str
    grade: int
    mode: LessonMode
    teacher_id: str
    teacher_name: str
    output_classroom_id: str
    output_school_id: str
    output_school_name: str
    output_region: str
    receivers: tuple[ReceivingEnd, ...]
    cancelled: bool = False

    @property
    def teacher_identity(self) -> str:
        return teacher_identity(self.teacher_id)

    def target(self) -> Target:
        """The schools and regions the lesson involves (rights are checked on these)."""
        return Target(
            frozenset({self.output_region, *(r.region for r in self.receivers)}),
            frozenset({self.output_school_id, *(r.school_id for r in self.receivers)}),
        )

    def receiver(self, classroom_id: str) -> ReceivingEnd | None:
        return next((r for r in self.receivers if r.classroom_id == classroom_id), None)

    def name_of(self, identity: str) -> str:
        if identity == self.teacher_identity:
            return self.teacher_name
        for r in self.receivers:
            if r.identity == identity:
                return r.school_name
        return identity


def teacher_identity(teacher_id: str) -> str:
    return f"teacher:{teacher_id}"


def classroom_identity(classroom_id: str) -> str:
    return f"classroom:{classroom_id}"


def lesson_view(o: Occurrence, directory: Directory, zone: tzinfo) -> LessonView:
    """``o`` with the names and places it involves; ``zone`` is the bells' time zone."""
    le = o.lesson
    teacher = next((t for t in directory.teachers if t.id == le.teacher_id), None)
    classes = {c.id: c for c in directory.classes}
    schools = {s.id: s for s in directory.schools}
    by_room: dict[str, list[str]] = {}
    for class_id in le.class_ids:
        cls = classes.get(class_id)
        if cls is not None:
            by_room.setdefault(cls.classroom_id, []).append(class_id)
    receivers = []
    for room_id, class_ids in by_room.items():
        school = schools.get(classes[class_ids[0]].school_id)
        receivers.append(
            ReceivingEnd(
                room_id, school.id if school else "", school.name if school else room_id,
                school.region if school else "", tuple(class_ids),
                sum(classes[c].pupils for c in class_ids),
            )
        )  # fmt: skip
    output_school = schools.get(teacher.school_id) if teacher else None
    if output_school is not None and output_school.kind is SchoolKind.FAMOUS:
        mode = LessonMode.OPEN  # 名校网络课堂: a famous school opens its lesson
    elif teacher is not None and teacher.master:
        mode = LessonMode.MASTER
    else:
        mode = LessonMode.DELIVERY
    return LessonView(
        id=o.id,
        day=o.day.isoformat(),
        starts_at=datetime.combine(o.day, o.start, zone).astimezone(UTC),
        ends_at=datetime.combine(o.day, o.end, zone).astimezone(UTC),
        subject=le.subject,
        grade=le.grade,
        mode=mode,
        teacher_id=le.teacher_id,
        teacher_name=teacher.name if teacher else le.teacher_id,
        output_classroom_id=le.output_classroom_id,
        output_school_id=output_school.id if output_school else "",
        output_school_name=output_school.name if output_school else "",
        output_region=output_school.region if output_school else "",
        receivers=tuple(receivers),
        cancelled=o.state == CANCELLED,
    )


@dataclass(frozen=True)
class Seat:
    """How one user takes part in one lesson."""

    role: str  # a media role: teacher, receiving_classroom, inspector, researcher
    identity: str
    name: str


def seat(
    principal: Principal | None,
    view: LessonView,
    *,
    teacher_id: str | None = None,
    classroom_id: str | None = None,
) -> Seat:
    """The seat ``principal`` takes in ``view``, or ``LessonRefused`` saying why not.

    ``teacher_id`` is the teacher a teacher account stands for; ``classroom_id`` the
    classroom a device account is receiving for.
    """
    if principal is None:
        raise LessonRefused("login", "sign in first")
    target = view.target()
    if principal.role is Role.TEACHER:
        authorize(principal, Action.LESSON_TEACH, None).enforce()
        if teacher_id == view.teacher_id:
            return Seat(Role.TEACHER, view.teacher_identity, view.teacher_name)
        if view.mode in AUDIENCE_MODES:  # 名师/名校课堂: other teachers watch, hidden
            return Seat(OBSERVER, f"observer:{principal.user_id}", principal.username)
        raise LessonRefused("not_your_lesson", "this lesson is taught by another teacher")
    if principal.role is Role.RECEIVING_CLASSROOM:
        receiver = view.receiver(classroom_id or "")
        if receiver is None or principal.scope.school != receiver.school_id:
            raise LessonRefused("not_your_classroom", "this classroom does not follow this lesson")
        return Seat(Role.RECEIVING_CLASSROOM, receiver.identity, receiver.school_name)
    if not authorize(principal, Action.LESSON_WATCH, None).allowed:
        raise LessonRefused("role", "your role does not take part in live lessons")
    if not authorize(principal, Action.LESSON_WATCH, target).allowed:
        raise LessonRefused("other_region", "this lesson is outside your region")
    if principal.role is Role.RESEARCHER:
        if view.mode not in AUDIENCE_MODES:
            raise LessonRefused("not_master", "researchers watch live master lessons only")
        return Seat(Role.RESEARCHER, f"researcher:{principal.user_id}", principal.username)
    # inspectors, and admins patrolling their region, watch hidden
    return Seat(Role.INSPECTOR, f"inspector:{principal.user_id}", principal.username)
