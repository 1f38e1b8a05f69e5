"""Errors of the live-lessons package.

Every error has a ``code`` (stable, for pages and the API to pick a translated
message) and an English ``message`` a person can act on::

    RoomsError
    ├── LessonRefused         the lesson cannot be joined or acted on now (ended, not
    │                         yet open, another region's, not your lesson, ...)
    ├── ControlRefused        an interaction the room's state or the role does not allow
    │                         (raising a hand while interaction is disabled, ...)
    ├── InspectionInvalid     an inspection record with a missing or out-of-range score
    └── QualityReportInvalid  a page's stats report that is not what the client sends
"""

from __future__ import annotations


class RoomsError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LessonRefused(RoomsError):
    pass


class ControlRefused(RoomsError):
    pass


class InspectionInvalid(RoomsError):
    pass


class QualityReportInvalid(RoomsError):
    def __init__(self, message: str, code: str = "bad_report") -> None:
        super().__init__(code, message)
