"""Who may teach a class: the nearest teachers whose bells can meet the class's."""

from __future__ import annotations

from dataclasses import replace

from scheduler.instance import Instance, city_of
from scheduler.model import (
    Classroom,
    ClassroomRole,
    Directory,
    Region,
    RegionLevel,
    School,
    SchoolKind,
    Teacher,
)
from scheduler.plan import Parameters
from tests.scheduler.builders import bells, tiny

POINT = "tp0-c"


def _plus_school(
    directory: Directory, school_id: str, town: str, schedule: str, teacher_id: str
) -> Directory:
    county = town[:6]
    return replace(
        directory,
        regions=directory.regions
        + (
            Region(county, f"县{county}", RegionLevel.COUNTY),
            Region(town, f"镇{town}", RegionLevel.TOWNSHIP, county),
        ),
        schools=directory.schools
        + (School(school_id, f"名校{school_id}", SchoolKind.FAMOUS, town, schedule),),
        classrooms=directory.classrooms
        + (Classroom(f"{school_id}-o", school_id, ClassroomRole.OUTPUT, 20_000, 100_000),),
        teachers=directory.teachers
        + (Teacher(teacher_id, "名师", school_id, ("英语",), (3,), 10, master=True),),
    )


def test_farther_teachers_of_the_class_s_city_come_first() -> None:
    # the class is in 3499 21 (city 3499); a famous school in city 3498 has the smaller id
    directory = _plus_school(tiny(points=1), "fa", "349821101", "day", "a-far")
    directory = _plus_school(directory, "fb", "349931101", "day", "b-city")
    inst = Instance(directory, Parameters(max_candidates=2))
    assert inst.candidates(POINT, "英语") == ["t0", "b-city"]
    assert city_of("349931101") == city_of("349921") != city_of("349821101")


def test_counties_the_importer_named_share_one_unknown_city() -> None:
    assert city_of("990001901") == city_of("990123") == "99"
    # the point in 990001, b in 990002, a in 990101: the
    # invented codes say nothing of cities, so all three, t0 too, go by id
    point_town = "990001901"
    directory = replace(
        tiny(points=1, point_town=point_town),
        regions=tiny().regions + (Region(point_town, "新乡", RegionLevel.TOWNSHIP, "990001"),),
    )
    directory = _plus_school(directory, "fa", "990101901", "day", "a")
    directory = _plus_school(directory, "fb", "990002901", "day", "b")
    assert Instance(directory).candidates(POINT, "英语") == ["a", "b", "t0"]


def test_a_teacher_whose_bells_never_meet_the_class_s_is_no_candidate() -> None:
    late = [(h, 20) for h in (8, 9, 10, 11)]  # 20 minutes off: 20 minutes of overlap < 35
    directory = _plus_school(tiny(points=1), "fa", "349921101", "late", "near-late")
    directory = replace(directory, bells=directory.bells + tuple(bells("late", late)))
    directory = _plus_school(directory, "fb", "349821101", "day", "far-aligned")
    inst = Instance(directory, Parameters(max_candidates=2))
    assert inst.candidates(POINT, "英语") == ["t0", "far-aligned"]
    assert inst.qualified(POINT, "英语") == ["far-aligned", "near-late", "t0"]
