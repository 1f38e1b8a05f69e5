"""Observation scales (课堂观察量表 / 评课量表): items, each scored on a scale, configured
per region, and the per-lesson summary of the scores given.

A region's rubric is found by the longest division-code prefix that has one (a county's
own scale, else its city's, else the default). A reviewer's total is the sum of the values
they gave; it is ``complete`` when every item is scored. The group average is taken over
complete score sheets only, so a half-filled sheet does not pull it down; per item it is
over everyone who scored that item. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from recorder.review_errors import ReviewInvalid, RubricInvalid

FIVE_POINTS = (
    (1, "待改进"),
    (2, "一般"),
    (3, "良好"),
    (4, "优秀"),
    (5, "示范"),
)


@dataclass(frozen=True)
class RubricItem:
    id: str
    label: str
    scale: tuple[tuple[int, str], ...] = FIVE_POINTS

    @property
    def max(self) -> int:
        return max(value for value, _ in self.scale)

    @property
    def values(self) -> frozenset[int]:
        return frozenset(value for value, _ in self.scale)


@dataclass(frozen=True)
class Rubric:
    id: str
    name: str
    items: tuple[RubricItem, ...]

    def item(self, item_id: str) -> RubricItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise ReviewInvalid("rubric_item", f"{item_id!r} is not an item of the rubric {self.name}")

    def check_score(self, item_id: str, value: int) -> None:
        item = self.item(item_id)
        if value not in item.values:
            allowed = ", ".join(str(v) for v, _ in item.scale)
            raise ReviewInvalid("value", f"{value} is not on the scale of {item.label} ({allowed})")

    @property
    def max_total(self) -> int:
        return sum(item.max for item in self.items)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "max": self.max_total,
            "items": [
                {
                    "id": i.id,
                    "label": i.label,
                    "max": i.max,
                    "scale": [{"value": v, "label": label} for v, label in i.scale],
                }
                for i in self.items
            ],  # fmt: skip
        }


#: The default scale: what 三个课堂 lesson observation looks at, remote classrooms included.
DEFAULT_RUBRIC = Rubric(
    "default",
    "三个课堂课堂观察量表",
    (
        RubricItem("goals", "教学目标明确、适切"),
        RubricItem("content", "教学内容准确、容量适当"),
        RubricItem("method", "教学方法与过程"),
        RubricItem("remote", "关注远端课堂、双向互动"),
        RubricItem("technology", "信息技术与设备运用"),
        RubricItem("effect", "教学效果与学生参与"),
    ),
)


@dataclass(frozen=True)
class Rubrics:
    """The rubrics of a deployment: by region code prefix, and the default."""

    by_region: Mapping[str, Rubric] = field(default_factory=dict)
    default: Rubric = DEFAULT_RUBRIC

    def for_regions(self, regions: frozenset[str]) -> Rubric:
        """The rubric of the most specific region configured that covers one of
        ``regions`` (division codes of the lesson's schools)."""
        best: tuple[int, str] | None = None
        for prefix in self.by_region:
            for code in regions:
                if code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), prefix)
        return self.by_region[best[1]] if best else self.default


def parse_rubrics(doc: Mapping[str, Any]) -> Rubrics:
    """``{"default": RUBRIC?, "regions": {"3415": RUBRIC, ...}}`` where a RUBRIC is
    ``{"id", "name", "items": [{"id", "label", "scale"?: [[value, label], ...]}]}``;
    ``RubricInvalid`` names the first thing wrong."""
    if not isinstance(doc, Mapping):
        raise RubricInvalid("the rubrics setting must be an object")
    default = _rubric(doc["default"], "default") if "default" in doc else DEFAULT_RUBRIC
    regions = doc.get("regions", {})
    if not isinstance(regions, Mapping):
        raise RubricInvalid("'regions' must map region code prefixes to rubrics")
    by_region: dict[str, Rubric] = {}
    for prefix, rubric in regions.items():
        if not (isinstance(prefix, str) and prefix.isdigit() and 2 <= len(prefix) <= 9):
            raise RubricInvalid(f"region prefix {prefix!r} must be 2 to 9 digits")
        by_region[prefix] = _rubric(rubric, f"regions.{prefix}")
    return Rubrics(by_region, default)


def _rubric(doc: Any, where: str) -> Rubric:
    if not isinstance(doc, Mapping):
        raise RubricInvalid(f"{where} must be an object with id, name and items")
    rubric_id, name, items = doc.get("id"), doc.get("name"), doc.get("items")
    if not isinstance(rubric_id, str) or not rubric_id or not isinstance(name, str) or not name:
        raise RubricInvalid(f"{where} needs a non-empty 'id' and 'name'")
    if not isinstance(items, list) or not items:
        raise RubricInvalid(f"{where}.items must be a non-empty list")
    parsed = tuple(_item(item, f"{where}.items[{n}]") for n, item in enumerate(items))
    ids = [item.id for item in parsed]
    if len(set(ids)) != len(ids):
        raise RubricInvalid(f"{where}: item ids must be unique")
    return Rubric(rubric_id, name, parsed)


def _item(doc: Any, where: str) -> RubricItem:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("id"), str) or not doc["id"]:
        raise RubricInvalid(f"{where} needs a non-empty 'id'")
    if not isinstance(doc.get("label"), str) or not doc["label"]:
        raise RubricInvalid(f"{where} needs a non-empty 'label'")
    scale = doc.get("scale")
    if scale is None:
        return RubricItem(doc["id"], doc["label"])
    if not isinstance(scale, list) or len(scale) < 2:
        raise RubricInvalid(f"{where}.scale must list at least two [value, label] pairs")
    pairs: list[tuple[int, str]] = []
    for step in scale:
        if isinstance(step, Mapping):  # as ``Rubric.as_json`` writes it
            step = [step.get("value"), step.get("label")]
        ok = isinstance(step, list | tuple) and len(step) == 2
        if not ok or type(step[0]) is not int or not isinstance(step[1], str):
            raise RubricInvalid(f"{where}.scale: {step!r} is not an [integer, label] pair")
        pairs.append((step[0], step[1]))
    if len({value for value, _ in pairs}) != len(pairs):
        raise RubricInvalid(f"{where}.scale: values must be unique")
    return RubricItem(doc["id"], doc["label"], tuple(sorted(pairs)))


@dataclass(frozen=True)
class Sheet:
    """One reviewer's scores of one lesson."""

    reviewer_id: int
    reviewer: str
    scores: Mapping[str, int]
    total: int
    max: int
    complete: bool


@dataclass(frozen=True)
class Summary:
    sheets: tuple[Sheet, ...]
    average_total: float | None  # over complete sheets
    average_per_item: Mapping[str, float]
    complete_sheets: int


def summarize(rubric: Rubric, scores: Mapping[tuple[int, str], Mapping[str, int]]) -> Summary:
    """The per-reviewer totals and the group average of a lesson's scores:
    ``scores[(reviewer_id, reviewer_name)] = {item: value}``. Values for items no longer
    in the rubric (it was changed) are left out."""
    items = [item.id for item in rubric.items]
    sheets = []
    for (reviewer_id, reviewer), given in sorted(scores.items()):
        kept = {item: given[item] for item in items if item in given}
        if not kept:
            continue
        sheets.append(Sheet(reviewer_id, reviewer, kept, sum(kept.values()), rubric.max_total,
                            len(kept) == len(items)))  # fmt: skip
    complete = [sheet.total for sheet in sheets if sheet.complete]
    per_item = {
        item: round(fmean(values), 2)
        for item in items
        if (values := [sheet.scores[item] for sheet in sheets if item in sheet.scores])
    }
    average = round(fmean(complete), 2) if complete else None
    return Summary(tuple(sheets), average, per_item, len(complete))
