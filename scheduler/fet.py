"""The timing step handed to FET (https://lalescu.ro/liviu/fet/) with the solver's groups fixed.

A benchmark reference, not part of planning: every output lesson of a timetable becomes one
FET activity (its teacher, subject and receiving classes, duration 1) and FET, run as
``fet-cl``, looks for days and periods for all of them again. Modelled:

- days 1-5; hours 1..H, H the largest period number of any bell schedule;
- teachers not available in their busy slots and in hours their school's bells lack;
- each receiving class a FET group (its activities' students) in a year per receiving
  classroom; the classes of one classroom share a subgroup, so they do not take two remote
  lessons at once, and each has its own subgroup for its busy slots;
- each output classroom a FET room, each activity limited to its school's output rooms.

Approximated: FET has one hour grid, the output schools' periods. A class's busy local period
is mapped back through ``Instance.local_period`` for the teachers of its lessons (a slot is
closed to the class when it is closed for all of them; an activity whose teacher still cannot
use a slot gets its own preferred-slots constraint), and the shared classroom subgroup counts
in output periods, which is exact when the output schools ring the same bells. Not modelled:
bandwidth (uplink, downlink) and weekly caps; with the groups fixed the caps hold anyway, and in
the benchmark regions the output rooms (2 per school, uplink room for 13 lessons) and the single
receiving classroom of each teaching point (downlink room for at least 2) bind first.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from scheduler.instance import Instance
from scheduler.plan import Lesson, Timetable
from scheduler.timing import DAYS

DAY_NAMES = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri"}
NAME = "sanke"  # the input file's stem; FET names its output folder after it
GRACE = 5  # seconds fet-cl may run past its limit before it is stopped
STOPPING = 30  # seconds a stopped fet-cl has to write its partial timetable
Slot = tuple[int, int]  # day, hour (the output school's period)


@dataclass(frozen=True)
class FetResult:
    activities: int
    placed: int
    seconds: float
    status: str  # "placed" (all of them), "time_limit", "impossible" or "error: …"
    lessons: tuple[Lesson, ...] = field(default=(), repr=False)  # FET's placed lessons


def hour_count(instance: Instance) -> int:
    return max((max(periods) for periods in instance.bells.values() if periods), default=0)


def _add(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


def _slots(parent: ET.Element, tag: str, slots: set[Slot], prefix: str = "") -> None:
    for day, hour in sorted(slots):
        slot = _add(parent, tag)
        _add(slot, f"{prefix}Day", DAY_NAMES[day])
        _add(slot, f"{prefix}Hour", hour)


def _constraint(parent: ET.Element, tag: str, **fields: str | int) -> ET.Element:
    element = _add(parent, tag)
    _add(element, "Weight_Percentage", 100)
    for name, value in fields.items():
        _add(element, name, value)
    return element


class _Week:
    """Which (day, hour) slots each lesson, teacher and class can use."""

    def __init__(self, instance: Instance, lessons: tuple[Lesson, ...]) -> None:
        self.inst = instance
        self.all = {(d, h) for d in DAYS for h in range(1, hour_count(instance) + 1)}
        self.teachers_of: dict[str, set[str]] = defaultdict(set)
        for lesson in lessons:
            for class_id in lesson.class_ids:
                self.teachers_of[class_id].add(lesson.teacher_id)

    def teacher_closed(self, teacher_id: str) -> set[Slot]:
        periods = set(self.inst.output_periods(teacher_id))
        return {
            (d, h) for d, h in self.all if h not in periods or (teacher_id, d, h) in self.inst.busy
        }

    def _class_closed_for(self, teacher_id: str, class_id: str) -> set[Slot]:
        closed = set()
        for day, hour in self.all:
            local = self.inst.local_period(teacher_id, class_id, hour)
            if local is None or (class_id, day, local) in self.inst.busy:
                closed.add((day, hour))
        return closed

    def class_closed(self, class_id: str) -> set[Slot]:
        """Slots closed to the class whichever of its teachers teaches it."""
        closed = set(self.all)
        for teacher_id in self.teachers_of[class_id]:
            closed &= self._class_closed_for(teacher_id, class_id)
        return closed

    def lesson_open(self, lesson: Lesson) -> set[Slot]:
        open_ = self.all - self.teacher_closed(lesson.teacher_id)
        for class_id in lesson.class_ids:
            open_ -= self._class_closed_for(lesson.teacher_id, class_id)
        return open_


def build(instance: Instance, timetable: Timetable) -> ET.Element:
    """The FET document (root ``<fet>``) for the timetable's lessons; activity ids 1..n."""
    lessons = timetable.lessons
    week = _Week(instance, lessons)
    root = ET.Element("fet", version="6.8.5")
    _add(root, "Mode", "Official")
    _add(root, "Institution_Name", "Sanke")
    _add(root, "Comments", f"{len(lessons)} output lessons, groups fixed")
    days = _add(root, "Days_List")
    _add(days, "Number_of_Days", len(DAYS))
    for day in DAYS:
        _add(_add(days, "Day"), "Name", DAY_NAMES[day])
    hours = _add(root, "Hours_List")
    _add(hours, "Number_of_Hours", hour_count(instance))
    for hour in range(1, hour_count(instance) + 1):
        _add(_add(hours, "Hour"), "Name", hour)
    subjects = _add(root, "Subjects_List")
    for subject in sorted({lesson.subject for lesson in lessons}):
        _add(_add(subjects, "Subject"), "Name", subject)
    _add(root, "Activity_Tags_List")
    teachers = _add(root, "Teachers_List")
    teacher_ids = sorted({lesson.teacher_id for lesson in lessons})
    for teacher_id in teacher_ids:
        _add(_add(teachers, "Teacher"), "Name", teacher_id)
    class_ids = sorted({c for lesson in lessons for c in lesson.class_ids})
    _students(_add(root, "Students_List"), instance, class_ids)
    activities = _add(root, "Activities_List")
    for number, lesson in enumerate(lessons, start=1):
        activity = _add(activities, "Activity")
        _add(activity, "Teacher", lesson.teacher_id)
        _add(activity, "Subject", lesson.subject)
        for class_id in lesson.class_ids:
            _add(activity, "Students", class_id)
        for tag, value in (("Duration", 1), ("Total_Duration", 1), ("Id", number)):
            _add(activity, tag, value)
        _add(activity, "Activity_Group_Id", 0)
        _add(activity, "Active", "true")
    _add(root, "Buildings_List")
    schools = sorted({instance.teachers[t].school_id for t in teacher_ids})
    rooms = _add(root, "Rooms_List")
    for school_id in schools:
        for room_id in instance.output_rooms.get(school_id, []):
            room = _add(rooms, "Room")
            _add(room, "Name", room_id)
            _add(room, "Capacity", 1000)
    _time_constraints(_add(root, "Time_Constraints_List"), week, lessons, teacher_ids, class_ids)
    space = _add(root, "Space_Constraints_List")
    _constraint(space, "ConstraintBasicCompulsorySpace")
    for number, lesson in enumerate(lessons, start=1):
        own = instance.output_rooms.get(instance.teachers[lesson.teacher_id].school_id, [])
        rule = _constraint(space, "ConstraintActivityPreferredRooms", Activity_Id=number)
        _add(rule, "Number_of_Preferred_Rooms", len(own))
        for room_id in own:
            _add(rule, "Preferred_Room", room_id)
    return root


def _students(parent: ET.Element, instance: Instance, class_ids: list[str]) -> None:
    by_room: dict[str, list[str]] = defaultdict(list)
    for class_id in class_ids:
        by_room[instance.classes[class_id].classroom_id].append(class_id)
    for room_id, members in sorted(by_room.items()):
        year = _add(parent, "Year")
        _add(year, "Name", room_id)
        for class_id in members:
            group = _add(year, "Group")
            _add(group, "Name", class_id)
            _add(_add(group, "Subgroup"), "Name", f"{class_id}.own")
            _add(_add(group, "Subgroup"), "Name", f"{room_id}.room")


def _time_constraints(
    parent: ET.Element,
    week: _Week,
    lessons: tuple[Lesson, ...],
    teacher_ids: list[str],
    class_ids: list[str],
) -> None:
    _constraint(parent, "ConstraintBasicCompulsoryTime")
    for teacher_id in teacher_ids:
        closed = week.teacher_closed(teacher_id)
        if closed:
            rule = _constraint(parent, "ConstraintTeacherNotAvailableTimes", Teacher=teacher_id)
            _add(rule, "Number_of_Not_Available_Times", len(closed))
            _slots(rule, "Not_Available_Time", closed)
    class_closed = {class_id: week.class_closed(class_id) for class_id in class_ids}
    for class_id in class_ids:
        if class_closed[class_id]:
            rule = _constraint(
                parent, "ConstraintStudentsSetNotAvailableTimes", Students=f"{class_id}.own"
            )
            _add(rule, "Number_of_Not_Available_Times", len(class_closed[class_id]))
            _slots(rule, "Not_Available_Time", class_closed[class_id])
    for number, lesson in enumerate(lessons, start=1):
        implied = week.all - week.teacher_closed(lesson.teacher_id)
        for class_id in lesson.class_ids:
            implied -= class_closed[class_id]
        allowed = week.lesson_open(lesson)
        if allowed != implied:
            rule = _constraint(parent, "ConstraintActivityPreferredTimeSlots", Activity_Id=number)
            _add(rule, "Number_of_Preferred_Time_Slots", len(allowed))
            _slots(rule, "Preferred_Time_Slot", allowed, "Preferred_")


def document(instance: Instance, timetable: Timetable) -> str:
    """The ``.fet`` file's text."""
    root = build(instance, timetable)
    ET.indent(root, space="\t")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def placed_lessons(lessons: tuple[Lesson, ...], activities_xml: Path) -> tuple[Lesson, ...]:
    """The lessons FET placed (activity ``n`` is ``lessons[n - 1]``), at FET's day, hour
    and room, read from its ``*_activities.xml``."""
    days = {name: number for number, name in DAY_NAMES.items()}
    placed = []
    for activity in ET.parse(activities_xml).getroot().iter("Activity"):
        day = (activity.findtext("Day") or "").strip()
        if day:
            lesson = lessons[int(activity.findtext("Id") or 0) - 1]
            hour, room = int(activity.findtext("Hour") or 0), activity.findtext("Room") or ""
            placed.append(replace(lesson, day=days[day], period=hour, output_classroom_id=room))
    return tuple(placed)


QUIET = [f"--writetimetables{w}=false" for w in (
    "conflicts", "statistics", "dayshorizontal", "daysvertical", "timehorizontal",
    "timevertical", "groups", "years", "teachersfreeperiods", "rooms", "subjects")]  # fmt: skip
# (fet-cl 6.8 writes *_activities.xml only with subgroups, teachers and activity tags on)
QUIET += ["--htmllevel=0", "--warnsubgroupswiththesameactivities=false"]


def run_fet(
    instance: Instance, timetable: Timetable, *, time_limit: int = 60, binary: str = "fet-cl"
) -> FetResult:
    """Time ``fet-cl`` on the timetable's lessons (the only function that runs anything).

    ``fet-cl`` checks its own time limit only while its search makes progress, so it is
    also stopped from here with SIGTERM (it then writes its best partial timetable) a few
    seconds after the limit, and killed if it does not exit.
    """
    count = len(timetable.lessons)
    if count == 0:
        return FetResult(0, 0, 0.0, "placed")  # nothing to place; fet-cl refuses empty files
    program = shutil.which(binary)
    if program is None:
        return FetResult(count, 0, 0.0, f"error: {binary} not found (Debian package fet)")
    limit = max(1, time_limit)
    with tempfile.TemporaryDirectory(prefix="sanke-fet-") as work:
        source, out, log = (Path(work) / name for name in (f"{NAME}.fet", "out", "log.txt"))
        source.write_text(document(instance, timetable), encoding="utf-8")
        command = [program, f"--inputfile={source}", f"--outputdir={out}"]
        command += [f"--timelimitseconds={limit}", *QUIET]
        began = time.perf_counter()
        with log.open("w") as sink:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
            )
            try:
                _wait(process, limit + GRACE)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        seconds = time.perf_counter() - began
        text = log.read_text(errors="replace")
        return outcome(timetable.lessons, seconds, text, out / "timetables")


def _wait(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait, then stop with SIGTERM (fet-cl writes its best timetable so far and exits)."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOPPING)  # still running after this: killed by the caller


def outcome(lessons: tuple[Lesson, ...], seconds: float, log: str, timetables: Path) -> FetResult:
    """Read a finished ``fet-cl`` run: ``NAME/`` when all was placed, ``NAME-highest/``
    (the most activities placed at once) when it ran out of time or was stopped."""
    count = len(lessons)
    for folder in (NAME, f"{NAME}-highest"):
        activities_xml = timetables / folder / f"{NAME}_activities.xml"
        if activities_xml.exists():
            placed = placed_lessons(lessons, activities_xml)
            status = "placed" if len(placed) == count else "time_limit"
            return FetResult(count, len(placed), seconds, status, placed)
    if "data is wrong" in log or "impossible" in log.lower():
        return FetResult(count, 0, seconds, "impossible")
    lines = log.strip().splitlines()
    return FetResult(count, 0, seconds, f"error: {lines[-1][:200] if lines else 'no output'}")
