"""Fixtures the recorder's tests share: a real SFU on loopback, and ffmpeg.

Without ffmpeg (or an encoder the test sources need) the tests skip, or fail when CI
requires every tool (``SANKE_REQUIRE_SERVICES=1``; ``.ci/run`` installs Debian's ffmpeg).
"""

from __future__ import annotations

import subprocess

import pytest

from recorder.errors import FfmpegMissing
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg
from tests.conftest import unavailable
from tests.media.conftest import media_server

__all__ = ["ENCODERS", "media_server", "require_encoders", "tools"]

ENCODERS = {"vp8": "libvpx", "h264": "libx264", "opus": "libopus", "aac": "aac"}


@pytest.fixture(scope="module")
def tools() -> Ffmpeg:
    try:
        return find_ffmpeg()
    except FfmpegMissing as error:
        unavailable(f"ffmpeg ({error})")
        raise


def require_encoders(tools: Ffmpeg, *codecs: str) -> None:
    """Skip (or fail in CI) unless this ffmpeg can encode the test sources' codecs."""
    listed = subprocess.run(
        [tools.ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    missing = [ENCODERS[c] for c in codecs if f" {ENCODERS[c]} " not in listed]
    if missing:
        unavailable(f"the ffmpeg encoders {', '.join(missing)}")
