"""The FET input built from a timetable (no binary needed), reading FET's output, and one
real ``fet-cl`` run (skipped without it, failed instead with SANKE_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler.fet import NAME, build, document, outcome, run_fet
from scheduler.instance import Instance
from scheduler.model import (
    Busy,
    Classroom,
    ClassroomRole,
    Directory,
    ReceivingClass,
    School,
    SchoolKind,
    Teacher,
)
from scheduler.plan import Lesson, Timetable
from scheduler.rules import violations
from scheduler.solver import solve
from tests.conftest import services_required
from tests.scheduler.builders import TOWN_A, bells, tiny, with_busy

EARLY = [(7, 0), (8, 0), (9, 0), (10, 0)]  # local period n + 1 overlaps output period n


def lesson(n: int, teacher: str, *classes: str, room: str = "cs-out1") -> Lesson:
    return Lesson(f"L{n}", 1, 1, teacher, room, "英语", 3, classes)


def plan(*lessons: Lesson) -> Timetable:
    return Timetable("FEASIBLE", lessons, (), 0.0, 0.0, 0.0)


def not_available(root: ET.Element, tag: str, owner_tag: str, owner: str) -> set[tuple[str, int]]:
    for rule in root.iter(tag):
        if rule.findtext(owner_tag) == owner:
            slots = rule.findall("Not_Available_Time")
            assert rule.findtext("Number_of_Not_Available_Times") == str(len(slots))
            return {(s.findtext("Day") or "", int(s.findtext("Hour") or 0)) for s in slots}
    return set()


def test_one_activity_per_lesson_with_its_teacher_subject_and_classes() -> None:
    directory = tiny(points=3, teachers=2)
    timetable = plan(lesson(1, "t0", "tp0-c", "tp1-c"), lesson(2, "t1", "tp2-c"))
    root = build(Instance(directory), timetable)
    activities = root.findall("Activities_List/Activity")
    assert [a.findtext("Id") for a in activities] == ["1", "2"]
    assert [a.findtext("Teacher") for a in activities] == ["t0", "t1"]
    assert [[s.text for s in a.findall("Students")] for a in activities] == [
        ["tp0-c", "tp1-c"],
        ["tp2-c"],
    ]
    assert {a.findtext("Subject") for a in activities} == {"英语"}
    assert {a.findtext("Duration") for a in activities} == {"1"}
    assert [t.text for t in root.findall("Teachers_List/Teacher/Name")] == ["t0", "t1"]
    assert root.findtext("Days_List/Number_of_Days") == "5"
    assert root.findtext("Hours_List/Number_of_Hours") == "4"
    groups = {g.findtext("Name") or "": g for g in root.iter("Group")}
    assert sorted(groups) == ["tp0-c", "tp1-c", "tp2-c"]
    assert [s.findtext("Name") for s in groups["tp0-c"].iter("Subgroup")] == [
        "tp0-c.own",
        "tp0-r.room",
    ]


def test_output_rooms_are_rooms_and_each_activity_keeps_to_its_school() -> None:
    directory = tiny(points=1)
    rooms = directory.classrooms + (Classroom("cs-out2", "cs", ClassroomRole.OUTPUT, 1, 1),)
    root = build(Instance(replace(directory, classrooms=rooms)), plan(lesson(1, "t0", "tp0-c")))
    assert [r.findtext("Name") for r in root.iter("Room")] == ["cs-out1", "cs-out2"]
    (rule,) = root.iter("ConstraintActivityPreferredRooms")
    assert rule.findtext("Activity_Id") == "1"
    assert [r.text for r in rule.findall("Preferred_Room")] == ["cs-out1", "cs-out2"]


def test_busy_slots_become_not_available_times() -> None:
    directory = with_busy(tiny(points=2), Busy("t0", 1, 2), Busy("tp0-c", 2, 3))
    root = build(Instance(directory), plan(lesson(1, "t0", "tp0-c", "tp1-c")))
    teacher = not_available(root, "ConstraintTeacherNotAvailableTimes", "Teacher", "t0")
    assert teacher == {("Mon", 2)}
    students = "ConstraintStudentsSetNotAvailableTimes"
    assert not_available(root, students, "Students", "tp0-c.own") == {("Tue", 3)}
    assert not_available(root, students, "Students", "tp1-c.own") == set()
    assert not list(root.iter("ConstraintActivityPreferredTimeSlots"))


def test_class_busy_slots_are_mapped_to_the_teachers_periods() -> None:
    """The teaching point rings an hour early: output period n is its local period n + 1,
    and output period 4 has no local period at all."""
    base = tiny(points=1)
    point = replace(base.schools[1], bell_schedule_id="early")
    directory = replace(
        base,
        schools=(base.schools[0], point),
        bells=base.bells + tuple(bells("early", EARLY)),
        busy=(Busy("tp0-c", 3, 2),),
    )
    root = build(Instance(directory), plan(lesson(1, "t0", "tp0-c")))
    closed = not_available(root, "ConstraintStudentsSetNotAvailableTimes", "Students", "tp0-c.own")
    days = ("Mon", "Tue", "Wed", "Thu", "Fri")
    assert closed == {("Wed", 1)} | {(day, 4) for day in days}


def test_teachers_on_other_bells_get_the_slots_of_their_own_lessons() -> None:
    """Two teachers on different bells teach one class: the class is closed only where
    neither can teach it, and each activity keeps off the rest of its own closed slots."""
    base = tiny(points=1)
    far = School("cs2", "中心校2", SchoolKind.CENTRAL, TOWN_A, "early")
    directory = Directory(
        regions=base.regions,
        schools=(*base.schools, far),
        bells=base.bells + tuple(bells("early", EARLY)),
        classrooms=(*base.classrooms, Classroom("cs2-out", "cs2", ClassroomRole.OUTPUT, 1, 1)),
        teachers=(*base.teachers, Teacher("u", "教师u", "cs2", ("英语",), (3,), 10)),
        classes=(ReceivingClass("tp0-c", "tp0", "tp0-r", 3, 10),),
        needs=base.needs,
        busy=(Busy("tp0-c", 1, 2),),
    )
    lessons = (lesson(1, "t0", "tp0-c"), lesson(2, "u", "tp0-c", room="cs2-out"))
    root = build(Instance(directory), plan(*lessons))
    students = "ConstraintStudentsSetNotAvailableTimes"
    assert not_available(root, students, "Students", "tp0-c.own") == set()
    slots = {
        rule.findtext("Activity_Id") or "": {
            (s.findtext("Preferred_Day"), int(s.findtext("Preferred_Hour") or 0))
            for s in rule.iter("Preferred_Time_Slot")
        }
        for rule in root.iter("ConstraintActivityPreferredTimeSlots")
    }
    assert sorted(slots) == ["1", "2"]
    assert len(slots["1"]) == 5 * 4 - 1 and ("Mon", 2) not in slots["1"]  # local 2 is busy
    assert ("Mon", 3) not in slots["2"] and ("Mon", 1) not in slots["2"]  # busy; no overlap
    assert ("Mon", 2) in slots["2"] and len(slots["2"]) == 5 * 3 - 1
    assert "<Students>tp0-c</Students>" in document(Instance(directory), plan(*lessons))


def write_activities(folder: Path, placed: dict[int, tuple[str, int]], count: int) -> None:
    folder.mkdir(parents=True)
    rows = []
    for n in range(1, count + 1):
        day, hour = placed.get(n, ("", 0))
        rows.append(
            f"<Activity><Id>{n}</Id><Day>{day}</Day><Hour>{hour or ''}</Hour>"
            f"<Room>{'cs-out1' if day else ''}</Room></Activity>"
        )
    text = f"<Activities_Timetable>{''.join(rows)}</Activities_Timetable>"
    (folder / f"{NAME}_activities.xml").write_text(text, encoding="utf-8")


def test_reading_fets_output(tmp_path: Path) -> None:
    lessons = (lesson(1, "t0", "tp0-c"), lesson(2, "t0", "tp1-c"))
    write_activities(tmp_path / "a" / NAME, {1: ("Tue", 3), 2: ("Fri", 1)}, 2)
    done = outcome(lessons, 1.5, "Simulation successful", tmp_path / "a")
    assert (done.status, done.activities, done.placed, done.seconds) == ("placed", 2, 2, 1.5)
    assert [(le.day, le.period) for le in done.lessons] == [(2, 3), (5, 1)]
    write_activities(tmp_path / "b" / f"{NAME}-highest", {2: ("Mon", 1)}, 2)
    done = outcome(lessons, 9.0, "Time exceeded", tmp_path / "b")
    assert (done.status, done.placed) == ("time_limit", 1)
    wrong = "Cannot precompute - data is wrong - aborting"
    assert outcome(lessons, 0.1, wrong, tmp_path / "c").status == "impossible"
    assert outcome(lessons, 0.1, "", tmp_path / "c").status.startswith("error")


def test_a_missing_binary_is_an_error_not_a_crash() -> None:
    directory = tiny(points=1)
    done = run_fet(Instance(directory), plan(lesson(1, "t0", "tp0-c")), binary="no-such-fet-cl")
    assert done.status.startswith("error: no-such-fet-cl not found")
    assert (done.activities, done.placed) == (1, 0)


def need_fet() -> None:
    if shutil.which("fet-cl") is None:
        if services_required():
            pytest.fail("fet-cl is missing and SANKE_REQUIRE_SERVICES=1 (Debian package fet)")
        pytest.skip("fet-cl is not installed (Debian package fet)")


def test_fet_places_every_lesson_of_a_solved_tiny_instance() -> None:
    need_fet()
    directory = with_busy(tiny(points=3, periods=2, teachers=2), Busy("t0", 1, 1))
    directory = with_busy(directory, Busy("tp0-c", 2, 1), Busy("tp1-c", 3, 2))
    instance = Instance(directory)
    timetable = solve(directory, time_limit=5, workers=1)
    assert timetable.lessons
    done = run_fet(instance, timetable, time_limit=10)
    assert (done.status, done.placed) == ("placed", len(timetable.lessons))
    assert done.activities == len(timetable.lessons) and done.seconds < 10
    assert violations(instance, replace(timetable, lessons=done.lessons)) == []


def test_fet_reports_an_impossible_week() -> None:
    need_fet()
    directory = tiny(points=2)
    busy = [Busy("t0", d, p) for d in range(1, 6) for p in range(1, 5) if (d, p) != (1, 1)]
    timetable = plan(lesson(1, "t0", "tp0-c"), lesson(2, "t0", "tp1-c"))
    done = run_fet(Instance(with_busy(directory, *busy)), timetable, time_limit=5)
    assert (done.status, done.placed) == ("impossible", 0)
