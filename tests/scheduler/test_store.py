"""The school directory in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from scheduler.model import Directory, School, SchoolKind
from scheduler.store import DirectoryStore
from web.demo import county


def _sorted(directory: Directory) -> dict[str, list[object]]:
    return {
        name: sorted(getattr(directory, name), key=repr)
        for name in ("regions", "schools", "bells", "classrooms", "teachers", "classes", "needs")
    } | {"busy": sorted(directory.busy, key=repr)}


def test_the_directory_round_trips(engine: Engine) -> None:
    store = DirectoryStore(engine)
    demo = county()
    store.replace(demo)
    assert _sorted(store.load()) == _sorted(demo)


def test_a_failed_replace_changes_nothing(engine: Engine) -> None:
    store = DirectoryStore(engine)
    demo = county()
    store.replace(demo)
    broken = replace(
        demo,
        schools=(
            *demo.schools,
            School("tp-x", "坏数据", SchoolKind.TEACHING_POINT, "999999999", "v"),
        ),
    )
    with pytest.raises(IntegrityError):
        store.replace(broken)  # the township 999999999 does not exist
    assert _sorted(store.load()) == _sorted(demo)


def test_schools_are_found_by_region_prefix_or_by_id(engine: Engine) -> None:
    store = DirectoryStore(engine)
    store.replace(county())
    assert len(store.schools_in("349921", None)) == 16
    shimen = store.schools_in("349921101", None)
    assert {s.name for s in shimen} >= {"石门镇中心小学", "青溪县实验小学", "杨树湾教学点"}
    assert [s.id for s in store.schools_in(None, "tp-hekou")] == ["tp-hekou"]
    assert store.schools_in("3422", None) == []
    found = store.school("cs-liuhe")
    assert found is not None and found.name == "柳河乡中心小学"
    assert store.school("nope") is None
