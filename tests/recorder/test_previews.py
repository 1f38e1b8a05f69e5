"""recorder.previews against the real ffmpeg: thumbnails and sprite of an assembled VP8
track, waveform and levels of an Opus track with a gap, and speech found in them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import av
import pytest

from recorder.assemble import TrackAsset, assemble_track
from recorder.ffmpeg_binary import Ffmpeg
from recorder.previews import FLOOR_DB, audio_previews, video_previews
from recorder.talk import speech_intervals
from tests.recorder.test_assemble import make_track

CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")


def picture_size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def seconds(parts: tuple[str, ...]) -> float:
    h, m, s, ms = (int(p) for p in parts)
    return h * 3600 + m * 60 + s + ms / 1000


def track(tools: Ffmpeg, folder: Path, name: str, **source: Any) -> TrackAsset:
    make_track(tools, folder, name, **source)
    return assemble_track(folder, name, folder / "out", tools=tools)


def test_thumbnails_and_sprite_every_ten_seconds(tools, tmp_path):
    asset = track(tools, tmp_path, "cam", video="vp8", seconds=35, size="160x120", rate=10)
    assert asset.duration == pytest.approx(35.0, abs=0.2)

    previews = video_previews(asset, tmp_path / "out", tools=tools, columns=3)

    assert previews is not None
    assert len(previews.thumbnails) == 4  # 0-10, 10-20, 20-30, 30-35
    assert all(picture_size(p) == (320, 240) for p in previews.thumbnails)
    assert [(t.start, t.x, t.y) for t in previews.tiles] == [
        (0.0, 0, 0),
        (10.0, 160, 0),
        (20.0, 320, 0),
        (30.0, 0, 120),
    ]
    assert previews.tiles[-1].end == asset.duration
    assert picture_size(previews.sprite) == (3 * 160, 2 * 120)
    # the WebVTT index says the same, cue for cue
    lines = previews.index.read_text().splitlines()
    assert lines[0] == "WEBVTT"
    cues = [(CUE.match(a), b) for a, b in zip(lines, lines[1:], strict=False) if CUE.match(a)]
    assert len(cues) == len(previews.tiles)
    for (match, target), tile in zip(cues, previews.tiles, strict=True):
        assert match is not None
        assert seconds(match.groups()[:4]) == pytest.approx(tile.start, abs=0.001)
        assert seconds(match.groups()[4:]) == pytest.approx(tile.end, abs=0.001)
        assert target == f"cam.sprite.jpg#xywh={tile.x},{tile.y},{tile.w},{tile.h}"
    assert audio_previews(asset, tmp_path / "out", tools=tools) is None


def test_waveform_and_levels_keep_the_gap(tools, tmp_path):
    segments = make_track(tools, tmp_path, "mic", audio="opus")
    segments[3].unlink()  # 6-8 s lost
    asset = assemble_track(tmp_path, "mic", tmp_path / "out", tools=tools)

    levels = audio_previews(asset, tmp_path / "out", tools=tools)

    assert levels is not None and levels.step_s == 0.1
    assert len(levels.peaks) == len(levels.levels_db)
    assert len(levels.peaks) == pytest.approx(asset.duration / 0.1, abs=2)
    waveform = json.loads((tmp_path / "out" / "mic.waveform.json").read_text())
    assert waveform == levels.peaks
    assert json.loads((tmp_path / "out" / "mic.levels.json").read_text()) == levels.levels_db
    gap = [levels.levels_db[i] for i in range(62, 79)]
    assert gap == [FLOOR_DB] * len(gap)
    # lavfi's sine has amplitude 1/8: peak 0.125, RMS 20·log10(0.125/√2) ≈ -21.1 dBFS
    sound = levels.levels_db[5:55] + levels.levels_db[85:115]
    assert all(level == pytest.approx(-21.1, abs=1.0) for level in sound)
    assert all(peak == pytest.approx(0.125, abs=0.03) for peak in levels.peaks[5:55])
    assert video_previews(asset, tmp_path / "out", tools=tools) is None


def test_speech_is_found_where_the_sound_is(tools, tmp_path):
    asset = track(
        tools,
        tmp_path,
        "mic",
        audio="opus",
        audio_filter="volume=0:enable='not(between(t,2,5)+between(t,8,10))'",
    )
    levels = audio_previews(asset, tmp_path / "out", tools=tools)
    assert levels is not None
    found = speech_intervals(levels.levels_db, levels.step_s)
    assert len(found) == 2
    expected = [2.0, 5.3, 8.0, 10.3]  # sound from 2 to 5 s and 8 to 10 s, + 0.3 s hangover
    assert [t for interval in found for t in interval] == pytest.approx(expected, abs=0.15)
