"""Review comments: what makes one valid, and who may read it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from recorder.review import Category, Comment, NewComment, Visibility, check_comment, may_read
from recorder.review_errors import ReviewInvalid
from recorder.rubrics import DEFAULT_RUBRIC


def new(**changes: object) -> NewComment:
    base: dict[str, object] = {"at": 10.0, "until": None, "category": Category.NOTE,
                               "text": " 好 ", "visibility": Visibility.ALL}  # fmt: skip
    return NewComment(**(base | changes))  # type: ignore[arg-type]


def test_a_good_comment_comes_back_stripped() -> None:
    checked = check_comment(new(rubric_item="goals", value=4), DEFAULT_RUBRIC, 60.0, set())
    assert checked.text == "好" and checked.value == 4
    assert check_comment(new(at=0.0, until=60.5), DEFAULT_RUBRIC, 60.0, set()).until == 60.5
    grouped = new(visibility=Visibility.GROUP, group=3)
    assert check_comment(grouped, DEFAULT_RUBRIC, None, {3}).group == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"at": -1.0}, "at"),
        ({"at": float("nan")}, "at"),
        ({"at": 62.0}, "at"),
        ({"until": 10.0}, "until"),
        ({"until": 90.0}, "until"),
        ({"text": "  "}, "text"),
        ({"text": "字" * 2001}, "text"),
        ({"visibility": Visibility.GROUP}, "group"),
        ({"visibility": Visibility.GROUP, "group": 4}, "group"),
        ({"group": 3}, "group"),
        ({"rubric_item": "goals"}, "value"),
        ({"value": 3}, "value"),
        ({"rubric_item": "goals", "value": 7}, "value"),
    ],
)
def test_a_bad_comment_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ReviewInvalid) as refused:
        check_comment(new(**changes), DEFAULT_RUBRIC, 60.0, {3})
    assert refused.value.field == field


def comment(visibility: Visibility, group: int | None = None) -> Comment:
    return Comment(1, "r", 7, "周雯", 1.0, None, Category.NOTE, "x", visibility, group, None,
                   None, datetime(2026, 11, 24, tzinfo=UTC))  # fmt: skip


def test_who_reads_a_comment() -> None:
    assert may_read(comment(Visibility.ME), 7, set())
    assert not may_read(comment(Visibility.ME), 8, {1})
    assert may_read(comment(Visibility.GROUP, 1), 8, {1, 2})
    assert not may_read(comment(Visibility.GROUP, 1), 8, {2})
    assert may_read(comment(Visibility.ALL), 8, set())
