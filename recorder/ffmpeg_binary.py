"""Which ffmpeg the recorder's post-processing drives, and what it says a file holds.

``find_ffmpeg()`` prefers Debian's ``ffmpeg``/``ffprobe`` on the PATH; where there is none it
takes the static binary shipped inside the ``imageio-ffmpeg`` wheel, so that a machine
without the system package can still post-process (issue 6). That wheel ships ``ffmpeg``
only, no ``ffprobe``: ``Ffmpeg.probe`` then reads the file with PyAV (already a dependency,
its own libavformat) and returns the same ``MediaInfo``.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import ffmpeg
from av.video.stream import VideoStream

from recorder.errors import AssemblyFailed, FfmpegMissing

logger = logging.getLogger(__name__)

QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a media file; ``kind`` is ``"video"``, ``"audio"`` or another type."""

    index: int
    kind: str
    codec: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    """What a probe found: container format names, duration and start in seconds, streams."""

    format: str
    duration: float
    start: float
    streams: tuple[StreamInfo, ...]

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    @property
    def codecs(self) -> tuple[str, ...]:
        return tuple(s.codec for s in self.streams if s.kind in ("video", "audio"))


@dataclass(frozen=True)
class Ffmpeg:
    """The binaries to run: ``ffprobe`` is ``None`` for imageio-ffmpeg's build."""

    ffmpeg: str
    ffprobe: str | None
    origin: str  # "system" or "imageio-ffmpeg"

    def run(self, spec: Any, what: str) -> None:
        """Run an ffmpeg-python output spec quietly; ``AssemblyFailed`` with ffmpeg's stderr."""
        try:
            spec.global_args(*QUIET).overwrite_output().run(
                cmd=self.ffmpeg, capture_stdout=True, capture_stderr=True
            )
        except ffmpeg.Error as error:
            raise AssemblyFailed(what, _tail(error.stderr)) from error

    def read(self, spec: Any, what: str, chunk: int) -> Iterator[bytes]:
        """Run an ffmpeg-python spec that writes to ``pipe:`` and yield its output in blocks
        of ``chunk`` bytes (the last may be shorter). Stderr goes to a file, not a pipe, so a
        chatty ffmpeg cannot block on it while we read stdout."""
        args = spec.global_args(*QUIET).compile(cmd=self.ffmpeg)
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
            )
            assert process.stdout is not None
            try:
                while block := process.stdout.read(chunk):
                    yield block
            finally:
                process.stdout.close()
                code = process.wait()
            if code != 0:
                stderr.seek(0)
                raise AssemblyFailed(what, _tail(stderr.read()))

    def probe(self, path: Path) -> MediaInfo:
        """Probe with ffprobe (via ffmpeg-python), or with PyAV where there is no ffprobe."""
        if self.ffprobe is None:
            return _probe_pyav(path)
        try:
            found = ffmpeg.probe(str(path), cmd=self.ffprobe)
        except ffmpeg.Error as error:
            raise AssemblyFailed(f"cannot probe {path.name}", _tail(error.stderr)) from error
        fmt = found.get("format", {})
        streams = tuple(
            StreamInfo(
                index=int(s["index"]),
                kind=str(s.get("codec_type", "")),
                codec=str(s.get("codec_name", "")),
                width=int(s["width"]) if "width" in s else None,
                height=int(s["height"]) if "height" in s else None,
            )
            for s in found.get("streams", [])
        )
        return MediaInfo(
            format=str(fmt.get("format_name", "")),
            duration=float(fmt.get("duration", 0.0)),
            start=float(fmt.get("start_time", 0.0)),
            streams=streams,
        )


def find_ffmpeg(*, search_path: str | None = None, bundled: bool = True) -> Ffmpeg:
    """Debian's ffmpeg on ``search_path`` (the PATH when ``None``), else imageio-ffmpeg's
    binary when ``bundled``; ``FfmpegMissing`` when neither is there."""
    system = shutil.which("ffmpeg", path=search_path)
    if system is not None:
        return Ffmpeg(system, shutil.which("ffprobe", path=search_path), "system")
    if bundled:
        exe = _imageio_ffmpeg()
        if exe is not None:
            logger.info("Ffmpeg(imageio-ffmpeg) using %s; probing with PyAV", exe)
            return Ffmpeg(exe, None, "imageio-ffmpeg")
    raise FfmpegMissing(
        "no ffmpeg found: install Debian's ffmpeg (apt-get install ffmpeg) "
        "or the imageio-ffmpeg package (pip install imageio-ffmpeg)"
    )


def _imageio_ffmpeg() -> str | None:
    # Imported by name: an optional package, and untyped.
    try:
        module = importlib.import_module("imageio_ffmpeg")
        exe = str(module.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        return None
    return exe if Path(exe).is_file() else None


def _probe_pyav(path: Path) -> MediaInfo:
    try:
        with av.open(str(path)) as container:
            streams = tuple(
                StreamInfo(s.index, s.type, s.codec_context.name,
                           s.codec_context.width, s.codec_context.height)
                if isinstance(s, VideoStream)
                else StreamInfo(s.index, s.type, s.codec_context.name)
                for s in container.streams
            )  # fmt: skip
            duration = (container.duration or 0) / av.time_base
            start = (container.start_time or 0) / av.time_base
            return MediaInfo(container.format.name, duration, start, streams)
    except av.FFmpegError as error:
        raise AssemblyFailed(f"cannot probe {path.name}", str(error)) from error


def _tail(stderr: bytes | None, lines: int = 8) -> str:
    text = (stderr or b"").decode("utf-8", "replace").strip()
    return "\n".join(text.splitlines()[-lines:])
