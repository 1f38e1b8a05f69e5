"""TOTP against RFC 6238's test vectors, and the replay rule."""

from __future__ import annotations

import base64

import pytest

from identity import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_rfc_6238_sha1_vectors(unix_time: int, expected: str) -> None:
    assert totp.code_at(RFC_SECRET, totp.counter_at(unix_time), digits=8) == expected


def test_a_code_is_valid_one_step_either_side_and_not_further() -> None:
    secret = totp.new_secret()
    now = 1_795_000_000.0
    code = totp.code_at(secret, totp.counter_at(now))
    assert totp.verify(secret, code, now) == totp.counter_at(now)
    assert totp.verify(secret, code, now + 30) is not None
    assert totp.verify(secret, code, now - 30) is not None
    assert totp.verify(secret, code, now + 90) is None


def test_a_used_code_is_refused_the_second_time() -> None:
    secret = totp.new_secret()
    now = 1_795_000_000.0
    code = totp.code_at(secret, totp.counter_at(now))
    used = totp.verify(secret, code, now)
    assert used is not None
    assert totp.verify(secret, code, now, after=used) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert totp.verify(totp.new_secret(), code, 1_795_000_000.0) is None


def test_spaces_inside_a_code_are_ignored() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, totp.counter_at(1_795_000_000.0))
    assert totp.verify(secret, f"{code[:3]} {code[3:]}", 1_795_000_000.0) is not None


def test_the_provisioning_uri_names_issuer_and_account() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "admin")
    assert uri.startswith("otpauth://totp/Sanke%3Aadmin?")
    assert "secret=JBSWY3DPEHPK3PXP" in uri and "issuer=Sanke" in uri
