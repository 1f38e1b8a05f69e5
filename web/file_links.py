"""Signed, expiring links to a recording's files (``/files/<recording>/<path>``).

The review API hands out links instead of serving files behind the session: a <video>
element fetches its file in many Range requests, a link can go into a shared clip, and
an S3 adapter will hand out presigned URLs of the same shape. A link names the file and
its expiry, and carries an HMAC of both under a key of its own (derived from the secret
key, so a link can never pass for a session or a media grant). Pure: time passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

PREFIX = "/files"
TTL = timedelta(hours=4)  # a review session's length, with room to spare


class Check(StrEnum):
    OK = "ok"
    EXPIRED = "expired"
    BAD = "bad"


def link_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"sanke-file-links", hashlib.sha256).digest()


def _signature(key: bytes, recording: str, path: str, expires: int) -> str:
    message = f"{recording}\n{path}\n{expires}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def file_link(key: bytes, recording: str, path: str, now: datetime, ttl: timedelta = TTL) -> str:
    """A link to ``path`` (relative to the recording's assets) valid for ``ttl``; the
    expiry is rounded up to the next 10 minutes so that links made within one page load
    are identical and the browser's cache keeps the files."""
    expires = int((now + ttl).timestamp())
    expires += -expires % 600
    signature = _signature(key, recording, path, expires)
    return f"{PREFIX}/{quote(recording)}/{quote(path)}?exp={expires}&sig={signature}"


def check_link(
    key: bytes, recording: str, path: str, expires: str, signature: str, now: datetime
) -> Check:
    """Is this a link we made, still valid at ``now``?"""
    try:
        when = int(expires)
    except ValueError:
        return Check.BAD
    expected = _signature(key, recording, path, when)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return Check.BAD
    return Check.OK if now.timestamp() < when else Check.EXPIRED
