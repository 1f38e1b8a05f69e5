"""The recorder's errors, one tree for the whole package::

    RecorderError                 anything the recorder refuses or fails to do
    ├── FfmpegMissing             neither Debian's ffmpeg nor imageio-ffmpeg's binary is there
    ├── SegmentCorrupt            a segment cannot be read, or holds fewer frames than its
    │                             timeline line says (cut short by a crash or a full disk)
    ├── AssemblyFailed            ffmpeg could not build an asset (no usable segment,
    │                             a remux or preview step that exited with an error)
    ├── StorageKeyInvalid         a key of the recordings store is not a clean relative
    │                             POSIX path (``..``, a leading ``/``, a backslash, ...)
    └── StorageKeyMissing         the recordings store holds no object under that key

Post-processing jobs catch ``RecorderError``; a ``SegmentCorrupt`` is normally caught by
the assembler itself, which leaves the segment out and reports it.
"""

from __future__ import annotations


class RecorderError(Exception):
    """Base of every error the recorder raises."""


class FfmpegMissing(RecorderError):
    """No ffmpeg binary: install Debian's ``ffmpeg`` or the ``imageio-ffmpeg`` package."""


class SegmentCorrupt(RecorderError):
    """One segment is unreadable or truncated; ``segment`` is its file name."""

    def __init__(self, segment: str, reason: str) -> None:
        super().__init__(f"segment {segment} is corrupt: {reason}")
        self.segment = segment
        self.reason = reason


class AssemblyFailed(RecorderError):
    """An ffmpeg step failed; ``stderr`` holds the tail of what ffmpeg said."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(f"{message}: {stderr}" if stderr else message)
        self.stderr = stderr


class StorageKeyInvalid(RecorderError):
    """``key`` cannot name an object of the recordings store; ``reason`` says why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"storage key {key!r} is invalid: {reason}")
        self.key = key
        self.reason = reason


class StorageKeyMissing(RecorderError):
    """The recordings store holds no object under ``key``."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no stored object under {key!r}")
        self.key = key


class ClipInvalid(RecorderError):
    """A clip that cannot be cut from this recording: its end is not after its start, it
    starts before the lesson or after its end, or no track has media in it."""


class EncoderMissing(FfmpegMissing):
    """This ffmpeg has no ``encoder`` (Debian's ffmpeg and imageio-ffmpeg's build both have
    libx264; a stripped-down build may not)."""

    def __init__(self, encoder: str, ffmpeg: str) -> None:
        super().__init__(
            f"{ffmpeg} has no {encoder} encoder: install Debian's ffmpeg "
            "(apt-get install ffmpeg) or the imageio-ffmpeg package (pip install imageio-ffmpeg)"
        )
        self.encoder = encoder
        self.ffmpeg = ffmpeg


class StorageUnavailable(RecorderError):
    """The recordings store cannot be used now: its endpoint does not answer, refuses the
    credentials, or has no such bucket. The message names the endpoint, the bucket and the
    setting to check; ``code`` is the store's error code (``""`` when it did not answer)."""

    def __init__(self, message: str, *, endpoint: str, bucket: str, code: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.bucket = bucket
        self.code = code
