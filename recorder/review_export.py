"""A lesson's review as an XLSX workbook (评课记录): comments, rubric scores, talk time
and the S-T figures, one sheet each, in Chinese, for the school's teaching-research
files. It takes the review data as the review API gives it (plain dicts)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

CATEGORIES = {"strength": "亮点", "suggestion": "建议", "question": "疑问", "note": "记录"}
VISIBILITY = {"me": "仅自己", "group": "本研修组", "all": "所有有权查看的人"}
ST_MODES = {"practice": "练习型", "lecture": "讲授型", "dialogue": "对话型", "mixed": "混合型"}
MODES = {"delivery": "专递课堂", "master": "名师课堂", "open": "名校网络课堂"}


def clock(seconds: float | None) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour) of a lesson time."""
    if seconds is None:
        return ""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def review_workbook(
    review: Mapping[str, Any],
    comments: Sequence[Mapping[str, Any]],
    scores: Mapping[str, Any],
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    bold = Font(bold=True)
    items = {i["id"]: i["label"] for i in scores["rubric"]["items"]}

    sheet = book.active
    sheet.title = "评课意见"
    sheet.append([f"{review['subject']} · {review['grade']}年级 · {review['teacher']} · "
                  f"{review['school']} · {review['day']} · "
                  f"{MODES.get(review['mode'], review['mode'])}"])  # fmt: skip
    sheet.append(["时间", "至", "类别", "量表项目", "分值", "评课人", "可见范围", "内容", "回复"])
    for comment in comments:
        replies = "\n".join(f"{r['author']['name']}：{r['text']}" for r in comment["replies"])
        sheet.append([
            clock(comment["at"]), clock(comment["until"]),
            CATEGORIES.get(comment["category"], comment["category"]),
            items.get(comment["rubric_item"] or "", comment["rubric_item"] or ""),
            comment["value"], comment["author"]["name"],
            VISIBILITY.get(comment["visibility"], comment["visibility"]),
            comment["text"], replies,
        ])  # fmt: skip
    _style(sheet, bold, Alignment(wrap_text=True, vertical="top"), [8, 8, 8, 22, 6, 12, 14, 60, 40])

    sheet = book.create_sheet("评分")
    sheet.append([scores["rubric"]["name"]])
    sheet.append(["评课人", *items.values(), "总分", f"满分 {scores['rubric']['max']}", "完整"])
    for reviewer in scores["reviewers"]:
        complete = "是" if reviewer["complete"] else "否"
        sheet.append([reviewer["name"], *(reviewer["scores"].get(i) for i in items),
                      reviewer["total"], reviewer["max"], complete])  # fmt: skip
    average = scores["average"]
    sheet.append([f"平均（{average['reviewers']} 份完整评分）",
                  *(average["per_item"].get(i) for i in items), average["total"]])  # fmt: skip
    _style(sheet, bold, Alignment(wrap_text=True), [22, *(14 for _ in items), 8, 10, 6])

    sheet = book.create_sheet("发言时间")
    talk = review.get("talk")
    if talk:
        sheet.append(["项目", "秒", "占比"])
        lesson = talk["lesson_s"] or 1
        rows = (("课堂时长", talk["lesson_s"]), ("教师讲话", talk["teacher_s"]),
                ("学生（听课端）发言", talk["students_s"]), ("重叠", talk["overlap_s"]),
                ("沉默", talk["silence_s"]))  # fmt: skip
        for label, seconds in rows:
            sheet.append([label, round(seconds, 1), f"{seconds / lesson:.1%}"])
        for identity, seconds in sorted(talk["per_student"].items()):
            name = _receiver_name(review, identity)
            sheet.append([f"  {name}", round(seconds, 1), f"{seconds / lesson:.1%}"])
    else:
        sheet.append(["没有教师麦克风的录音，无法统计发言时间。"])
    _style(sheet, bold, Alignment(), [28, 10, 10])

    sheet = book.create_sheet("S-T分析")
    st = review.get("st")
    if st:
        sheet.append(["项目", "值"])
        for row in (("采样间隔（秒）", st["every_s"]), ("采样数 N", st["n"]),
                    ("教师行为数 NT", st["nt"]), ("连数 g", st["runs"]),
                    ("教师行为占有率 Rt", st["rt"]), ("师生行为转换率 Ch", st["ch"]),
                    ("教学模式", ST_MODES.get(st["mode"], st["mode"])),
                    ("序列", st["sequence"])):  # fmt: skip
            sheet.append(list(row))
    else:
        sheet.append(["没有教师麦克风的录音，无法进行 S-T 分析。"])
    _style(sheet, bold, Alignment(wrap_text=True), [22, 60])

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _receiver_name(review: Mapping[str, Any], identity: str) -> str:
    classroom = identity.partition(":")[2]
    for receiver in review.get("receivers", []):
        if receiver["classroom"] == classroom:
            return str(receiver["school"])
    return identity


def _style(sheet: Any, bold: Any, align: Any, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for cell in sheet[2] if sheet.max_row >= 2 else ():
        cell.font = bold
    for row in sheet.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = align
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # what a reviewer typed is text, never a formula
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
