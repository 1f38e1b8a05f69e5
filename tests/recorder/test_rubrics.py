"""Rubrics: configured per region, checked scores, and the lesson's summary."""

from __future__ import annotations

import pytest

from recorder.review_errors import ReviewInvalid, RubricInvalid
from recorder.rubrics import DEFAULT_RUBRIC, Rubric, RubricItem, parse_rubrics, summarize

COUNTY = {"id": "qx", "name": "青溪县量表",
          "items": [{"id": "a", "label": "目标"}, {"id": "b", "label": "互动",
                                                   "scale": [[0, "无"], [2, "有"]]}]}  # fmt: skip


def test_the_most_specific_region_with_a_rubric_wins() -> None:
    rubrics = parse_rubrics({"regions": {"34": DEFAULT_RUBRIC.as_json() | {"id": "ah"},
                                         "341524": COUNTY}})  # fmt: skip
    assert rubrics.for_regions(frozenset({"341524101"})).id == "qx"
    assert rubrics.for_regions(frozenset({"341500"})).id == "ah"
    assert rubrics.for_regions(frozenset({"110000"})) is DEFAULT_RUBRIC
    county = rubrics.by_region["341524"]
    assert county.item("b").scale == ((0, "无"), (2, "有")) and county.max_total == 7


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ([], "must be an object"),
        ({"regions": {"34a": COUNTY}}, "2 to 9 digits"),
        ({"default": {"id": "x", "name": "y", "items": []}}, "non-empty list"),
        ({"default": {"id": "x", "name": "y", "items": [{"id": "a"}]}}, "label"),
        ({"default": {"id": "x", "name": "y",
                      "items": [{"id": "a", "label": "a"}, {"id": "a", "label": "b"}]}}, "unique"),
        ({"default": {"id": "x", "name": "y",
                      "items": [{"id": "a", "label": "a", "scale": [[1, "x"]]}]}}, "at least two"),
        ({"default": {"id": "x", "name": "y",
                      "items": [{"id": "a", "label": "a", "scale": [[1.5, "x"], [2, "y"]]}]}},
         "integer"),
    ],
)  # fmt: skip
def test_a_bad_rubrics_setting_says_where(doc: object, words: str) -> None:
    with pytest.raises(RubricInvalid, match=words):
        parse_rubrics(doc)  # type: ignore[arg-type]


def test_a_score_must_be_on_the_items_scale() -> None:
    DEFAULT_RUBRIC.check_score("goals", 5)
    with pytest.raises(ReviewInvalid, match="not on the scale"):
        DEFAULT_RUBRIC.check_score("goals", 6)
    with pytest.raises(ReviewInvalid, match="not an item"):
        DEFAULT_RUBRIC.check_score("charisma", 3)


def test_the_summary_averages_complete_sheets_and_each_item_over_its_scorers() -> None:
    rubric = Rubric("r", "r", (RubricItem("a", "A"), RubricItem("b", "B")))
    summary = summarize(rubric, {
        (1, "周雯"): {"a": 5, "b": 4},
        (2, "王晓燕"): {"a": 3, "b": 2},
        (3, "李明"): {"a": 1},  # half a sheet: not in the total's average
        (4, "旧量表"): {"gone": 5},  # an item no longer in the rubric: left out
    })  # fmt: skip
    assert [(s.reviewer, s.total, s.complete) for s in summary.sheets] == [
        ("周雯", 9, True), ("王晓燕", 5, True), ("李明", 1, False)]  # fmt: skip
    assert summary.average_total == 7.0 and summary.complete_sheets == 2
    assert summary.average_per_item == {"a": 3.0, "b": 3.0}
    assert summarize(rubric, {}).average_total is None
