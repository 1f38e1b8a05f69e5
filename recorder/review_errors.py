"""Errors of the review side (comments, rubrics, groups, clips): what a reviewer asked
for that cannot be done, with a reason a person can act on. The web layer turns them into
problem responses (``field`` names the input at fault)."""

from __future__ import annotations


class ReviewError(Exception):
    """Base of the review side's refusals."""


class ReviewInvalid(ReviewError):
    """An input breaks a rule: ``field`` and ``reason`` say which and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


class RubricInvalid(ReviewError, ValueError):
    """A rubric document (settings) is malformed; the message says where."""


class ReviewRefused(ReviewError):
    """The reviewer may not do this (not the author, not a member, ...); ``code`` is a
    stable key for the page's message."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ReviewNotFound(ReviewError):
    """No such comment, group, session or clip (or not one the reader may see)."""
