"""Roles and actions, and which role may do which action (DESIGN.md §8).

Scope (which region or school) is checked separately, in ``authorize``.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # 区/市 电教: everything in their region
    SCHOOL_ADMIN = "school_admin"  # their school's classrooms, teachers, classes
    TEACHER = "teacher"  # 主讲: teach, see own recordings and workload
    RECEIVING_CLASSROOM = "receiving_classroom"  # 听课端 device account
    INSPECTOR = "inspector"  # 巡课: watch live lessons silently, record inspections
    RESEARCHER = "researcher"  # 教研员: review recordings, comment, score, clip


#: Roles whose scope is a region; the others are scoped to one school.
REGION_ROLES = frozenset({Role.ADMIN, Role.INSPECTOR, Role.RESEARCHER})


class Action(StrEnum):
    ACCOUNT_SELF = "account.self"  # one's own account: profile, password, second factor
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    DIRECTORY_READ = "directory.read"
    DIRECTORY_MANAGE = "directory.manage"
    SCHEDULE_READ = "schedule.read"
    SCHEDULE_MANAGE = "schedule.manage"
    LESSON_TEACH = "lesson.teach"
    LESSON_RECEIVE = "lesson.receive"
    LESSON_WATCH = "lesson.watch"
    INSPECTION_RECORD = "inspection.record"
    RECORDING_VIEW = "recording.view"
    RECORDING_REVIEW = "recording.review"
    REPORT_READ = "report.read"
    SYSTEM_OPERATE = "system.operate"


_ALL = frozenset(Action)

POLICY: dict[Role, frozenset[Action]] = {
    Role.ADMIN: _ALL,
    Role.SCHOOL_ADMIN: frozenset(
        {
            Action.ACCOUNT_SELF,
            Action.USER_READ,
            Action.USER_MANAGE,
            Action.DIRECTORY_READ,
            Action.DIRECTORY_MANAGE,
            Action.SCHEDULE_READ,
            Action.RECORDING_VIEW,
            Action.REPORT_READ,
        }
    ),
    Role.TEACHER: frozenset(
        {
            Action.ACCOUNT_SELF,
            Action.DIRECTORY_READ,
            Action.SCHEDULE_READ,
            Action.LESSON_TEACH,
            Action.RECORDING_VIEW,
        }
    ),
    Role.RECEIVING_CLASSROOM: frozenset(
        {Action.ACCOUNT_SELF, Action.SCHEDULE_READ, Action.LESSON_RECEIVE}
    ),
    Role.INSPECTOR: frozenset(
        {
            Action.ACCOUNT_SELF,
            Action.DIRECTORY_READ,
            Action.SCHEDULE_READ,
            Action.LESSON_WATCH,
            Action.INSPECTION_RECORD,
            Action.RECORDING_VIEW,
            Action.REPORT_READ,
        }
    ),
    Role.RESEARCHER: frozenset(
        {
            Action.ACCOUNT_SELF,
            Action.DIRECTORY_READ,
            Action.SCHEDULE_READ,
            Action.LESSON_WATCH,
            Action.RECORDING_VIEW,
            Action.RECORDING_REVIEW,
            Action.REPORT_READ,
        }
    ),
}

#: Which roles a manager may give to the accounts it creates.
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.SCHOOL_ADMIN: frozenset({Role.TEACHER, Role.RECEIVING_CLASSROOM}),
}
