"""recorder.pipeline against the real ffmpeg: a lesson's recording folder made here the
way the capture side leaves it (a teacher's VP8 camera and Opus microphone, a
classroom's microphone), one camera segment corrupted, built twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorder.errors import AssemblyFailed
from recorder.ffmpeg_binary import Ffmpeg
from recorder.pipeline import ASSETS_VERSION, process_recording
from tests.recorder.conftest import require_encoders
from tests.recorder.test_assemble import make_track, truncate

SECONDS = 6.0
# The teacher speaks for the first half, the classroom for the second.
TEACHER_VOICE = "volume=volume='if(lt(t,3),1,0)':eval=frame"
CLASSROOM_VOICE = "volume=volume='if(gte(t,3),1,0)':eval=frame"


def record(tools: Ffmpeg, folder: Path) -> dict[str, list[Path]]:
    require_encoders(tools, "vp8", "opus")
    tracks = {
        "teacher_t1_camera": ("teacher:t1/camera", "vp8", {"video": "vp8"}),
        "teacher_t1_microphone": ("teacher:t1/microphone", "opus",
                                  {"audio": "opus", "audio_filter": TEACHER_VOICE}),
        "classroom_c2_microphone": ("classroom:c2/microphone", "opus",
                                    {"audio": "opus", "audio_filter": CLASSROOM_VOICE}),
    }  # fmt: skip
    segments = {
        name: make_track(tools, folder, name, seconds=SECONDS, **options)  # type: ignore[arg-type]
        for name, (_, _, options) in tracks.items()
    }
    manifest = {
        "tracks": {
            name: {
                "source": source,
                "codec": codec,
                "clock_rate": 90000 if codec == "vp8" else 48000,
            }
            for name, (source, codec, _) in tracks.items()
        },
        "started": 1_700_000_000.0,
    }
    (folder / "recording.json").write_text(json.dumps(manifest), encoding="utf-8")
    return segments


def test_a_recording_is_built_once_and_reused(tools, tmp_path):
    folder, out = tmp_path / "rec" / "lesson-1", tmp_path / "assets" / "lesson-1"
    segments = record(tools, folder)
    corrupt = segments["teacher_t1_camera"][1]
    truncate(corrupt)
    reported: list[int] = []

    assets = process_recording(folder, out, reported.append, tools=tools)

    assert reported[0] == 0 and reported[-1] == 100
    assert reported == sorted(reported)
    assert json.loads((out / "assets.json").read_text(encoding="utf-8")) == assets
    assert not list(out.glob(".*part*"))
    assert assets["version"] == ASSETS_VERSION
    assert assets["recording"] == "lesson-1"
    assert assets["skipped"] == [corrupt.name]  # reported, not fatal
    camera = assets["tracks"]["teacher_t1_camera"]
    assert camera["codec"] == "vp8" and camera["file"] == "teacher_t1_camera.webm"
    assert camera["skipped"] == [corrupt.name]
    assert camera["gaps"] and camera["gaps"][0]["seconds"] == pytest.approx(2.0, abs=0.3)
    assert camera["hls"] is None  # VP8: the review page plays the WebM
    previews = camera["previews"]
    assert previews["sprite"] == "teacher_t1_camera.sprite.jpg"
    assert all((out / thumb).is_file() for thumb in previews["thumbnails"])
    mic = assets["tracks"]["teacher_t1_microphone"]
    assert mic["codec"] == "opus" and mic["previews"] is None
    assert (out / mic["audio"]["waveform"]).is_file()
    assert (out / mic["audio"]["levels"]).is_file()
    assert mic["duration"] == pytest.approx(SECONDS, abs=0.2)
    assert mic["offset"] == pytest.approx(0.0, abs=0.1)
    for track in assets["tracks"].values():
        assert (out / track["file"]).is_file()

    talk = assets["talk"]
    assert talk["teacher_s"] == pytest.approx(3.3, abs=0.4)
    assert talk["per_student"]["classroom:c2"] == pytest.approx(3.0, abs=0.4)
    assert talk["teacher"][0][0] == pytest.approx(0.0, abs=0.2)
    assert talk["students"]["classroom:c2"][0][0] == pytest.approx(3.0, abs=0.2)
    assert assets["st"]["n"] == 1 and set(assets["st"]["sequence"]) <= {"S", "T"}

    # Again on the same inputs: the build is reused as it is.
    written = (out / "assets.json").stat().st_mtime_ns
    again: list[int] = []
    assert process_recording(folder, out, again.append, tools=tools) == assets
    assert again == [0, 100]
    assert (out / "assets.json").stat().st_mtime_ns == written

    # Rebuilt from scratch, it comes out the same.
    (out / "assets.json").unlink()
    assert process_recording(folder, out, lambda _: None, tools=tools) == assets


def test_a_track_with_nothing_usable_is_listed_with_its_error(tools, tmp_path):
    folder, out = tmp_path / "rec", tmp_path / "assets"
    segments = record(tools, folder)
    for path in segments["classroom_c2_microphone"]:
        truncate(path)
    assets = process_recording(folder, out, lambda _: None, tools=tools)
    assert "error" in assets["tracks"]["classroom_c2_microphone"]
    assert assets["talk"]["per_student"] == {}
    assert assets["talk"]["teacher_s"] > 0


def test_no_recording_is_an_error(tools, tmp_path):
    with pytest.raises(AssemblyFailed):
        process_recording(tmp_path / "absent", tmp_path / "out", lambda _: None, tools=tools)
