"""Reading the scheduler's input: a directory of CSV files or one XLSX workbook.

CSV may be UTF-8 (with or without BOM) or GB18030 (what Excel on a Chinese Windows
saves); the encoding is detected. An XLSX has one sheet per file name (``schools``
or ``schools.csv``). Every cell comes back as text with its line number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import ImportFailed, Problem
from scheduler.plan import Lesson

MAX_BYTES = 20 * 1024 * 1024  # a county's directory is well under 1 MB
NAMES = (
    "schools", "bells", "classrooms", "teachers", "classes", "needs", "busy", "previous",
    "calendar",
)  # fmt: skip


@dataclass(frozen=True)
class Table:
    file: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, cells)


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _table(file: str, text: str) -> Table:
    lines = list(csv.reader(io.StringIO(text)))
    header = [cell.strip() for cell in lines[0]] if lines else []
    rows = [
        (n, [cell.strip() for cell in row])
        for n, row in enumerate(lines[1:], start=2)
        if any(cell.strip() for cell in row)
    ]
    return Table(file, header, rows)


def read_input(path: Path) -> dict[str, Table]:
    """The tables found at ``path`` by name; raises ``ImportFailed`` for unreadable files."""
    if path.is_file() and path.suffix.lower() == ".xlsx":
        return _read_workbook(path)
    if not path.is_dir():
        raise ImportFailed(
            [Problem(str(path), 0, "", "找不到输入：应为一个 CSV 文件夹或一个 XLSX 工作簿")]
        )
    tables: dict[str, Table] = {}
    problems: list[Problem] = []
    for name in NAMES:
        file = path / f"{name}.csv"
        if not file.exists():
            continue
        if file.stat().st_size > MAX_BYTES:
            problems.append(Problem(file.name, 0, "", f"文件过大（超过 {MAX_BYTES // 2**20} MB）"))
            continue
        text = _decode(file.read_bytes())
        if text is None:
            problems.append(
                Problem(file.name, 0, "", "无法识别文件编码，请另存为 UTF-8 或 GB18030")
            )
            continue
        tables[name] = _table(file.name, text)
    if problems:
        raise ImportFailed(problems)
    return tables


def _read_workbook(path: Path) -> dict[str, Table]:
    from openpyxl import load_workbook

    if path.stat().st_size > MAX_BYTES:
        raise ImportFailed([Problem(path.name, 0, "", f"文件过大（超过 {MAX_BYTES // 2**20} MB）")])
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFailed([Problem(path.name, 0, "", f"无法打开工作簿：{exc}")]) from None
    tables = {}
    try:
        for sheet in book.worksheets:
            name = sheet.title.strip().removesuffix(".csv")
            if name not in NAMES:
                continue
            cells = [
                ["" if v is None else _cell_text(v) for v in row]
                for row in sheet.iter_rows(values_only=True)
            ]
            buffer = io.StringIO()
            csv.writer(buffer).writerows(cells)
            tables[name] = _table(f"{path.name}:{name}", buffer.getvalue())
    finally:
        book.close()
    return tables


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%H:%M")  # type: ignore[no-any-return]
    return str(value)


def read_timetable(path: Path) -> list[Lesson]:
    """Lessons from a ``timetable.csv`` that ``sanke schedule solve`` wrote."""
    text = _decode(path.read_bytes()) if path.exists() else None
    if text is None:
        raise ImportFailed([Problem(path.name, 0, "", "找不到或无法读取课表文件")])
    table = _table(path.name, text)
    expected = ["lesson_id", "day", "period", "teacher_id", "output_classroom_id", "subject",
                "grade", "class_ids"]  # fmt: skip
    if table.header != expected:
        raise ImportFailed([Problem(path.name, 1, "", "列应为 " + ",".join(expected))])
    lessons, problems = [], []
    for line, cells in table.rows:
        try:
            lid, day, period, teacher, room, subject, grade, classes = cells
            lessons.append(
                Lesson(lid, int(day), int(period), teacher, room, subject, int(grade),
                       tuple(c for c in classes.split(";") if c))
            )  # fmt: skip
        except ValueError:
            problems.append(Problem(path.name, line, "", "此行格式不正确"))
    if problems:
        raise ImportFailed(problems)
    return lessons
