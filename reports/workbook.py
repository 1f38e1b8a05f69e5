"""The indicators of a period and region as an XLSX workbook, one sheet per indicator,
in Chinese, for the progress reporting (应用进展信息报送) offices ask for.

It takes the figures as the indicators API gives them (plain dicts), so the workbook
and the API never disagree.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

REASONS = {
    "room_not_opened": "平台未开课", "teacher_absent": "主讲教师缺席",
    "not_started": "教师未开始授课", "ended_early": "提前下课",
    "teacher_short": "教师在线不足",
}  # fmt: skip


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> float | str:
    return "" if value is None else value


def indicators_workbook(
    title: str,
    rows: Sequence[Mapping[str, Any]],
    coverage: Sequence[Mapping[str, Any]],
    workload: Sequence[Mapping[str, Any]],
    patrol: Mapping[str, float],
) -> bytes:
    """``rows``: one per group with ``name``, ``lessons`` and ``receivers`` figures."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)

    sheet = book.active
    sheet.title = "开课率"
    sheet.append([title])
    sheet.append(["单位", "应开课", "实开课", "开课率", "未开课原因", "调课代课", "教师在线小时"])
    for row in rows:
        le = row["lessons"]
        if not le:
            continue
        reasons = "；".join(f"{REASONS.get(k, k)} {v}" for k, v in le["not_held"].items())
        sheet.append([row["name"], le["scheduled"], le["held"], _pct(le["rate"]), reasons,
                      le["repaired"], le["teacher_hours"]])  # fmt: skip
    _finish(sheet, bold, [24, 10, 10, 10, 40, 10, 14])

    sheet = book.create_sheet("接收端出勤")
    sheet.append([title])
    sheet.append(["单位", "应到课堂", "准时", "准时率", "到课率", "在线时长占比", "在线分钟"])
    for row in rows:
        rc = row["receivers"]
        sheet.append([row["name"], rc["expected"], rc["on_time"], _pct(rc["on_time_rate"]),
                      _pct(rc["joined_rate"]), _pct(rc["present_share"]),
                      rc["present_minutes"]])  # fmt: skip
    _finish(sheet, bold, [24, 10, 8, 10, 10, 14, 12])

    sheet = book.create_sheet("音视频质量")
    sheet.append([title])
    sheet.append(["单位", "有视频分钟", "无卡顿占比", "每小时卡顿", "丢包率中位数",
                  "往返时延中位数(ms)", "质量差课次", "长期问题"])  # fmt: skip
    for row in rows:
        rc = row["receivers"]
        sheet.append([row["name"], rc["video_minutes"], _pct(rc["freeze_free_share"]),
                      _num(rc["freezes_per_hour"]), _pct(rc["median_loss"]),
                      _num(rc["median_rtt_ms"]), rc["poor"],
                      "是" if rc["chronic"] else ""])  # fmt: skip
    _finish(sheet, bold, [24, 12, 12, 12, 14, 18, 12, 10])

    sheet = book.create_sheet("开齐开足")
    sheet.append([title])
    sheet.append(["班级", "学科", "每周需求", "周数", "应上", "已排", "实上", "完成率"])
    for c in coverage:
        sheet.append([c["class_id"], c["subject"], c["need_per_week"], c["weeks"], c["needed"],
                      c["scheduled"], c["delivered"], _pct(c["rate"])])  # fmt: skip
    _finish(sheet, bold, [22, 10, 10, 8, 8, 8, 8, 10])

    sheet = book.create_sheet("教师工作量")
    sheet.append([title])
    sheet.append(["教师", "应上课时", "实上课时", "授课小时", "评课意见", "评分课例"])
    for w in workload:
        sheet.append([w["name"], w["scheduled"], w["taught"], w["hours"],
                      w["review_comments"], w["recordings_scored"]])  # fmt: skip
    _finish(sheet, bold, [18, 10, 10, 10, 10, 10])

    sheet = book.create_sheet("巡课与教研")
    sheet.append([title])
    sheet.append(["单位", "巡课课次", "巡课覆盖率", "发现问题", "录制课例", "已评课例",
                  "评课意见", "平均评分", "评课活动"])  # fmt: skip
    for row in rows:
        le = row["lessons"]
        if not le:
            continue
        sheet.append([row["name"], le["inspected"], _pct(le["inspected_share"]), le["problems"],
                      le["recorded"], le["reviewed"], le["comments"], _num(le["mean_score"]),
                      le["sessions"]])  # fmt: skip
    sheet.append([])
    sheet.append(["巡课项目", "平均分"])
    for item, mean in patrol.items():
        sheet.append([item, mean])
    _finish(sheet, bold, [24, 10, 12, 10, 10, 10, 10, 10, 10])

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _finish(sheet: Any, bold: Any, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for cell in sheet[2]:
        cell.font = bold
    sheet["A1"].font = bold
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # names typed by people are text, never formulas
    sheet.freeze_panes = "A3"
