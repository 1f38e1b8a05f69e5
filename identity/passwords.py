"""Password hashing (argon2id) and the password policy.

等保 level 3 asks for passwords of some complexity; Sanke asks for at least eight
characters from at least two of: letters, digits, other characters.
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from identity.errors import WeakPassword

MIN_LENGTH = 8


def check_password_policy(password: str) -> None:
    """Raise ``WeakPassword`` if ``password`` is too short or too simple."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"at least {MIN_LENGTH} characters")
    kinds = (
        any(c.isalpha() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if sum(kinds) < 2:
        raise WeakPassword("mix at least two of letters, digits and other characters")


class PasswordHasher:
    """argon2id hashes; the defaults are argon2-cffi's (RFC 9106 low-memory profile).

    Tests pass cheaper parameters; production keeps the defaults.
    """

    def __init__(self, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = _Argon2()
        self._argon2 = _Argon2(
            time_cost=defaults.time_cost if time_cost is None else time_cost,
            memory_cost=defaults.memory_cost if memory_cost is None else memory_cost,
        )
        # Verified when the account does not exist, so that the answer takes as
        # long as for a real account and does not reveal whether it exists.
        self._decoy = self._argon2.hash("decoy-password-for-timing")

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Check ``password``; with ``stored`` None, spend the same time and fail."""
        try:
            return self._argon2.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._argon2.check_needs_rehash(stored)
