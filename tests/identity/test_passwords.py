"""Password policy and argon2 hashing."""

from __future__ import annotations

import pytest

from identity.errors import WeakPassword
from identity.passwords import PasswordHasher, check_password_policy


@pytest.mark.parametrize("weak", ["", "abc123", "abcdefgh", "12345678", "!!!!!!!!"])
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(WeakPassword):
        check_password_policy(weak)


@pytest.mark.parametrize("strong", ["sanke2026", "青溪县教学点2026", "correct-horse"])
def test_reasonable_passwords_pass(strong: str) -> None:
    check_password_policy(strong)


def test_hashes_are_argon2id_salted_and_verify(hasher: PasswordHasher) -> None:
    first, second = hasher.hash("sanke2026"), hasher.hash("sanke2026")
    assert first.startswith("$argon2id$") and first != second
    assert hasher.verify(first, "sanke2026")
    assert not hasher.verify(first, "sanke2027")
    assert not hasher.verify("not a hash", "sanke2026")


def test_a_missing_account_never_verifies(hasher: PasswordHasher) -> None:
    assert not hasher.verify(None, "decoy-password-for-timing")


def test_cheap_test_parameters_are_flagged_for_rehash_by_production(
    hasher: PasswordHasher,
) -> None:
    assert PasswordHasher().needs_rehash(hasher.hash("sanke2026"))
