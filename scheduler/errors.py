"""Errors of the scheduler package.

SchedulerError
└── ImportFailed   the input has problems; ``problems`` lists every one (nothing was stored)
"""

from __future__ import annotations

from dataclasses import dataclass


class SchedulerError(Exception):
    """Base class of every scheduler error."""


@dataclass(frozen=True)
class Problem:
    """One problem in the input, where a person can find it: file, line, column."""

    file: str
    line: int  # 1 is the header; 0 when the whole file is at fault
    column: str
    message: str  # Chinese, for the people who prepare the files

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where} [{self.column}] {self.message}" if self.column else f"{where} {self.message}"
        )


class ImportFailed(SchedulerError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems in the input")
        self.problems = problems
