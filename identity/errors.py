"""Errors of the identity package.

IdentityError
├── InvalidCredentials    wrong username, password or second factor (deliberately vague)
├── LoginThrottled        too many failures for this account or address; ``retry_after``
├── SecondFactorRequired  the password was right; a TOTP code is needed
├── InvalidUser           a user specification breaks a rule (``field`` names which)
│   └── WeakPassword      the password is too short or too simple
├── UserExists            the username is taken
├── UserNotFound          no such user
├── InvalidTotpCode       a code given while enrolling a second factor is wrong
├── CurrentPasswordWrong  a change to one's own account gave the wrong current password
└── NotAllowed            the principal may not do this (``reason``: role or scope)
"""

from __future__ import annotations


class IdentityError(Exception):
    """Base class of every identity error."""


class InvalidCredentials(IdentityError):
    """Login failed; the message never says whether the account exists."""


class LoginThrottled(IdentityError):
    """Too many failed logins; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} s")
        self.retry_after = retry_after


class SecondFactorRequired(IdentityError):
    """The password was right but the account needs a TOTP code too."""


class InvalidUser(IdentityError):
    """A user specification breaks a rule; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class WeakPassword(InvalidUser):
    """The password does not meet the password policy."""

    def __init__(self, message: str) -> None:
        super().__init__("password", message)


class UserExists(IdentityError):
    """The username is already taken."""


class UserNotFound(IdentityError):
    """No user has this id or name."""


class InvalidTotpCode(IdentityError):
    """The TOTP code given to confirm enrolment is wrong."""


class CurrentPasswordWrong(IdentityError):
    """A change to one's own account needs the current password, and it was wrong."""


class NotAllowed(IdentityError):
    """Authorisation refused; ``reason`` is ``"login"``, ``"role"`` or ``"scope"``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
