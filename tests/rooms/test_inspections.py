"""Network patrol records: a score of 1-5 per checklist item, and notes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.errors import InspectionInvalid
from rooms.inspections import MAX_NOTES, check_inspection

CHECKLIST = ("教学准备", "互动效果", "音视频质量")


def code_of(scores: dict[str, object], notes: str = "") -> str:
    with pytest.raises(InspectionInvalid) as error:
        check_inspection(CHECKLIST, scores, notes)
    return error.value.code


def test_a_full_record_is_kept_in_checklist_order() -> None:
    scores, notes = check_inspection(
        CHECKLIST, {"音视频质量": 2, "教学准备": 5, "互动效果": 4}, "好"
    )
    assert scores == {"教学准备": 5, "互动效果": 4, "音视频质量": 2}
    assert list(scores) == list(CHECKLIST)
    assert notes == "好"


def test_items_may_be_left_out() -> None:
    assert check_inspection(CHECKLIST, {"互动效果": 1}, "") == ({"互动效果": 1}, "")


@pytest.mark.parametrize("value", [1, 2, 3, 4, 5])
def test_whole_numbers_from_one_to_five_are_scores(value: int) -> None:
    assert check_inspection(CHECKLIST, {"教学准备": value}, "")[0] == {"教学准备": value}


@pytest.mark.parametrize("value", [True, False, 0, 6, -1, 2.5, 3.0, "3", None, [3]])
def test_anything_else_is_a_bad_score(value: object) -> None:
    assert code_of({"教学准备": 4, "互动效果": value}) == "bad_score"


def test_the_message_names_the_item() -> None:
    with pytest.raises(InspectionInvalid) as error:
        check_inspection(CHECKLIST, {"互动效果": 9}, "")
    assert "互动效果" in error.value.message


def test_unknown_items_are_refused_and_named() -> None:
    with pytest.raises(InspectionInvalid) as error:
        check_inspection(CHECKLIST, {"教学准备": 3, "板书": 4, "作业": 2}, "")
    assert error.value.code == "unknown_item"
    assert "板书" in error.value.message and "作业" in error.value.message


def test_an_unknown_item_is_reported_before_a_bad_score() -> None:
    assert code_of({"板书": 3, "教学准备": 9}) == "unknown_item"


def test_at_least_one_score() -> None:
    assert code_of({}) == "no_scores"
    with pytest.raises(InspectionInvalid) as error:
        check_inspection((), {}, "notes")
    assert error.value.code == "no_scores"


def test_notes_are_trimmed() -> None:
    assert check_inspection(CHECKLIST, {"教学准备": 3}, "  \n 画面卡顿 \t\n")[1] == "画面卡顿"


def test_notes_are_bounded_after_trimming() -> None:
    longest = "字" * MAX_NOTES
    assert check_inspection(CHECKLIST, {"教学准备": 3}, f"  {longest}\n")[1] == longest
    assert code_of({"教学准备": 3}, longest + "字") == "notes_too_long"
    assert MAX_NOTES == 2000


@given(st.integers())
def test_an_integer_is_a_score_iff_it_is_from_one_to_five(value: int) -> None:
    try:
        scores, _ = check_inspection(CHECKLIST, {"音视频质量": value}, "")
    except InspectionInvalid as error:
        assert error.code == "bad_score" and not 1 <= value <= 5
    else:
        assert 1 <= value <= 5 and scores == {"音视频质量": value}


@given(
    st.dictionaries(st.sampled_from(CHECKLIST), st.integers(min_value=1, max_value=5), min_size=1),
    st.text(max_size=50),
)
def test_valid_records_come_back_unchanged_but_for_trimmed_notes(
    scores: dict[str, int], notes: str
) -> None:
    clean, text = check_inspection(CHECKLIST, dict(scores), notes)
    assert clean == scores and text == notes.strip()
