"""Errors of the media layer.

MediaError
├── MalformedPacket      an RTP or RTCP datagram that does not parse; dropped
├── GrantInvalid         a media grant token that is forged, expired or for another room
├── SignallingError      a signalling message the SFU refuses; carries a code for clients
│   └── PermissionDenied the grant does not allow the action
├── NegotiationFailed    an SDP offer the SFU cannot answer
├── IngestError          ingest of an RTSP/RTMP source failed (SourceError, UnsupportedCodec,
│                        PublishError)
├── WebhookInvalid       a LiveKit webhook whose signature, age or body cannot be trusted
└── BackendError         the LiveKit API refused a call or could not be reached
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


class IngestError(MediaError):
    """Base of the errors raised by :func:`ingest`."""


class SourceError(IngestError):
    """The source cannot be opened or read."""


class UnsupportedCodec(IngestError):
    """The source's video is not H.264; ingest never transcodes video."""

    def __init__(self, codec: str) -> None:
        super().__init__(
            f"the source's video codec is {codec!r}; ingest forwards H.264 only and never "
            "transcodes video: set the camera or recording box to H.264"
        )
        self.codec = codec


class PublishError(IngestError):
    """The WHIP endpoint refused the session or could not be reached (``status`` is None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WebhookInvalid(MediaError):
    """A LiveKit webhook that cannot be trusted: ``reason`` is ``signature`` (no token, a
    forged or expired one, or a body that does not match its hash) or ``malformed``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class BackendError(MediaError):
    """The LiveKit API refused a call (``code`` and ``status`` from its Twirp error) or
    could not be reached (``code`` ``unavailable``, ``status`` None)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
