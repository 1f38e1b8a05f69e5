"""The side-by-side composite of a lesson: one H.264/AAC MP4 showing the courseware, the
teacher and the receiving classrooms at once, for people who review a lesson without
switching tracks. The recorder's only transcoding step, and so its slowest: it runs as its
own job, after the assets (``recorder.worker``).

``layout`` places the video sources on a grid of cells that share the frame's aspect
ratio, so that every tile keeps it (16:9 in a 16:9 frame):

- with the courseware (the teacher's ``/screen``): a 4 x 4 grid, the screen on the 3 x 3
  cells at the top left, the teacher's camera in the top right cell, the classrooms'
  cameras along the bottom row, then down the rest of the right column (at most 6, or 7
  without the teacher's camera);
- without it: the teacher's camera alone on the whole frame, or on the 2 x 2 cells of a
  3 x 3 grid with the classrooms down the right column, then along the bottom row (at most
  5; a 4 x 4 grid for 6 or 7);
- without either: the classrooms on an even grid (at most 9).

``composite`` draws the tiles black on a dark background, scales every video track into
its tile (aspect kept, padded black) and overlays it from its ``offset`` in the lesson, so
a tile is black before its track starts and after it ends; the sound is the microphones
mixed, each delayed by its offset. Progress is read from ffmpeg's ``-progress pipe:1``.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from recorder.errors import AssemblyFailed, EncoderMissing
from recorder.ffmpeg_binary import Ffmpeg
from recorder.pipeline import ASSETS

logger = logging.getLogger(__name__)

COMPOSITE = "composite.json"
VIDEO = "composite.mp4"
COMPOSITE_VERSION = 1
BACKGROUND = "0x202020"  # dark grey: an empty cell; a tile whose track is not on is black
TEACHER, CLASSROOM = "teacher:", "classroom:"
CAMERA, SCREEN, MICROPHONE = "camera", "screen", "microphone"
Cell = tuple[int, int, int]  # column and row on a grid, and how many cells a side spans


@dataclass(frozen=True)
class Tile:
    """Where ``source``'s picture goes in the composite, in pixels (all even)."""

    source: str
    x: int
    y: int
    w: int
    h: int


def layout(sources: list[str], width: int = 1280, height: int = 720) -> list[Tile]:
    """The tiles of the video ``sources`` (``teacher:<id>/camera``, ``teacher:<id>/screen``,
    ``classroom:<id>/camera``; others are left out) on a ``width`` x ``height`` frame, as
    the module's docstring lays them out; the first of a kind when a teacher has two, the
    classrooms in sorted order up to what the grid holds."""
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ValueError(f"the composite's size must be even: {width}x{height}")
    screen = _first(sources, TEACHER, SCREEN)
    teacher = _first(sources, TEACHER, CAMERA)
    classrooms = sorted({s for s in sources if _is(s, CLASSROOM, CAMERA)})
    placed: list[tuple[str, Cell]]
    if screen is not None:
        n = 4
        right = [(n - 1, row, 1) for row in range(n - 1)]
        bottom = [(col, n - 1, 1) for col in range(n)]
        placed = [(screen, (0, 0, n - 1))]
        if teacher is not None:
            placed.append((teacher, right.pop(0)))
        placed += zip(classrooms, bottom + right, strict=False)
    elif teacher is not None:
        n = 1 if not classrooms else 3 if len(classrooms) <= 5 else 4
        right = [(n - 1, row, 1) for row in range(n)]
        bottom = [(col, n - 1, 1) for col in range(n - 1)]
        placed = [(teacher, (0, 0, max(1, n - 1)))]
        placed += zip(classrooms, right + bottom, strict=False)
    else:
        n = min(3, math.isqrt(len(classrooms) - 1) + 1) if classrooms else 1  # n*n >= count
        grid = [(col, row, 1) for row in range(n) for col in range(n)]
        placed = list(zip(classrooms, grid, strict=False))
    return _place(placed, n, width, height)


def composite(
    assets_dir: Path,
    out: Path,
    *,
    tools: Ffmpeg,
    width: int = 1280,
    height: int = 720,
    fps: int = 15,
    report: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Make ``out/composite.mp4`` (H.264 + AAC, ``width`` x ``height`` at ``fps``, as long
    as the lesson) from the tracks in ``assets_dir/assets.json``, and ``out/composite.json``
    describing it, which is returned; both written under a temporary name and renamed.
    ``report(percent)`` is called from 0 to 100. ``AssemblyFailed`` without a usable video
    track or when ffmpeg fails; ``EncoderMissing`` when ffmpeg has no libx264."""
    report = report or (lambda percent: None)
    assets = _read_assets(assets_dir)
    duration = float(assets["duration"])
    usable = {str(t["source"]): (name, t) for name, t in sorted(assets["tracks"].items())
              if "file" in t}  # fmt: skip
    tiles = layout(sorted(usable), width, height)
    if not tiles or duration <= 0:
        raise AssemblyFailed(f"no usable video track in {assets_dir} to composite")
    placed = {tile.source for tile in tiles}
    left_out = [s for s in usable if _kind(s) in (CAMERA, SCREEN) and s not in placed]
    if left_out:
        logger.warning("Composite(%s) has no room for %s", assets_dir.name, ", ".join(left_out))
    _require_encoder(tools, "libx264")
    report(0)
    pictures = [(tile, usable[tile.source][1]) for tile in tiles]
    microphones = [t for s, (_, t) in usable.items() if _kind(s) == MICROPHONE]
    video = _video(assets_dir, pictures, width, height, fps, duration)
    audio = _audio(assets_dir, microphones)
    out.mkdir(parents=True, exist_ok=True)
    part = out / f".{VIDEO}.part.mp4"
    options = {"vcodec": "libx264", "preset": "veryfast", "crf": 28, "pix_fmt": "yuv420p",
               "r": fps, "acodec": "aac", "audio_bitrate": "96k", "ar": 48000,
               "movflags": "+faststart", "t": f"{duration:.3f}", "f": "mp4"}  # fmt: skip
    spec = (
        ffmpeg.output(video, audio, str(part), **options)
        .global_args("-progress", "pipe:1", "-nostats")
        .overwrite_output()
    )
    try:
        output = tools.read(spec, f"composite of {assets_dir.name}", chunk=512)
        for percent in _progress(output, duration):
            report(percent)
        os.replace(part, out / VIDEO)
    finally:
        part.unlink(missing_ok=True)
    made = tools.probe(out / VIDEO)
    result: dict[str, Any] = {
        "version": COMPOSITE_VERSION,
        "file": VIDEO,
        "width": width,
        "height": height,
        "fps": fps,
        "duration": round(made.duration, 3),
        "tiles": [{**asdict(tile), "track": usable[tile.source][0]} for tile in tiles],
        "microphones": len(microphones),
    }
    described = out / f".{COMPOSITE}.part"
    described.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(described, out / COMPOSITE)
    logger.info("Composite(%s) %d tiles, %d microphones, %.1f s -> %s", assets_dir.name,
                len(tiles), len(microphones), made.duration, out / VIDEO)  # fmt: skip
    report(100)
    return result


def _read_assets(assets_dir: Path) -> dict[str, Any]:
    try:
        assets: dict[str, Any] = json.loads((assets_dir / ASSETS).read_text(encoding="utf-8"))
        if not isinstance(assets["tracks"], dict):
            raise TypeError("tracks is not an object")
        float(assets["duration"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AssemblyFailed(f"no readable {ASSETS} in {assets_dir}: {error}") from error
    return assets


def _video(
    assets_dir: Path,
    pictures: list[tuple[Tile, dict[str, Any]]],
    width: int,
    height: int,
    fps: int,
    duration: float,
) -> Any:
    """Black tiles on the background, each track scaled into its tile from its offset on."""
    background = f"color=c={BACKGROUND}:s={width}x{height}:r={fps}:d={duration:.3f}"
    canvas = ffmpeg.input(background, f="lavfi").video
    for tile, _ in pictures:
        canvas = canvas.drawbox(tile.x, tile.y, tile.w, tile.h, color="black", t="fill")
    for tile, track in pictures:
        offset = float(track.get("offset", 0.0))
        fit = {"force_original_aspect_ratio": "decrease", "force_divisible_by": 2}
        picture = (
            ffmpeg.input(str(assets_dir / track["file"]))
            .video.filter("setpts", f"PTS-STARTPTS+{offset:.3f}/TB")
            .filter("fps", fps=fps)
            .filter("scale", tile.w, tile.h, **fit)
            .filter("pad", tile.w, tile.h, "(ow-iw)/2", "(oh-ih)/2", color="black")
            .filter("setsar", 1)
        )
        # Before the track's first frame the canvas shows through (framesync passes the
        # main input alone); ``pass`` does the same after its last.
        canvas = canvas.overlay(picture, x=tile.x, y=tile.y, eof_action="pass")
    return canvas


def _audio(assets_dir: Path, microphones: list[dict[str, Any]]) -> Any:
    """The microphones mixed, each from its offset, gaps filled with silence; silence
    without a microphone. Unnormalised: the voices of a lesson seldom overlap."""
    if not microphones:
        return ffmpeg.input("anullsrc=r=48000:cl=mono", f="lavfi").audio
    voices = [
        ffmpeg.input(str(assets_dir / track["file"]))
        .audio.filter("aresample", **{"async": 1, "first_pts": 0})
        .filter("adelay", delays=round(1000 * float(track.get("offset", 0.0))), all=1)
        for track in microphones
    ]
    if len(voices) == 1:
        return voices[0].filter("apad")
    mix = {"inputs": len(voices), "duration": "longest", "dropout_transition": 0, "normalize": 0}
    return ffmpeg.filter(voices, "amix", **mix).filter("apad")


def _progress(output: Iterable[bytes], duration: float) -> Iterable[int]:
    """Percentages done from ffmpeg's ``-progress`` lines (``out_time_us=...``)."""
    rest = b""
    for block in output:
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            key, _, value = line.partition(b"=")
            if key == b"out_time_us" and value.strip().isdigit():
                yield min(99, int(int(value) / 1e6 / duration * 100))


@functools.cache
def _encoders(binary: str) -> str:
    return subprocess.run(
        [binary, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout


def _require_encoder(tools: Ffmpeg, encoder: str) -> None:
    if f" {encoder} " not in _encoders(tools.ffmpeg):
        raise EncoderMissing(encoder, tools.ffmpeg)


def _kind(source: str) -> str:
    return source.rpartition("/")[2]


def _is(source: str, who: str, kind: str) -> bool:
    return source.startswith(who) and _kind(source) == kind


def _first(sources: list[str], who: str, kind: str) -> str | None:
    return min((s for s in sources if _is(s, who, kind)), default=None)


def _place(placed: list[tuple[str, Cell]], n: int, width: int, height: int) -> list[Tile]:
    """Each source on its cell of an ``n`` x ``n`` grid; cell edges are
    rounded to even pixels, so neighbouring tiles share an edge exactly."""
    xs = [_even(i * width / n) for i in range(n + 1)]
    ys = [_even(i * height / n) for i in range(n + 1)]
    return [
        Tile(source, xs[col], ys[row], xs[col + span] - xs[col], ys[row + span] - ys[row])
        for source, (col, row, span) in placed
    ]


def _even(value: float) -> int:
    return 2 * round(value / 2)
