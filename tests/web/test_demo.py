"""The demo county and ``sanke demo`` on a fresh data directory."""

from __future__ import annotations

import re
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

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
    for account in demo.accounts():
        assert account.user.username in text
