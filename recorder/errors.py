"""The recorder's errors, one tree for the whole package::

    RecorderError                 anything the recorder refuses or fails to do
    ├── FfmpegMissing             neither Debian's ffmpeg nor imageio-ffmpeg's binary is there
    ├── SegmentCorrupt            a segment cannot be read, or holds fewer frames than its
    │                             timeline line says (cut short by a crash or a full disk)
    └── AssemblyFailed            ffmpeg could not build an asset (no usable segment,
                                  a remux or preview step that exited with an error)

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
