"""Users: accounts with one role and one scope, and the rules for creating them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from identity.authorize import Principal
from identity.errors import InvalidUser
from identity.passwords import check_password_policy
from identity.roles import REGION_ROLES, Role
from identity.scope import Scope

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


@dataclass(frozen=True)
class User:
    """An account. ``home_region`` is its region, or its school's township code."""

    id: int
    username: str
    display_name: str
    role: Role
    scope: Scope
    home_region: str | None
    active: bool
    totp_enabled: bool
    created_at: datetime
    teacher_id: str | None = None  # a teacher account: the directory's teacher it is

    def principal(self) -> Principal:
        return Principal(self.id, self.username, self.role, self.scope)


@dataclass(frozen=True)
class NewUser:
    """What it takes to create an account."""

    username: str
    display_name: str
    password: str
    role: Role
    scope: Scope
    teacher_id: str | None = None  # for a teacher: the directory's teacher id


def validate_new_user(spec: NewUser) -> None:
    """Raise ``InvalidUser`` (or ``WeakPassword``) naming the first broken rule."""
    if not _USERNAME.match(spec.username):
        raise InvalidUser(
            "username", "3-64 lowercase letters, digits, '.', '_' or '-', starting alphanumeric"
        )
    if not 1 <= len(spec.display_name.strip()) <= 64:
        raise InvalidUser("display_name", "1-64 characters")
    if spec.role in REGION_ROLES and spec.scope.region is None:
        raise InvalidUser("scope", f"a {spec.role} account is scoped to a region")
    if spec.role not in REGION_ROLES and spec.scope.school is None:
        raise InvalidUser("scope", f"a {spec.role} account is scoped to a school")
    if spec.teacher_id is not None and spec.role is not Role.TEACHER:
        raise InvalidUser("teacher_id", "only a teacher account stands for a teacher")
    check_password_policy(spec.password)
