"""What the review page shows around the player: thumbnails and a sprite for the seek
bar, a waveform, and per-track loudness for the talk-time analysis (``recorder.talk``).

Unlike the remux in ``recorder.assemble`` these decode: this is post-processing, off the
forwarding path. Video is decoded once, split into the 320 px thumbnails and the sprite
tiles (ffmpeg's ``fps``, ``scale`` and ``tile`` filters). Audio is decoded once to 8 kHz mono
PCM through a pipe, with ``aresample=async=1`` filling the asset's gaps with silence so that
sample index and asset time stay one; peaks and RMS levels are then taken per 100 ms.
"""

from __future__ import annotations

import json
import logging
import math
import operator
import shutil
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from recorder.assemble import TrackAsset
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg

logger = logging.getLogger(__name__)

FULL_SCALE = 32768.0
FLOOR_DB = -100.0  # what digital silence reads as, instead of -inf


@dataclass(frozen=True)
class Tile:
    """Where the thumbnail for ``[start, end)`` seconds sits in the sprite image."""

    start: float
    end: float
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class VideoPreviews:
    """Thumbnails (``thumbnails[k]`` shows time ``k * every_s``), the sprite sheet and its
    WebVTT index (``sprite.jpg#xywh=x,y,w,h`` cues, as video.js and Plyr read them)."""

    thumbnails: list[Path]
    sprite: Path
    index: Path
    tiles: list[Tile]
    every_s: float


@dataclass(frozen=True)
class AudioLevels:
    """Per ``step_s``: the peak (0..1 of full scale) and the RMS level in dBFS."""

    step_s: float
    peaks: list[float]
    levels_db: list[float]


def video_previews(
    asset: TrackAsset,
    out_dir: Path,
    *,
    tools: Ffmpeg | None = None,
    every_s: float = 10.0,
    width: int = 320,
    tile_width: int = 160,
    columns: int = 10,
) -> VideoPreviews | None:
    """Thumbnails every ``every_s`` seconds (JPEG, ``width`` px wide) in
    ``out_dir/{track}.thumbs/``, and ``{track}.sprite.jpg`` + ``{track}.sprite.vtt``;
    ``None`` for a track without video."""
    tools = tools or find_ffmpeg()
    video = tools.probe(asset.path).video
    if video is None or not video.width or not video.height:
        return None
    count = max(1, math.ceil(asset.duration / every_s - 1e-6))
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    height = _even(width * video.height / video.width)
    tile_height = _even(tile_width * video.height / video.width)
    thumbs_dir = out_dir / f"{asset.track}.thumbs"
    shutil.rmtree(thumbs_dir, ignore_errors=True)
    thumbs_dir.mkdir(parents=True)
    sprite = out_dir / f"{asset.track}.sprite.jpg"
    # fps picks, for thumbnail k, the last frame before k*every_s + every_s/2; the clone
    # padding lets it reach the end of the last (partial) slot, vframes then cuts at count.
    sampled = (
        ffmpeg.input(str(asset.path))
        .video.filter("tpad", stop_mode="clone", stop_duration=f"{1.5 * every_s:g}")
        .filter("fps", fps=f"1/{every_s:g}")
        .split()
    )
    thumbs = (
        sampled[0]
        .filter("scale", width, height)
        .output(str(thumbs_dir / "%05d.jpg"), start_number=0, vframes=count, **{"q:v": 4})
    )
    grid = (
        sampled[1]
        .filter("scale", tile_width, tile_height)
        .filter("tile", f"{columns}x{rows}")
        .output(str(sprite), vframes=1, update=1, **{"q:v": 5})
    )
    tools.run(ffmpeg.merge_outputs(thumbs, grid), f"previews of track {asset.track}")
    thumbnails = sorted(thumbs_dir.glob("*.jpg"))
    tiles = [
        Tile(
            start=k * every_s,
            end=min((k + 1) * every_s, asset.duration),
            x=(k % columns) * tile_width,
            y=(k // columns) * tile_height,
            w=tile_width,
            h=tile_height,
        )
        for k in range(len(thumbnails))
    ]
    index = out_dir / f"{asset.track}.sprite.vtt"
    index.write_text(_webvtt(sprite.name, tiles), encoding="utf-8")
    return VideoPreviews(thumbnails, sprite, index, tiles, every_s)


def audio_levels(
    path: Path, *, tools: Ffmpeg | None = None, step_s: float = 0.1, rate: int = 8000
) -> AudioLevels:
    """Decode the first audio stream to s16 mono PCM at ``rate`` Hz through a pipe and
    take, per ``step_s``, the peak and the RMS level (dBFS, ``FLOOR_DB`` for silence)."""
    tools = tools or find_ffmpeg()
    window = max(1, round(step_s * rate))
    pcm = (
        ffmpeg.input(str(path))["a:0"]
        .filter("aresample", **{"async": 1, "first_pts": 0})
        .output("pipe:", f="s16le", acodec="pcm_s16le", ac=1, ar=rate)
    )
    peaks: list[float] = []
    levels: list[float] = []
    rest = b""
    for block in tools.read(pcm, f"audio levels of {path.name}", chunk=window * 2 * 100):
        data = rest + block
        usable = len(data) - len(data) % (window * 2)
        rest = data[usable:]
        _measure(data[:usable], window, peaks, levels)
    if len(rest) >= 2:
        _measure(rest[: len(rest) - len(rest) % 2], window, peaks, levels)
    return AudioLevels(step_s, peaks, levels)


def audio_previews(
    asset: TrackAsset, out_dir: Path, *, tools: Ffmpeg | None = None, step_s: float = 0.1
) -> AudioLevels | None:
    """``{track}.waveform.json`` (peaks per ``step_s``, a JSON list) and
    ``{track}.levels.json`` (dBFS per ``step_s``); ``None`` for a track without audio."""
    tools = tools or find_ffmpeg()
    if tools.probe(asset.path).audio is None:
        return None
    levels = audio_levels(asset.path, tools=tools, step_s=step_s)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{asset.track}.waveform.json").write_text(
        json.dumps(levels.peaks, separators=(",", ":")), encoding="utf-8"
    )
    (out_dir / f"{asset.track}.levels.json").write_text(
        json.dumps(levels.levels_db, separators=(",", ":")), encoding="utf-8"
    )
    return levels


def _measure(data: bytes, window: int, peaks: list[float], levels: list[float]) -> None:
    samples = array("h", data)
    if sys.byteorder == "big":
        samples.byteswap()
    for start in range(0, len(samples), window):
        part = samples[start : start + window]
        peak = max(max(part), -min(part))
        energy = math.fsum(map(operator.mul, part, part)) / len(part)
        peaks.append(round(min(1.0, peak / FULL_SCALE), 3))
        levels.append(round(_db(math.sqrt(energy)), 1))


def _db(rms: float) -> float:
    return max(FLOOR_DB, 20 * math.log10(rms / FULL_SCALE)) if rms > 0 else FLOOR_DB


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def _webvtt(image: str, tiles: list[Tile]) -> str:
    cues = [
        f"{_stamp(t.start)} --> {_stamp(t.end)}\n{image}#xywh={t.x},{t.y},{t.w},{t.h}\n"
        for t in tiles
    ]
    return "WEBVTT\n\n" + "\n".join(cues)
