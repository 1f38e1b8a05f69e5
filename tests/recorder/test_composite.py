"""recorder.composite: the layout on fixed sources, and the composite of a lesson's assets
(test_clips' lesson: the teacher's camera from 0 s, a classroom's from 2.5 s, the
teacher's microphone from 0.5 s) made by the real ffmpeg and looked at frame by frame."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import av
import pytest

from recorder.composite import COMPOSITE, VIDEO, Tile, composite, layout
from recorder.errors import AssemblyFailed, EncoderMissing, FfmpegMissing
from recorder.ffmpeg_binary import Ffmpeg
from recorder.previews import audio_levels
from tests.recorder.test_clips import CAMERA, CLASSROOM, LESSON_S, MICROPHONE, make_lesson

TEACHER, SCREEN = "teacher:t1/camera", "teacher:t1/screen"


def rooms(count: int) -> list[str]:
    return [f"classroom:r{i}/camera" for i in range(count)]


def test_the_teacher_alone_fills_the_frame() -> None:
    assert layout([TEACHER, "teacher:t1/microphone"]) == [Tile(TEACHER, 0, 0, 1280, 720)]


def test_without_a_screen_the_classrooms_stack_right_of_the_teacher() -> None:
    assert layout(["classroom:r2/camera", TEACHER, "classroom:r1/camera"]) == [
        Tile(TEACHER, 0, 0, 854, 480),
        Tile("classroom:r1/camera", 854, 0, 426, 240),
        Tile("classroom:r2/camera", 854, 240, 426, 240),
    ]


def test_with_a_screen_the_classrooms_run_along_the_bottom() -> None:
    assert layout([SCREEN, TEACHER, *rooms(7)]) == [
        Tile(SCREEN, 0, 0, 960, 540),
        Tile(TEACHER, 960, 0, 320, 180),
        *[Tile(f"classroom:r{i}/camera", 320 * i, 540, 320, 180) for i in range(4)],
        Tile("classroom:r4/camera", 960, 180, 320, 180),
        Tile("classroom:r5/camera", 960, 360, 320, 180),
    ]  # the 7th has no room


def test_without_the_teacher_the_classrooms_take_the_free_cells() -> None:
    assert layout([SCREEN, *rooms(5)])[-1] == Tile("classroom:r4/camera", 960, 0, 320, 180)
    assert layout(rooms(3)) == [
        Tile("classroom:r0/camera", 0, 0, 640, 360),
        Tile("classroom:r1/camera", 640, 0, 640, 360),
        Tile("classroom:r2/camera", 0, 360, 640, 360),
    ]
    assert layout(["teacher:t1/microphone"]) == []


@pytest.mark.parametrize(
    ("big", "count"),
    list(itertools.product([[TEACHER], [SCREEN], [SCREEN, TEACHER], []], range(7))),
)
def test_tiles_are_even_16_9_inside_the_frame_and_apart(big: list[str], count: int) -> None:
    sources = [*big, *rooms(count)]
    tiles = layout(sources, 1280, 720)
    assert [t.source for t in tiles] == sources[: len(tiles)]  # big first, rooms in order
    assert len(tiles) == len(sources)  # up to 6 classrooms there is room for all
    for tile in tiles:
        assert all(v % 2 == 0 for v in (tile.x, tile.y, tile.w, tile.h))
        assert tile.w / tile.h == pytest.approx(16 / 9, rel=0.01)
        assert 0 <= tile.x and tile.x + tile.w <= 1280 and 0 <= tile.y and tile.y + tile.h <= 720
    for a, b in itertools.combinations(tiles, 2):
        apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
        assert apart, (a, b)
    if big:
        assert tiles[0].w > max((t.w for t in tiles[1:]), default=0)  # the big one first


def test_an_odd_size_is_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        layout([TEACHER], 1279, 720)


def brightness(path: Path, at: float, tile: dict[str, Any]) -> float:
    """The mean luma (0-255) of the middle of ``tile`` in the first frame from ``at`` s."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is None or frame.time < at - 1e-3:
                continue
            plane = frame.reformat(format="gray").planes[0]
            data = bytes(plane)
            x0, y0, w, h = tile["x"], tile["y"], tile["w"], tile["h"]
            values = [
                data[y * plane.line_size + x]
                for y in range(y0 + h // 4, y0 + 3 * h // 4, 4)
                for x in range(x0 + w // 4, x0 + 3 * w // 4, 4)
            ]
            return sum(values) / len(values)
    raise AssertionError(f"no frame at {at} s in {path.name}")


@pytest.fixture(scope="module")
def lesson(tools: Ffmpeg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("assets") / "lesson-1"
    make_lesson(tools, folder)
    return folder


@pytest.mark.slow
def test_each_track_shows_in_its_tile_from_its_offset(
    lesson: Path, tools: Ffmpeg, tmp_path: Path
) -> None:
    reported: list[int] = []
    made = composite(lesson, tmp_path, tools=tools, report=reported.append)

    assert json.loads((tmp_path / COMPOSITE).read_text(encoding="utf-8")) == made
    assert not list(tmp_path.glob(".*part*"))
    assert reported[0] == 0 and reported[-1] == 100 and reported == sorted(reported)
    assert (made["file"], made["width"], made["height"]) == (VIDEO, 1280, 720)
    info = tools.probe(tmp_path / VIDEO)
    assert info.codecs == ("h264", "aac")
    assert (info.video and (info.video.width, info.video.height)) == (1280, 720)
    assert info.duration == pytest.approx(LESSON_S, abs=0.5)
    assert made["duration"] == pytest.approx(info.duration, abs=0.01)
    data = (tmp_path / VIDEO).read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart
    tiles = {tile["track"]: tile for tile in made["tiles"]}
    assert sorted(tiles) == [CLASSROOM, CAMERA]
    teacher, classroom = tiles[CAMERA], tiles[CLASSROOM]
    assert (teacher["x"], teacher["y"], teacher["w"]) == (0, 0, 854)

    black, lit = 12, 40  # the test picture is bright; the empty cells are dark grey
    assert brightness(tmp_path / VIDEO, 1.0, teacher) > lit
    assert brightness(tmp_path / VIDEO, 1.0, classroom) < black  # it joins at 2.5 s
    assert brightness(tmp_path / VIDEO, 5.0, classroom) > lit
    assert brightness(tmp_path / VIDEO, 8.2, teacher) < black  # its camera ended at 8 s
    empty = {"x": 0, "y": 480, "w": 854, "h": 240}
    assert black < brightness(tmp_path / VIDEO, 1.0, empty) < lit

    # the microphone, from 0.5 s: silent before, the tone after
    levels = audio_levels(tmp_path / VIDEO, tools=tools).levels_db
    assert max(levels[:3]) < -60 and min(levels[8:70]) > -30


@pytest.mark.slow
def test_a_lesson_without_microphones_is_silent(
    lesson: Path, tools: Ffmpeg, tmp_path: Path
) -> None:
    assets = json.loads((lesson / "assets.json").read_text(encoding="utf-8"))
    del assets["tracks"][MICROPHONE], assets["tracks"][CAMERA]
    shutil.copy(lesson / assets["tracks"][CLASSROOM]["file"], tmp_path)
    (tmp_path / "assets.json").write_text(json.dumps(assets), encoding="utf-8")

    made = composite(tmp_path, tmp_path, tools=tools, width=320, height=180)

    assert made["tiles"] == [{"source": "classroom:r1/camera", "track": CLASSROOM,
                              "x": 0, "y": 0, "w": 320, "h": 180}]  # fmt: skip
    info = tools.probe(tmp_path / VIDEO)
    assert info.codecs == ("h264", "aac")
    assert info.duration == pytest.approx(LESSON_S, abs=0.5)  # the lesson's, not the track's
    assert max(audio_levels(tmp_path / VIDEO, tools=tools).levels_db) < -90


def test_no_video_is_an_error(lesson: Path, tools: Ffmpeg, tmp_path: Path) -> None:
    assets = json.loads((lesson / "assets.json").read_text(encoding="utf-8"))
    del assets["tracks"][CAMERA], assets["tracks"][CLASSROOM]
    (tmp_path / "assets.json").write_text(json.dumps(assets), encoding="utf-8")
    with pytest.raises(AssemblyFailed, match="no usable video track"):
        composite(tmp_path, tmp_path, tools=tools)
    with pytest.raises(AssemblyFailed, match="assets.json"):
        composite(tmp_path / "absent", tmp_path, tools=tools)


def test_an_ffmpeg_without_libx264_is_named(lesson: Path, tmp_path: Path) -> None:
    true = shutil.which("true")
    assert true is not None
    not_ffmpeg = Ffmpeg(true, None, "system")  # lists no encoder at all
    with pytest.raises(EncoderMissing, match="no libx264 encoder") as raised:
        composite(lesson, tmp_path, tools=not_ffmpeg)
    assert isinstance(raised.value, FfmpegMissing) and raised.value.encoder == "libx264"
    assert not (tmp_path / VIDEO).exists()
