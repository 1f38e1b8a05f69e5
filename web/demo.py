"""A fictional county for ``sanke demo``.

青溪县: 3 townships, 4 central schools, 12 teaching points.

Every name is made up (the county, its city and townships do not exist) but reads
like a real one. The data are deterministic so the demo looks the same each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from identity.authorize import scope_target
from identity.errors import UserExists
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor, IdentityService
from identity.users import NewUser
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
from scheduler.plan import Parameters
from scheduler.plan_store import StoredPlan
from scheduler.solver import solve
from scheduler.store import DirectoryStore
from web.schedule import ScheduleService

PROVINCE, CITY, COUNTY = "340000", "349900", "349921"
DEMO_TEACHER = "cs-qingxi-shiyan-t1"  # the teacher the demo's teacher account stands for
DEMO_CLASSROOM = "tp-yangshuwan-r1"  # the classroom of the demo's device account
DEMO_PASSWORD = "sanke2026"

_TOWNSHIPS = {
    "349921101": ("石门镇", ("杨树湾", "桃源", "龙潭", "石岭")),
    "349921102": ("柳河乡", ("河口", "枫林", "三岔", "牛角冲")),
    "349921103": ("白云镇", ("云岩", "竹山", "梅子坳", "高坪")),
}
_PINYIN = {
    "石门镇": "shimen", "柳河乡": "liuhe", "白云镇": "baiyun",
    "杨树湾": "yangshuwan", "桃源": "taoyuan", "龙潭": "longtan", "石岭": "shiling",
    "河口": "hekou", "枫林": "fenglin", "三岔": "sancha", "牛角冲": "niujiaochong",
    "云岩": "yunyan", "竹山": "zhushan", "梅子坳": "meiziao", "高坪": "gaoping",
}  # fmt: skip

# (school id, name, township) for the four central schools
_CENTRAL = (
    ("cs-qingxi-shiyan", "青溪县实验小学", "349921101"),
    ("cs-shimen", "石门镇中心小学", "349921101"),
    ("cs-liuhe", "柳河乡中心小学", "349921102"),
    ("cs-baiyun", "白云镇中心小学", "349921103"),
)

# (name, subjects, grades) per central school, in the order above
_TEACHERS = (
    (
        ("王晓燕", "英语", "3;4;5;6"),
        ("李建国", "音乐", "1;2;3;4;5;6"),
        ("张丽", "美术", "1;2;3;4;5;6"),
        ("陈思远", "科学", "3;4;5;6"),
    ),
    (
        ("刘芳", "英语", "3;4;5;6"),
        ("赵敏", "音乐", "1;2;3;4;5;6"),
        ("周婷", "美术;书法", "1;2;3;4;5;6"),
    ),
    (
        ("吴磊", "英语", "3;4;5;6"),
        ("孙悦", "科学;信息科技", "3;4;5;6"),
        ("黄静", "音乐", "1;2;3;4"),
    ),
    (
        ("杨帆", "英语", "3;4;5;6"),
        ("何雨", "美术", "1;2;3;4;5;6"),
        ("郭强", "体育;科学", "1;2;3;4;5;6"),
    ),
)

_BELLS = {
    "central": ((8, 0), (8, 50), (9, 50), (10, 40), (14, 0), (14, 50), (15, 40)),
    "village": ((8, 5), (8, 55), (9, 55), (10, 45), (14, 5), (14, 55)),
}
_NEEDS = (
    ("英语", 3, 2),
    ("音乐", 1, 1),
    ("美术", 1, 1),
    ("科学", 3, 1),
)  # subject, from grade, periods


@dataclass(frozen=True)
class DemoAccount:
    user: NewUser
    note: str


def _bells() -> tuple[BellPeriod, ...]:
    periods = []
    for schedule, starts in _BELLS.items():
        for number, (hour, minute) in enumerate(starts, start=1):
            end = hour * 60 + minute + 40
            periods.append(
                BellPeriod(schedule, number, time(hour, minute), time(end // 60, end % 60))
            )
    return tuple(periods)


def county() -> Directory:
    """The demo county's directory."""
    regions = [
        Region(PROVINCE, "安徽省", RegionLevel.PROVINCE),
        Region(CITY, "云岭市", RegionLevel.CITY, PROVINCE),
        Region(COUNTY, "青溪县", RegionLevel.COUNTY, CITY),
    ]
    schools: list[School] = []
    classrooms: list[Classroom] = []
    teachers: list[Teacher] = []
    classes: list[ReceivingClass] = []
    needs: list[Need] = []
    busy: list[Busy] = []
    for code, (township, _) in _TOWNSHIPS.items():
        regions.append(Region(code, township, RegionLevel.TOWNSHIP, COUNTY))
    for (school_id, name, township), staff in zip(_CENTRAL, _TEACHERS, strict=True):
        schools.append(School(school_id, name, SchoolKind.CENTRAL, township, "central"))
        for n in (1, 2):
            classrooms.append(
                Classroom(f"{school_id}-out{n}", school_id, ClassroomRole.OUTPUT, 20_000, 100_000)
            )
        for n, (teacher, subjects, taught) in enumerate(staff, start=1):
            teachers.append(
                Teacher(
                    f"{school_id}-t{n}",
                    teacher,
                    school_id,
                    tuple(subjects.split(";")),
                    tuple(int(g) for g in taught.split(";")),
                    weekly_cap=14,
                    master=n == 1,
                )
            )
    for t_index, (code, (_, villages)) in enumerate(_TOWNSHIPS.items()):
        for v_index, village in enumerate(villages):
            school_id = f"tp-{_PINYIN[village]}"
            schools.append(
                School(school_id, f"{village}教学点", SchoolKind.TEACHING_POINT, code, "village")
            )
            weak = (t_index + v_index) % 3 == 0  # some points sit on a weak line
            room = f"{school_id}-r1"
            classrooms.append(
                Classroom(
                    room, school_id, ClassroomRole.RECEIVING, 1_000 if weak else 4_000,
                    4_000 if weak else 10_000,
                )
            )  # fmt: skip
            grades = (1, 2, 3, 4) if v_index % 2 == 0 else (1, 3, 4)
            for grade in grades:
                class_id = f"{school_id}-g{grade}"
                pupils = 4 + (7 * grade + 3 * v_index + t_index) % 12
                classes.append(ReceivingClass(class_id, school_id, room, grade, pupils))
                for subject, from_grade, periods in _NEEDS:
                    if grade >= from_grade:
                        needs.append(Need(class_id, subject, periods))
                for day in range(1, 6):  # 语文 and 数学 are taught locally each morning
                    busy.extend(Busy(class_id, day, period) for period in (1, 2))
    return Directory(
        regions=tuple(regions),
        schools=tuple(schools),
        bells=_bells(),
        classrooms=tuple(classrooms),
        teachers=tuple(teachers),
        classes=tuple(classes),
        needs=tuple(needs),
        busy=tuple(busy),
    )


def accounts() -> tuple[DemoAccount, ...]:
    """One demo account for every role."""

    def account(
        username: str, name: str, role: Role, scope: Scope, note: str, teacher: str | None = None
    ) -> DemoAccount:
        return DemoAccount(NewUser(username, name, DEMO_PASSWORD, role, scope, teacher), note)

    return (
        account("admin", "青溪县电教中心", Role.ADMIN, Scope(region=COUNTY), "青溪县管理员"),
        account(
            "shimen.admin", "石门镇中心小学管理员", Role.SCHOOL_ADMIN, Scope(school="cs-shimen"),
            "石门镇中心小学",
        ),
        account(
            "wang.xiaoyan", "王晓燕", Role.TEACHER, Scope(school="cs-qingxi-shiyan"),
            "英语主讲教师，青溪县实验小学", DEMO_TEACHER,
        ),
        account(
            "yangshuwan.room1", "杨树湾教学点 1 号教室", Role.RECEIVING_CLASSROOM,
            Scope(school="tp-yangshuwan"), "听课教室设备账户",
        ),
        account("li.xunke", "李明", Role.INSPECTOR, Scope(region=COUNTY), "县巡课员"),
        account("zhou.jiaoyan", "周雯", Role.RESEARCHER, Scope(region=COUNTY), "县英语教研员"),
    )  # fmt: skip


def install(
    directory_store: DirectoryStore, identity: IdentityService, now: datetime
) -> list[DemoAccount]:
    """Load the demo county (if the directory is empty) and create missing demo accounts.

    Returns the accounts created now; running it again changes nothing.
    """
    demo = county()
    if not directory_store.load().schools:
        directory_store.replace(demo)
    created = []
    for demo_account in accounts():
        spec = demo_account.user
        school = demo.school(spec.scope.school) if spec.scope.school else None
        home = school.region if school else spec.scope.region
        try:
            identity.create_user(
                Actor(None, "demo"), spec, scope_target(spec.scope, home), home, now
            )
        except UserExists:
            continue
        created.append(demo_account)
    return created


def term_around(today: date) -> tuple[date, date]:
    """The school term holding ``today``, or the next one in the holidays.

    Autumn runs from 1 September to 20 January, spring from 20 February to 5 July:
    close to every province's calendar, good enough for a demo.
    """
    year = today.year
    if today <= date(year, 1, 20):
        return date(year - 1, 9, 1), date(year, 1, 20)
    if today <= date(year, 7, 5):
        return date(year, 2, 20), date(year, 7, 5)
    return date(year, 9, 1), date(year + 1, 1, 20)


def install_plan(schedule: ScheduleService, seconds: float = 5.0) -> StoredPlan | None:
    """Plan the demo county's week and publish it for the current term, once."""
    if schedule.plans.published() is not None:
        return None
    directory = schedule.directory.load()
    if not directory.needs:
        return None
    params = Parameters()
    plan_id = schedule.plans.save(solve(directory, params, time_limit=seconds), params)
    first, last = term_around(schedule.today())
    schedule.publish(plan_id, first, last)
    return schedule.plans.get(plan_id)
