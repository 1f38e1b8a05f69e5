"""The demo county and ``sanke demo`` on a fresh data directory."""

from __future__ import annotations

import re
import urllib.request
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from identity.roles import Role
from identity.service import IdentityService
from identity.store import IdentityStore
from scheduler.model import RegionLevel, SchoolKind
from scheduler.store import DirectoryStore
from tests.conftest import free_port
from tests.web.processes import sanke_env, sanke_server
from web import demo
from web.schedule import ScheduleService


def test_the_demo_county_has_the_promised_shape() -> None:
    county = demo.county()
    levels = Counter(r.level for r in county.regions)
    assert levels[RegionLevel.COUNTY] == 1 and levels[RegionLevel.TOWNSHIP] == 3
    kinds = Counter(s.kind for s in county.schools)
    assert kinds == {SchoolKind.CENTRAL: 4, SchoolKind.TEACHING_POINT: 12}
    assert all(re.search(r"[\u4e00-\u9fff]", s.name) for s in county.schools)
    assert len(county.teachers) >= 12 and len(county.classes) >= 30 and county.needs
    ids = {c.id for c in county.classes}
    assert all(n.class_id in ids for n in county.needs)
    assert {b.schedule_id for b in county.bells} == {s.bell_schedule_id for s in county.schools}
    assert {a.user.role for a in demo.accounts()} == set(Role)


def test_installing_twice_changes_nothing(engine: Engine, hasher: PasswordHasher) -> None:
    identity = IdentityService(IdentityStore(engine), hasher)
    directory = DirectoryStore(engine)
    now = datetime.now(UTC)
    assert len(demo.install(directory, identity, now)) == len(Role)
    assert demo.install(directory, identity, now) == []
    assert len(directory.load().schools) == 16
    schedule = ScheduleService(engine, lambda: datetime(2026, 11, 23, 8, tzinfo=UTC))
    plan = demo.install_plan(schedule, seconds=2)
    assert plan is not None and plan.timetable.scheduled == plan.timetable.demand
    assert (plan.term_start, plan.term_end) == (date(2026, 9, 1), date(2027, 1, 20))
    assert schedule.plans.occurrences(date(2026, 11, 23), date(2026, 11, 27))  # from today
    assert not schedule.plans.occurrences(date(2026, 9, 1), date(2026, 11, 22))  # not the past
    assert demo.install_plan(schedule) is None  # once


@pytest.mark.parametrize(
    ("today", "term"),
    [
        (date(2026, 11, 23), (date(2026, 9, 1), date(2027, 1, 20))),
        (date(2027, 1, 5), (date(2026, 9, 1), date(2027, 1, 20))),
        (date(2027, 2, 1), (date(2027, 2, 20), date(2027, 7, 5))),  # the next term
        (date(2027, 5, 1), (date(2027, 2, 20), date(2027, 7, 5))),
        (date(2027, 7, 20), (date(2027, 9, 1), date(2028, 1, 20))),  # summer: the next
        (date(2027, 8, 15), (date(2027, 9, 1), date(2028, 1, 20))),
    ],
)
def test_the_demo_term_holds_today_or_comes_next(today: date, term: tuple[date, date]) -> None:
    assert demo.term_around(today) == term


def test_sanke_demo_prints_the_url_and_accounts_and_serves_the_login_page(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path / "demo"), SANKE_PORT=str(port))
    with sanke_server("demo", env=env, port=port) as output:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as page:
            assert page.status == 200 and "用户名" in page.read().decode()
    text = "\n".join(output)
    assert f"open http://127.0.0.1:{port}/login" in text
    assert f"password is: {demo.DEMO_PASSWORD}" in text
    assert "Planned and published" in text
    for account in demo.accounts():
        assert account.user.username in text
