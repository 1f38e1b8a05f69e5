"""Importing the directory: formats, encodings, and every kind of bad input at once."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler.errors import ImportFailed
from scheduler.export import write_input
from scheduler.files import read_input
from scheduler.importer import build_directory
from web.demo import county


@pytest.fixture
def good(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    write_input(county(), folder)
    return folder


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        build_directory(read_input(folder))
    return [str(p) for p in caught.value.problems]


def edit(folder: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = folder / f"{name}.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    rows = change(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_the_demo_county_round_trips_through_the_csv_format(good: Path) -> None:
    original = county()
    imported = build_directory(read_input(good))
    assert [s.id for s in imported.schools] == [s.id for s in original.schools]
    # teachers.csv has no master flag
    assert imported.teachers == tuple(replace(t, master=False) for t in original.teachers)
    assert imported.classes == original.classes and imported.needs == original.needs
    assert set(imported.busy) == set(original.busy) and imported.bells == original.bells
    towns = {r.name for r in imported.regions if r.level == "township"}
    assert towns == {"石门镇", "柳河乡", "白云镇"}
    same_town = {s.id: s.region for s in imported.schools}
    assert same_town["cs-shimen"] == same_town["tp-yangshuwan"] != same_town["tp-hekou"]


def test_gb18030_files_from_chinese_excel_are_read(good: Path) -> None:
    for path in good.glob("*.csv"):
        path.write_bytes(path.read_text(encoding="utf-8-sig").encode("gb18030"))
    assert build_directory(read_input(good)).schools[0].name == "青溪县实验小学"


def test_an_xlsx_workbook_with_one_sheet_per_file(good: Path, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for path in sorted(good.glob("*.csv")):
        sheet = book.create_sheet(path.stem)
        for row in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()):
            sheet.append([int(c) if c.isdigit() else c for c in row])
    book.save(tmp_path / "directory.xlsx")
    imported = build_directory(read_input(tmp_path / "directory.xlsx"))
    assert imported.needs == county().needs


def test_every_problem_is_reported_with_file_line_and_column(good: Path) -> None:
    edit(
        good,
        "teachers",
        lambda rows: rows + [rows[1], ["t-x", "某", "cs-nowhere", "英语", "3", "-2"]],
    )
    edit(good, "busy", lambda rows: rows + [["tp-hekou-g1", "6", "1"], ["ghost", "1", "1"]])
    edit(good, "bells", lambda rows: rows + [["village", "7", "14:60", "15:30"]])
    edit(good, "classes", lambda rows: [rows[0], [*rows[1][:2], "cs-shimen-out1", "3", "9"]])
    edit(good, "needs", lambda rows: [[*rows[0][:2], "periods"], *rows[1:]])
    found = problems_of(good)
    assert found == ["needs.csv:1 缺少列 periods_per_week；多余列 periods"]  # headers first
    edit(good, "needs", lambda rows: [[*rows[0][:2], "periods_per_week"], *rows[1:]])
    found = problems_of(good)
    expected = [
        "teachers.csv:15 [teacher_id] 教师编号“cs-qingxi-shiyan-t1”重复",
        "teachers.csv:16 [school_id] 未知的学校“cs-nowhere”",
        "teachers.csv:16 [weekly_cap] 应在 0–60 之间，实际为 -2",
        "busy.csv:",  # day 6
        "[owner_id] 未知的班级或教师“ghost”",
        "bells.csv:15 [start] 时间格式应为 HH:MM，实际为“14:60”",
        "[classroom_id] 教室“cs-shimen-out1”不属于学校",
    ]
    for piece in expected:
        assert any(piece in line for line in found), (piece, found)
    assert any("[day] 应在 1–5 之间，实际为 6" in line for line in found)


def test_missing_files_and_unknown_encodings(good: Path) -> None:
    (good / "needs.csv").unlink()
    assert problems_of(good) == ["needs.csv 缺少此文件（或工作表）"]
    (good / "busy.csv").write_bytes(b"owner_id,day,period\n\xff\xfe\xfa,1,1\n")
    with pytest.raises(ImportFailed) as caught:
        read_input(good)
    assert [str(p) for p in caught.value.problems] == [
        "busy.csv 无法识别文件编码，请另存为 UTF-8 或 GB18030"
    ]


def test_overlapping_bells_and_huge_files(good: Path) -> None:
    edit(good, "bells", lambda rows: rows + [["central", "8", "15:50", "16:40"]])
    assert any("第 7 与第 8 节时间重叠" in line for line in problems_of(good))
    with (good / "needs.csv").open("ab") as handle:
        handle.truncate(21 * 1024 * 1024)
    with pytest.raises(ImportFailed, match="problems"):
        read_input(good)


def test_the_calendar_file_is_read_and_checked(good: Path) -> None:
    from datetime import date

    from scheduler.calendar import CalendarDay
    from scheduler.importer import build_calendar

    (good / "calendar.csv").write_text(
        "date,kind\n2026-10-01,holiday\n2026-10-11,workday_as:5\n", encoding="utf-8"
    )
    assert build_calendar(read_input(good)) == [
        CalendarDay(date(2026, 10, 1), "holiday"),
        CalendarDay(date(2026, 10, 11), "workday", 5),
    ]
    (good / "calendar.csv").write_text(
        "date,kind\n2026-13-01,holiday\n2026-10-11,workday_as:7\n", encoding="utf-8"
    )
    with pytest.raises(ImportFailed) as caught:
        build_calendar(read_input(good))
    assert [str(p) for p in caught.value.problems] == [
        "calendar.csv:2 [date] 日期格式应为 YYYY-MM-DD，实际为“2026-13-01”",
        "calendar.csv:3 [kind] 应为 holiday 或 workday_as:1–5，实际为“workday_as:7”",
    ]


def test_known_region_names_keep_their_codes_and_new_ones_get_their_own(good: Path) -> None:
    known = county().regions
    edit(good, "schools", lambda rows: [*rows, ["tp-new", "新教学点", "teaching_point", "新乡",
                                               "青溪县", rows[1][5]]])  # fmt: skip
    directory = build_directory(read_input(good), known)
    assert {s.id: s.region for s in county().schools}.items() <= {
        s.id: s.region for s in directory.schools
    }.items()  # every known township keeps its GB/T 2260 code
    new = next(s for s in directory.schools if s.id == "tp-new")
    assert new.region == "349921901"
    assert set(known) < set(directory.regions)
    other = build_directory(read_input(good))  # nothing known: codes of its own
    assert all(s.region.startswith("99") for s in other.schools)
