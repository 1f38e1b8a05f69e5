"""A dated lesson as the live pages see it, and who may join it in which role."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from identity.authorize import Principal
from identity.roles import Role
from identity.scope import Scope, Target
from rooms.errors import LessonRefused
from rooms.lesson import (
    LessonMode,
    LessonView,
    ReceivingEnd,
    Seat,
    classroom_identity,
    lesson_view,
    seat,
    teacher_identity,
)
from scheduler.model import (
    Directory,
    ReceivingClass,
    Region,
    RegionLevel,
    School,
    SchoolKind,
    Teacher,
)
from scheduler.occurrence import CANCELLED, Occurrence
from scheduler.plan import Lesson

BEIJING = timezone(timedelta(hours=8))

COUNTY, OTHER_COUNTY = "341524", "341523"
TOWN_OUT, TOWN_R1, TOWN_R2 = "341524101", "341524102", "341523201"

DIRECTORY = Directory(
    regions=(
        Region(COUNTY, "金寨县", RegionLevel.COUNTY, "341500"),
        Region(OTHER_COUNTY, "霍邱县", RegionLevel.COUNTY, "341500"),
        Region(TOWN_OUT, "梅山镇", RegionLevel.TOWNSHIP, COUNTY),
        Region(TOWN_R1, "江店镇", RegionLevel.TOWNSHIP, COUNTY),
        Region(TOWN_R2, "城关镇", RegionLevel.TOWNSHIP, OTHER_COUNTY),
    ),
    schools=(
        School("s-out", "梅山中心校", SchoolKind.CENTRAL, TOWN_OUT, "day"),
        School("s-r1", "江店教学点", SchoolKind.TEACHING_POINT, TOWN_R1, "day"),
        School("s-r2", "城关教学点", SchoolKind.TEACHING_POINT, TOWN_R2, "day"),
    ),
    teachers=(
        Teacher("t1", "王老师", "s-out", ("英语",), (3,), 10),
        Teacher("t2", "李老师", "s-out", ("音乐",), (3,), 10, master=True),
    ),
    classes=(
        ReceivingClass("c1", "s-r1", "r1", 3, 12),
        ReceivingClass("c2", "s-r1", "r1", 3, 8),  # shares classroom r1 with c1
        ReceivingClass("c3", "s-r2", "r2", 3, 5),
    ),
)

DAY = date(2026, 11, 23)  # a Monday


def occurrence(
    teacher_id: str = "t1",
    class_ids: tuple[str, ...] = ("c1", "c3", "c2"),
    start: time = time(8, 0),
    end: time = time(8, 40),
    state: str = "scheduled",
) -> Occurrence:
    le = Lesson("L7", 1, 1, teacher_id, "out1", "英语", 3, class_ids)
    return Occurrence(Occurrence.key(3, "L7", DAY), 3, le, DAY, start, end, state)


DELIVERY = lesson_view(occurrence(), DIRECTORY, BEIJING)
MASTER = lesson_view(occurrence(teacher_id="t2"), DIRECTORY, BEIJING)


# --- lesson_view --------------------------------------------------------------------------


def test_the_view_names_the_lesson_and_its_output_end() -> None:
    v = DELIVERY
    assert v.id == "P3-L7-20261123" and v.day == "2026-11-23"
    assert (v.subject, v.grade) == ("英语", 3)
    assert (v.teacher_id, v.teacher_name, v.teacher_identity) == ("t1", "王老师", "teacher:t1")
    assert v.output_classroom_id == "out1"
    assert (v.output_school_id, v.output_school_name, v.output_region) == (
        "s-out",
        "梅山中心校",
        TOWN_OUT,
    )
    assert v.cancelled is False


def test_bells_in_beijing_time_become_utc() -> None:
    assert DELIVERY.starts_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert DELIVERY.ends_at == datetime(2026, 11, 23, 0, 40, tzinfo=UTC)
    assert DELIVERY.starts_at.utcoffset() == timedelta(0)


def test_an_early_bell_falls_on_the_previous_utc_day_but_keeps_its_beijing_day() -> None:
    v = lesson_view(occurrence(start=time(7, 30), end=time(8, 10)), DIRECTORY, BEIJING)
    assert v.starts_at == datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert v.ends_at == datetime(2026, 11, 23, 0, 10, tzinfo=UTC)
    assert v.day == "2026-11-23"


def test_receivers_are_grouped_by_classroom_with_their_pupils_summed() -> None:
    assert DELIVERY.receivers == (
        ReceivingEnd("r1", "s-r1", "江店教学点", TOWN_R1, ("c1", "c2"), 20),
        ReceivingEnd("r2", "s-r2", "城关教学点", TOWN_R2, ("c3",), 5),
    )
    assert [r.identity for r in DELIVERY.receivers] == ["classroom:r1", "classroom:r2"]


def test_classes_no_longer_in_the_directory_are_left_out() -> None:
    v = lesson_view(occurrence(class_ids=("gone", "c3")), DIRECTORY, BEIJING)
    assert [(r.classroom_id, r.class_ids, r.pupils) for r in v.receivers] == [("r2", ("c3",), 5)]


def test_the_mode_is_master_iff_the_teacher_is_a_master() -> None:
    assert DELIVERY.mode is LessonMode.DELIVERY
    assert MASTER.mode is LessonMode.MASTER and MASTER.teacher_name == "李老师"


def test_a_famous_schools_lesson_is_open_to_a_wide_audience() -> None:
    famous = replace(
        DIRECTORY,
        schools=(
            *DIRECTORY.schools,
            School("s-famous", "城南名校", SchoolKind.FAMOUS, TOWN_OUT, "day"),
        ),
        teachers=(*DIRECTORY.teachers, Teacher("t3", "赵老师", "s-famous", ("科学",), (3,), 10)),
    )
    view = lesson_view(occurrence(teacher_id="t3"), famous, BEIJING)
    assert view.mode is LessonMode.OPEN
    other_teacher = principal(Role.TEACHER, school="s-out")
    assert seat(other_teacher, view, teacher_id="t1").role == "observer"
    assert seat(principal(Role.RESEARCHER, region=COUNTY), view).role == Role.RESEARCHER


def test_a_teacher_gone_from_the_directory_gives_a_delivery_view_named_by_id() -> None:
    v = lesson_view(occurrence(teacher_id="t9"), DIRECTORY, BEIJING)
    assert v.mode is LessonMode.DELIVERY and v.teacher_name == "t9"
    assert (v.output_school_id, v.output_region) == ("", "")
    assert len(v.receivers) == 2


def test_a_cancelled_occurrence_gives_a_cancelled_view() -> None:
    assert lesson_view(occurrence(state=CANCELLED), DIRECTORY, BEIJING).cancelled is True


def test_the_target_is_every_school_and_region_involved() -> None:
    assert DELIVERY.target() == Target(
        frozenset({TOWN_OUT, TOWN_R1, TOWN_R2}), frozenset({"s-out", "s-r1", "s-r2"})
    )


def test_receivers_and_names_are_found_by_classroom_and_identity() -> None:
    r1 = DELIVERY.receiver("r1")
    assert r1 is not None and r1.school_id == "s-r1"
    assert DELIVERY.receiver("out1") is None and DELIVERY.receiver("") is None
    assert DELIVERY.name_of("teacher:t1") == "王老师"
    assert DELIVERY.name_of("classroom:r2") == "城关教学点"
    assert DELIVERY.name_of("inspector:5") == "inspector:5"
    assert teacher_identity("t1") == "teacher:t1" and classroom_identity("r1") == "classroom:r1"


# --- seat ----------------------------------------------------------------------------------


def principal(role: Role, *, region: str | None = None, school: str | None = None) -> Principal:
    return Principal(42, f"{role}-user", role, Scope(region=region, school=school))


def refusal(p: Principal | None, view: LessonView = DELIVERY, **kwargs: str | None) -> str:
    with pytest.raises(LessonRefused) as error:
        seat(p, view, **kwargs)
    return error.value.code


def test_nobody_signed_in_must_log_in() -> None:
    assert refusal(None) == "login"


def test_a_teacher_takes_the_teachers_seat_of_their_own_lesson() -> None:
    p = principal(Role.TEACHER, school="s-out")
    assert seat(p, DELIVERY, teacher_id="t1") == Seat(Role.TEACHER, "teacher:t1", "王老师")
    assert seat(p, MASTER, teacher_id="t2") == Seat(Role.TEACHER, "teacher:t2", "李老师")


@pytest.mark.parametrize("teacher_id", ["t2", None, ""])
def test_a_teacher_may_not_take_another_teachers_lesson(teacher_id: str | None) -> None:
    p = principal(Role.TEACHER, school="s-out")
    assert refusal(p, teacher_id=teacher_id) == "not_your_lesson"


def test_other_teachers_observe_a_master_lesson_hidden() -> None:
    p = principal(Role.TEACHER, school="s-out")
    observer = seat(p, MASTER, teacher_id="t1")
    assert observer.role == "observer" and observer.identity == f"observer:{p.user_id}"
    assert refusal(p, DELIVERY, teacher_id="t2") == "not_your_lesson"


def test_a_teacher_id_passed_as_a_classroom_does_not_help() -> None:
    p = principal(Role.TEACHER, school="s-out")
    assert refusal(p, classroom_id="r1") == "not_your_lesson"


def test_a_device_account_takes_its_classrooms_receiving_seat() -> None:
    p = principal(Role.RECEIVING_CLASSROOM, school="s-r1")
    assert seat(p, DELIVERY, classroom_id="r1") == Seat(
        Role.RECEIVING_CLASSROOM, "classroom:r1", "江店教学点"
    )
    other = principal(Role.RECEIVING_CLASSROOM, school="s-r2")
    assert seat(other, DELIVERY, classroom_id="r2").identity == "classroom:r2"


@pytest.mark.parametrize(
    ("school", "classroom_id"),
    [
        ("s-r2", "r1"),  # another school's classroom in the lesson
        ("s-r1", "r2"),  # the same, the other way round
        ("s-r1", "r9"),  # a classroom not in the lesson
        ("s-out", "out1"),  # the output classroom is not a receiving end
        ("s-r1", None),
        ("s-r1", ""),
    ],
)
def test_a_device_account_may_not_take_a_classroom_not_its_own(
    school: str, classroom_id: str | None
) -> None:
    p = principal(Role.RECEIVING_CLASSROOM, school=school)
    assert refusal(p, classroom_id=classroom_id) == "not_your_classroom"


def test_a_device_account_cannot_claim_a_teacher() -> None:
    p = principal(Role.RECEIVING_CLASSROOM, school="s-r1")
    assert refusal(p, teacher_id="t1") == "not_your_classroom"


@pytest.mark.parametrize(
    "region",
    [
        "340000",  # the province
        "341500",  # the city
        COUNTY,  # the output school's county
        OTHER_COUNTY,  # a receiving school's county: any involved region counts
        TOWN_R1,  # a receiving school's township
    ],
)
def test_an_inspector_in_region_watches_hidden(region: str) -> None:
    p = principal(Role.INSPECTOR, region=region)
    for view in (DELIVERY, MASTER):
        assert seat(p, view) == Seat(Role.INSPECTOR, "inspector:42", "inspector-user")


@pytest.mark.parametrize("region", ["350000", "341600", "341522", "341524103"])
def test_an_inspector_of_another_region_is_refused(region: str) -> None:
    assert refusal(principal(Role.INSPECTOR, region=region)) == "other_region"


def test_a_researcher_watches_master_lessons_only() -> None:
    p = principal(Role.RESEARCHER, region=COUNTY)
    assert refusal(p, DELIVERY) == "not_master"
    assert seat(p, MASTER) == Seat(Role.RESEARCHER, "researcher:42", "researcher-user")


def test_a_researcher_of_another_region_is_refused_before_the_mode_is_checked() -> None:
    p = principal(Role.RESEARCHER, region="350000")
    assert refusal(p, MASTER) == "other_region"
    assert refusal(p, DELIVERY) == "other_region"


def test_an_admin_in_region_patrols_hidden_like_an_inspector() -> None:
    assert seat(principal(Role.ADMIN, region=COUNTY), DELIVERY) == Seat(
        Role.INSPECTOR, "inspector:42", "admin-user"
    )
    assert refusal(principal(Role.ADMIN, region="350000")) == "other_region"


@pytest.mark.parametrize("school", ["s-out", "s-r1", "s-other"])
def test_a_school_admin_has_no_seat_even_in_its_own_school(school: str) -> None:
    assert refusal(principal(Role.SCHOOL_ADMIN, school=school)) == "role"


def test_the_region_check_follows_the_receiving_schools() -> None:
    only_r1 = replace(DELIVERY, receivers=DELIVERY.receivers[:1])
    p = principal(Role.INSPECTOR, region=OTHER_COUNTY)
    assert seat(p, DELIVERY).role is Role.INSPECTOR
    assert refusal(p, only_r1) == "other_region"  # r2's county no longer involved
