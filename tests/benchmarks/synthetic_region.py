"""A seeded synthetic region for the scheduler benchmark (tiers S, M, L, XL).

Shaped on published figures (Anhui ≈ 1 output : 3 receiving classrooms; 竹山县
14 output, 38 receiving): each central school leads about three teaching points
in its township; local lessons fill 55-70% of a class's week; some teaching
points ring their bells 5 or 10 minutes off the central school's. In XL each city
(ten counties) has one famous school (名校) whose teachers of the scarce subjects
may teach any county's teaching points (名校网络课堂); its bells, 5 minutes off the
central schools', align with every teaching point's, the 10-minute-off ones too.
"""

from __future__ import annotations

import random
from datetime import time

from scheduler.model import (
    BellPeriod,
    Busy,
    Classroom,
    ClassroomRole,
    Directory,
    Need,
    ReceivingClass,
    Region,
    RegionLevel,
    School,
    SchoolKind,
    Teacher,
)

TIERS = {  # central schools, teaching points per central school, counties, famous schools
    "S": (1, 5, 1, 0),
    "M": (15, 3, 1, 0),
    "L": (100, 3, 8, 0),
    "XL": (1500, 3, 100, 10),
}
COUNTIES_PER_CITY = 10
FAMOUS_STAFF = (("英语", (3, 4, 5, 6)), ("科学", (1, 2, 3, 4, 5, 6)))  # the scarce subjects
SUBJECTS = (("英语", 3, (2, 3)), ("音乐", 1, (1, 2)), ("美术", 1, (1, 2)), ("科学", 3, (1, 2)))


def _bells(schedule: str, offset: int, count: int) -> list[BellPeriod]:
    starts = [8 * 60, 8 * 60 + 50, 9 * 60 + 50, 10 * 60 + 40, 14 * 60, 14 * 60 + 50, 15 * 60 + 40]
    out = []
    for n, start in enumerate(starts[:count], start=1):
        s, e = start + offset, start + offset + 40
        out.append(BellPeriod(schedule, n, time(s // 60, s % 60), time(e // 60, e % 60)))
    return out


def _county_code(county: int) -> str:
    """GB/T 2260 layout: province 34, city, county within the city."""
    city, within = divmod(county, COUNTIES_PER_CITY)
    return f"34{city + 1:02d}{within + 1:02d}"


def region(tier: str, seed: int = 1) -> Directory:
    central_count, points_per, county_count, famous_count = TIERS[tier]
    rng = random.Random(seed)
    regions = [Region("340000", "安徽省", RegionLevel.PROVINCE)]
    schools, rooms, teachers, classes, needs, busy = [], [], [], [], [], []
    bells = _bells("c", 0, 7) + _bells("v0", 0, 6) + _bells("v5", 5, 6) + _bells("v10", 10, 6)
    for county in range(county_count):
        code = _county_code(county)
        regions.append(Region(code, f"县{county + 1}", RegionLevel.COUNTY, "340000"))
    for c in range(central_count):
        county_code = _county_code(c % county_count)
        town = f"{county_code}{c // county_count + 101:03d}"
        regions.append(Region(town, f"镇{c + 1}", RegionLevel.TOWNSHIP, county_code))
        cs = f"cs{c}"
        schools.append(School(cs, f"中心校{c}", SchoolKind.CENTRAL, town, "c"))
        for r in range(2):
            rooms.append(Classroom(f"{cs}-o{r}", cs, ClassroomRole.OUTPUT, 20_000, 100_000))
        staff = rng.choice((3, 4, 4))
        for t in range(staff):
            subject = SUBJECTS[t % len(SUBJECTS)][0]
            tid = f"{cs}-t{t}"
            teachers.append(Teacher(tid, f"教师{c}-{t}", cs, (subject,), (1, 2, 3, 4, 5, 6), 16))
            for day in range(1, 6):
                for period in rng.sample(range(1, 8), 3):  # own lessons at the central school
                    busy.append(Busy(tid, day, period))
        for p in range(points_per):
            tp = f"tp{c}-{p}"
            schedule = rng.choices(("v0", "v5", "v10"), weights=(6, 3, 1))[0]
            schools.append(School(tp, f"教学点{c}-{p}", SchoolKind.TEACHING_POINT, town, schedule))
            room = f"{tp}-r"
            weak = rng.random() < 0.2
            rooms.append(Classroom(room, tp, ClassroomRole.RECEIVING, 2000, 3000 if weak else 8000))
            for grade in sorted(rng.sample(range(1, 7), 3)):
                cid = f"{tp}-g{grade}"
                classes.append(ReceivingClass(cid, tp, room, grade, rng.randint(3, 18)))
                for subject, first_grade, span in SUBJECTS:
                    if grade >= first_grade:
                        needs.append(Need(cid, subject, rng.randint(*span)))
                slots = [(d, q) for d in range(1, 6) for q in range(1, 7)]
                local = rng.sample(slots, round(len(slots) * rng.uniform(0.55, 0.70)))
                busy.extend(Busy(cid, d, q) for d, q in local)
    if famous_count:  # bells 5 minutes off the central schools': they align with every point
        bells += _bells("f", 5, 7)
    for f in range(famous_count):  # after the rest: the tiers without any are unchanged
        town = f"{_county_code(f * COUNTIES_PER_CITY)}900"
        regions.append(Region(town, f"城区{f + 1}", RegionLevel.TOWNSHIP, town[:6]))
        fs = f"fs{f}"
        schools.append(School(fs, f"名校{f}", SchoolKind.FAMOUS, town, "f"))
        for r in range(6):
            rooms.append(Classroom(f"{fs}-o{r}", fs, ClassroomRole.OUTPUT, 100_000, 100_000))
        for t in range(8):
            subject, grades = FAMOUS_STAFF[t % len(FAMOUS_STAFF)]
            tid = f"{fs}-t{t}"
            teachers.append(Teacher(tid, f"名师{f}-{t}", fs, (subject,), grades, 16, master=True))
            for day in range(1, 6):
                for period in rng.sample(range(1, 8), 2):
                    busy.append(Busy(tid, day, period))
    return Directory(
        regions=tuple(regions),
        schools=tuple(schools),
        bells=tuple(bells),
        classrooms=tuple(rooms),
        teachers=tuple(teachers),
        classes=tuple(classes),
        needs=tuple(needs),
        busy=tuple(busy),
    )
