"""Time-coded review comments (评课意见) on a recording: what makes one valid, and who
may read it.

A comment marks a moment (``at``) or a range (``at``..``until``) of the lesson's
timeline in seconds, has a category, optionally scores one rubric item, and is visible to
its author only, to one research group, or to everyone who may see the recording. Pure:
the store keeps comments, the web layer decides who is asking.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from recorder.review_errors import ReviewInvalid
from recorder.rubrics import Rubric

MAX_TEXT = 2000
MAX_TITLE = 100


class Category(StrEnum):
    STRENGTH = "strength"  # 亮点
    SUGGESTION = "suggestion"  # 建议
    QUESTION = "question"  # 疑问
    NOTE = "note"  # 记录


class Visibility(StrEnum):
    ME = "me"  # the author only
    GROUP = "group"  # one research group the author belongs to
    ALL = "all"  # everyone who may see the recording


@dataclass(frozen=True)
class NewComment:
    """A comment as a reviewer writes it."""

    at: float
    until: float | None
    category: Category
    text: str
    visibility: Visibility
    group: int | None = None
    rubric_item: str | None = None
    value: int | None = None


@dataclass(frozen=True)
class Reply:
    id: int
    comment: int
    author_id: int
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Comment:
    id: int
    recording: str
    author_id: int
    author: str
    at: float
    until: float | None
    category: Category
    text: str
    visibility: Visibility
    group: int | None
    rubric_item: str | None
    value: int | None
    created_at: datetime
    replies: tuple[Reply, ...] = ()


def check_text(text: str, field: str = "text", limit: int = MAX_TEXT) -> str:
    """The text stripped, or ``ReviewInvalid`` when empty or too long."""
    text = text.strip()
    if not text:
        raise ReviewInvalid(field, "must not be empty")
    if len(text) > limit:
        raise ReviewInvalid(field, f"must be at most {limit} characters (got {len(text)})")
    return text


def check_range(at: float, until: float | None, duration: float | None) -> None:
    """A moment or a range inside the lesson (``duration`` seconds, when known)."""
    if not at >= 0:  # also refuses NaN
        raise ReviewInvalid("at", "must be a time in seconds from the lesson's start, ≥ 0")
    if duration is not None and at > duration + 1:
        raise ReviewInvalid("at", f"is past the recording's end ({duration:.0f} s)")
    if until is not None:
        if not until > at:
            raise ReviewInvalid("until", "must be later than 'at'")
        if duration is not None and until > duration + 1:
            raise ReviewInvalid("until", f"is past the recording's end ({duration:.0f} s)")


def check_comment(
    comment: NewComment, rubric: Rubric, duration: float | None, groups: Collection[int]
) -> NewComment:
    """``comment`` with its text stripped, or ``ReviewInvalid`` naming the first broken
    rule; ``groups`` are the author's research groups that share this recording."""
    check_range(comment.at, comment.until, duration)
    text = check_text(comment.text)
    if comment.visibility is Visibility.GROUP:
        if comment.group is None:
            raise ReviewInvalid("group", "a comment for a research group must name the group")
        if comment.group not in groups:
            raise ReviewInvalid("group", "you are not in that research group, "
                                "or the recording is not shared with it")  # fmt: skip
    elif comment.group is not None:
        raise ReviewInvalid("group", "only a comment visible to a group names a group")
    if (comment.rubric_item is None) != (comment.value is None):
        raise ReviewInvalid("value", "a rubric item and its scale value go together")
    if comment.rubric_item is not None and comment.value is not None:
        rubric.check_score(comment.rubric_item, comment.value)
    return NewComment(
        comment.at, comment.until, comment.category, text, comment.visibility,
        comment.group, comment.rubric_item, comment.value,
    )  # fmt: skip


def may_read(comment: Comment, reader_id: int, reader_groups: Collection[int]) -> bool:
    """May the reader (who may see the recording) read ``comment``?"""
    if comment.author_id == reader_id or comment.visibility is Visibility.ALL:
        return True
    if comment.visibility is Visibility.GROUP:
        return comment.group in reader_groups
    return False
