"""recorder.clips against the real ffmpeg: a lesson's assets made here the way
recorder.pipeline leaves them (the teacher's H.264 camera with a keyframe every 2 s, a
classroom's VP8 camera that joined 2.5 s in, the teacher's Opus microphone from 0.5 s, a
track with nothing usable), cut by remux."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import av
import pytest

from recorder.clips import CLIP, align, cut_clip, cut_track, keyframe_times
from recorder.errors import AssemblyFailed, ClipInvalid
from recorder.ffmpeg_binary import Ffmpeg
from tests.recorder.conftest import require_encoders

CAMERA = "teacher_t1_camera"
CLASSROOM = "classroom_r1_camera"
MICROPHONE = "teacher_t1_microphone"
LESSON_S = 8.5  # the microphone, 8 s from 0.5 s, ends last
PICTURE = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15"]
GOP = ["-g", "30", "-keyint_min", "30", "-sc_threshold", "0"]  # a keyframe every 2 s
MEDIA: dict[str, tuple[str, float, float, list[str]]] = {  # source, offset, seconds, ffmpeg
    CAMERA: ("teacher:t1/camera", 0.0, 8.0, [*PICTURE, "-c:v", "libx264", "-preset",
             "ultrafast", "-pix_fmt", "yuv420p", *GOP, "-movflags", "+faststart"]),
    CLASSROOM: ("classroom:r1/camera", 2.5, 6.0, [*PICTURE, "-c:v", "libvpx", "-deadline",
                "realtime", "-cpu-used", "8", "-b:v", "300k", *GOP]),
    MICROPHONE: ("teacher:t1/microphone", 0.5, 8.0, ["-f", "lavfi", "-i",
                 "sine=frequency=440:sample_rate=48000", "-c:a", "libopus", "-ac", "1"]),
}  # fmt: skip
FILES = {CAMERA: f"{CAMERA}.mp4", CLASSROOM: f"{CLASSROOM}.webm", MICROPHONE: f"{MICROPHONE}.webm"}


def make_lesson(tools: Ffmpeg, folder: Path) -> dict[str, Any]:
    """The tracks' files and ``assets.json`` in ``folder``; returns what it holds."""
    require_encoders(tools, "h264", "vp8", "opus")
    folder.mkdir(parents=True, exist_ok=True)
    tracks: dict[str, dict[str, Any]] = {}
    for name, (source, offset, seconds, args) in MEDIA.items():
        subprocess.run(
            [tools.ffmpeg, "-nostdin", "-v", "error", "-y", *args, "-t", f"{seconds:g}"]
            + [str(folder / FILES[name])],
            check=True,
        )
        codec = tools.probe(folder / FILES[name]).codecs[0]
        tracks[name] = {"source": source, "codec": codec, "file": FILES[name],
                        "duration": seconds, "offset": offset, "hls": None}  # fmt: skip
    tracks["classroom_r1_microphone"] = {
        "source": "classroom:r1/microphone", "codec": "opus",
        "error": "track classroom_r1_microphone has no usable segment",
    }  # fmt: skip
    assets = {"version": 1, "recording": folder.name, "started_wall": 1_700_000_000.0,
              "duration": LESSON_S, "tracks": tracks}  # fmt: skip
    (folder / "assets.json").write_text(json.dumps(assets), encoding="utf-8")
    return assets


@pytest.fixture(scope="module")
def lesson(tools: Ffmpeg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("assets") / "lesson-1"
    make_lesson(tools, folder)
    return folder


def packets(path: Path) -> list[tuple[float, bytes]]:
    """Every video packet (every packet of an audio-only file): its time and bytes."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if container.streams.video else container.streams[0]
        return [
            (float(p.pts * p.time_base), bytes(p))
            for p in container.demux(stream)
            if p.size and p.pts is not None
        ]


def test_keyframes_are_read_from_the_video_and_audio_has_none(lesson: Path) -> None:
    assert keyframe_times(lesson / FILES[CAMERA]) == pytest.approx([0, 2, 4, 6], abs=1e-3)
    assert keyframe_times(lesson / FILES[CLASSROOM]) == pytest.approx([0, 2, 4], abs=1e-3)
    assert keyframe_times(lesson / FILES[MICROPHONE]) == []


def test_align_moves_the_start_back_to_a_keyframe_and_clamps_the_end() -> None:
    keyframes = [0.0, 2.0, 4.0, 6.0]
    assert align(keyframes, 3.1, 6.5, 8.0) == (2.0, 6.5)
    assert align(keyframes, 4.0, 5.0, 8.0) == (4.0, 5.0)
    assert align(keyframes, 3.9999996, 5.0, 8.0) == (4.0, 5.0)  # a float's error away
    assert align(keyframes, 7.5, 20.0, 8.0) == (6.0, 8.0)
    assert align([0.5, 2.5], 0.2, 1.0, 8.0) == (0.0, 1.0)  # none before: the file's start
    assert align([], 1.25, 2.0, 8.0) == (0.0, 2.0)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(3.0, 3.0, "end after it starts"), (3.0, 2.0, "end after it starts"),
     (-0.5, 2.0, "before the recording"), (8.0, 9.0, "before the recording ends")],
)  # fmt: skip
def test_align_refuses_a_clip_that_is_not_one(start: float, end: float, message: str) -> None:
    with pytest.raises(ClipInvalid, match=message):
        align([0.0, 2.0], start, end, 8.0)


def test_a_video_track_is_cut_on_a_keyframe_without_transcoding(
    lesson: Path, tools: Ffmpeg, tmp_path: Path
) -> None:
    source = lesson / FILES[CAMERA]
    cut = cut_track(source, 3.1, 6.5, tmp_path / "cut.mp4", tools=tools)

    assert (cut.path, cut.start, cut.end) == (tmp_path / "cut.mp4", 2.0, 6.5)
    assert cut.duration == pytest.approx(4.5, abs=0.1)
    info = tools.probe(cut.path)
    assert info.codecs == ("h264",) and info.start == pytest.approx(0.0, abs=0.01)
    data = cut.path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart
    assert not list(tmp_path.glob(".*part*"))
    # the very same frames, from the keyframe at 2 s on
    kept = [payload for t, payload in packets(source) if 2.0 - 1e-3 < t < 6.5]
    assert [payload for _, payload in packets(cut.path)] == kept
    assert keyframe_times(cut.path) == pytest.approx([0.0, 2.0, 4.0], abs=1e-3)


def test_an_audio_track_is_cut_where_asked(lesson: Path, tools: Ffmpeg, tmp_path: Path) -> None:
    cut = cut_track(lesson / FILES[MICROPHONE], 1.5, 4.0, tmp_path / "mic.webm", tools=tools)
    assert (cut.start, cut.end) == (1.5, 4.0)
    assert cut.duration == pytest.approx(2.5, abs=0.05)
    assert tools.probe(cut.path).codecs == ("opus",)
    with pytest.raises(ValueError, match="MP4 or WebM"):
        cut_track(lesson / FILES[MICROPHONE], 1.5, 4.0, tmp_path / "mic.mp4", tools=tools)


def test_a_clip_cuts_every_track_in_it_and_keeps_them_lined_up(
    lesson: Path, tools: Ffmpeg, tmp_path: Path
) -> None:
    out = tmp_path / "clips" / "7"
    clip = cut_clip(lesson, 3.1, 6.5, out, tools=tools)

    assert json.loads((out / CLIP).read_text(encoding="utf-8")) == clip
    assert not list(out.glob(".*part*"))
    # the teacher's camera has a keyframe at 2 s: the clip starts there, in lesson time
    assert (clip["start"], clip["end"]) == (2.0, 6.5)
    assert clip["requested"] == {"start": 3.1, "end": 6.5}
    tracks = clip["tracks"]
    assert sorted(tracks) == [CLASSROOM, CAMERA, MICROPHONE]  # not the unusable one
    for name, track in tracks.items():
        assert track["file"] == FILES[name] and (out / track["file"]).is_file()
        assert track["source"] == MEDIA[name][0]
        probed = tools.probe(out / track["file"])
        assert probed.codecs == (track["codec"],) == (tools.probe(lesson / FILES[name]).codecs)
        assert track["duration"] == pytest.approx(probed.duration, abs=0.01)
    # lesson time = clip start + offset in the clip + time in the cut file
    assert tracks[CAMERA]["offset"] == 0.0  # its 2 s
    assert tracks[CAMERA]["duration"] == pytest.approx(4.5, abs=0.1)
    assert tracks[CLASSROOM]["offset"] == pytest.approx(0.5, abs=1e-3)  # joined at 2.5 s
    assert tracks[CLASSROOM]["duration"] == pytest.approx(4.0, abs=0.1)  # its 0 s to 4 s
    assert packets(out / FILES[CLASSROOM])[0][1] == packets(lesson / FILES[CLASSROOM])[0][1]
    assert tracks[MICROPHONE]["offset"] == 0.0  # its 1.5 s, lesson's 2 s
    assert tracks[MICROPHONE]["duration"] == pytest.approx(4.5, abs=0.05)  # to its 6 s


def test_a_track_that_starts_inside_the_clip_keeps_its_offset(
    lesson: Path, tools: Ffmpeg, tmp_path: Path
) -> None:
    clip = cut_clip(lesson, 0.2, 2.0, tmp_path, tools=tools)
    assert (clip["start"], clip["end"]) == (0.0, 2.0)
    assert sorted(clip["tracks"]) == [CAMERA, MICROPHONE]  # the classroom came at 2.5 s
    assert clip["tracks"][MICROPHONE]["offset"] == 0.5
    assert clip["tracks"][MICROPHONE]["duration"] == pytest.approx(1.5, abs=0.05)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(9.0, 12.0, "no track"), (4.0, 4.0, "run forwards"), (-1.0, 2.0, "run forwards")],
)
def test_a_clip_with_nothing_in_it_is_refused(
    lesson: Path, tools: Ffmpeg, tmp_path: Path, start: float, end: float, message: str
) -> None:
    with pytest.raises(ClipInvalid, match=message):
        cut_clip(lesson, start, end, tmp_path / "clip", tools=tools)
    assert not (tmp_path / "clip" / CLIP).exists()


def test_a_folder_without_assets_is_an_error(tools: Ffmpeg, tmp_path: Path) -> None:
    with pytest.raises(AssemblyFailed, match="assets.json"):
        cut_clip(tmp_path, 0.0, 2.0, tmp_path / "clip", tools=tools)
