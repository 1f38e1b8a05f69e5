"""Errors of the media layer.

MediaError
├── MalformedPacket      an RTP or RTCP datagram that does not parse; dropped
├── GrantInvalid         a media grant token that is forged, expired or for another room
├── SignallingError      a signalling message the SFU refuses; carries a code for clients
│   └── PermissionDenied the grant does not allow the action
└── NegotiationFailed    an SDP offer the SFU cannot answer
"""

from __future__ import annotations


class MediaError(Exception):
    """Base of every error raised by ``media``."""


class MalformedPacket(MediaError):
    """An RTP or RTCP datagram that does not follow RFC 3550; the caller drops it."""


class GrantInvalid(MediaError):
    """A media grant that cannot be trusted.

    ``reason`` is one of ``malformed``, ``signature``, ``expired``, ``room``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SignallingError(MediaError):
    """A signalling request refused; ``code`` is stable and shown to clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PermissionDenied(SignallingError):
    def __init__(self, message: str) -> None:
        super().__init__("forbidden", message)


class NegotiationFailed(SignallingError):
    def __init__(self, message: str) -> None:
        super().__init__("bad_sdp", message)
