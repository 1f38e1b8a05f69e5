"""Time-based one-time passwords (RFC 6238, HMAC-SHA1, 30 s, 6 digits).

The second factor for admin accounts (等保 level 3 asks for two factors). Works
with any authenticator app. ``verify`` returns the time step it matched so the
caller can refuse a code that was already used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP = 30
DIGITS = 6


def new_secret() -> str:
    """A random 160-bit secret, base32 without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def code_at(secret: str, counter: int, digits: int = DIGITS) -> str:
    """The HOTP value (RFC 4226) for ``counter``."""
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def counter_at(now: float) -> int:
    return int(now // STEP)


def verify(secret: str, code: str, now: float, *, after: int = -1, window: int = 1) -> int | None:
    """The time step ``code`` is valid for, within ``window`` steps of ``now``.

    Steps at or before ``after`` (the last one used) are refused, so a code works once.
    """
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != DIGITS:
        return None
    current = counter_at(now)
    for counter in range(current - window, current + window + 1):
        if counter > after and hmac.compare_digest(code_at(secret, counter), code):
            return counter
    return None


def provisioning_uri(secret: str, account: str, issuer: str = "Sanke") -> str:
    """The ``otpauth://`` URI an authenticator app imports."""
    label = quote(f"{issuer}:{account}")
    query = urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP})
    return f"otpauth://totp/{label}?{query}"
