"""A finished recording made into what the review page plays and shows.

``process_recording`` reads ``recording.json`` and, for every track, remuxes its
segments into one file (``recorder.assemble``), cuts HLS where the track is H.264,
makes thumbnails and a sprite for a video track and a waveform and levels for an audio
one (``recorder.previews``); then, from the microphones' levels, who spoke when and the
lesson's talk time and S-T figures (``recorder.talk``): the teacher's microphone (a
source ``teacher:...``) against the classrooms' (``classroom:...``).

Everything is described in ``assets.json`` (``ASSETS_VERSION``, paths relative to the
output folder), written last and atomically, so its presence means a complete build. It
records a digest of the inputs (the manifest, the timelines, the segments' names and
sizes): run again on the same inputs, the build is reused as it is; otherwise every step
is redone, each writing under a temporary name first, so a run cut short by a crash is
simply run again. A corrupt or missing segment is left out and listed under its track;
a track with no usable segment is listed with its error; only a recording with no
usable track at all is an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.assemble import TrackAsset, assemble_track, hls
from recorder.errors import AssemblyFailed
from recorder.ffmpeg_binary import Ffmpeg, find_ffmpeg
from recorder.previews import AudioLevels, audio_previews, video_previews
from recorder.talk import Interval, speech_intervals, st_analysis, talk_time

logger = logging.getLogger(__name__)

ASSETS_VERSION = 1
ASSETS = "assets.json"
MANIFEST = "recording.json"  # as recorder.capture writes it
TEACHER, CLASSROOM = "teacher:", "classroom:"
MICROPHONE = "microphone"
ST_EVERY_S = 30.0


def process_recording(
    folder: Path,
    out: Path,
    report: Callable[[int], None],
    *,
    tools: Ffmpeg | None = None,
) -> dict[str, Any]:
    """Build the assets of the recording in ``folder`` into ``out``; returns what
    ``out/assets.json`` holds. ``report(percent)`` is called as the work advances, from
    0 to 100. ``AssemblyFailed`` when the folder holds no recording or no usable track."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        sources: dict[str, dict[str, Any]] = dict(manifest["tracks"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AssemblyFailed(f"no readable {MANIFEST} in {folder}: {error}") from error
    report(0)
    inputs = _inputs_digest(folder, sorted(sources))
    previous = _reusable(out, inputs)
    if previous is not None:
        logger.info("Pipeline(%s) reuses %s: inputs unchanged", folder.name, out / ASSETS)
        report(100)
        return previous
    tools = tools or find_ffmpeg()
    out.mkdir(parents=True, exist_ok=True)
    steps = 2 * len(sources) + 1
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        report(min(99, done * 100 // steps))

    tracks: dict[str, dict[str, Any]] = {}
    assets: dict[str, TrackAsset] = {}
    levels: dict[str, AudioLevels] = {}
    for name in sorted(sources):
        source = str(sources[name].get("source", ""))
        try:
            asset = assemble_track(folder, name, out, tools=tools)
        except AssemblyFailed as error:
            logger.warning("Pipeline(%s) track %s has nothing usable: %s", folder.name,
                           name, error)  # fmt: skip
            tracks[name] = {"source": source, "codec": sources[name].get("codec"),
                            "error": str(error)}  # fmt: skip
            advance()
            advance()
            continue
        assets[name] = asset
        advance()
        tracks[name] = _describe(asset, source, out)
        tracks[name].update(_extras(asset, out, tools, levels))
        advance()
    if not assets:
        raise AssemblyFailed(f"no track of {folder} has a usable segment")
    origin = min(asset.start_wall for asset in assets.values())
    end = max(asset.start_wall + asset.duration for asset in assets.values())
    for name, asset in assets.items():
        tracks[name]["offset"] = round(asset.start_wall - origin, 3)
    talk, st = _talk({n: str(s.get("source", "")) for n, s in sources.items()},
                     assets, levels, origin, end - origin)  # fmt: skip
    result: dict[str, Any] = {
        "version": ASSETS_VERSION,
        "inputs": inputs,
        "recording": folder.name,
        "started_wall": origin,
        "duration": round(end - origin, 3),
        "tracks": tracks,
        "skipped": sorted(s for t in tracks.values() for s in t.get("skipped", [])),
        "missing": sorted(s for t in tracks.values() for s in t.get("missing", [])),
        "talk": talk,
        "st": st,
    }
    part = out / f".{ASSETS}.part"
    part.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(part, out / ASSETS)
    logger.info("Pipeline(%s) built %d tracks into %s (%d segments skipped)", folder.name,
                len(assets), out, len(result["skipped"]))  # fmt: skip
    report(100)
    return result


def _describe(asset: TrackAsset, source: str, out: Path) -> dict[str, Any]:
    return {
        "source": source,
        "codec": asset.codec,
        "codecs": list(asset.codecs),
        "file": _relative(asset.path, out),
        "duration": round(asset.duration, 3),
        "start_wall": asset.start_wall,
        "segments": asset.segments,
        "skipped": list(asset.skipped),
        "missing": list(asset.missing),
        "gaps": [{"at": gap.at, "seconds": gap.seconds} for gap in asset.gaps],
        "lost_seconds": round(asset.lost_seconds, 3),
    }


def _extras(
    asset: TrackAsset, out: Path, tools: Ffmpeg, levels: dict[str, AudioLevels]
) -> dict[str, Any]:
    """HLS, video previews and audio previews of one track, as far as they apply."""
    extras: dict[str, Any] = {"hls": None, "previews": None, "audio": None}
    playlist = hls(asset, out, tools=tools)
    if playlist is not None:
        extras["hls"] = {"playlist": _relative(playlist.playlist, out),
                         "segments": playlist.segments}  # fmt: skip
    previews = video_previews(asset, out, tools=tools)
    if previews is not None:
        extras["previews"] = {
            "every_s": previews.every_s,
            "thumbnails": [_relative(path, out) for path in previews.thumbnails],
            "sprite": _relative(previews.sprite, out),
            "index": _relative(previews.index, out),
        }
    audio = audio_previews(asset, out, tools=tools)
    if audio is not None:
        levels[asset.track] = audio
        extras["audio"] = {
            "step_s": audio.step_s,
            "waveform": f"{asset.track}.waveform.json",
            "levels": f"{asset.track}.levels.json",
        }
    return extras


def _talk(
    sources: dict[str, str],
    assets: dict[str, TrackAsset],
    levels: dict[str, AudioLevels],
    origin: float,
    lesson_s: float,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Talk time and S-T figures from the microphones' levels, on the lesson's timeline
    (seconds from the earliest track's start); ``None`` without the teacher's microphone."""
    teacher: list[Interval] = []
    students: dict[str, list[Interval]] = {}
    heard_teacher = False
    for name, measured in sorted(levels.items()):
        identity, _, kind = sources.get(name, "").partition("/")
        if kind != MICROPHONE or not identity.startswith((TEACHER, CLASSROOM)):
            continue
        shift = assets[name].start_wall - origin
        spoken = [
            (round(a + shift, 3), round(b + shift, 3))
            for a, b in speech_intervals(measured.levels_db, measured.step_s)
        ]
        if identity.startswith(TEACHER):
            heard_teacher = True
            teacher += spoken
        else:
            students.setdefault(identity, []).extend(spoken)
    if lesson_s <= 0 or not heard_teacher:
        return None, None
    times = talk_time(teacher, students, lesson_s)
    talk = {
        "lesson_s": round(times.lesson_s, 3),
        "teacher_s": times.teacher_s,
        "students_s": times.students_s,
        "per_student": times.per_student,
        "overlap_s": times.overlap_s,
        "silence_s": times.silence_s,
        "teacher_ratio": times.teacher_ratio,
        "teacher": [list(i) for i in sorted(teacher)],  # as JSON reads them back
        "students": {
            name: [list(i) for i in sorted(spoken)] for name, spoken in sorted(students.items())
        },
    }
    figures = st_analysis(teacher, students, lesson_s, ST_EVERY_S)
    st = {
        "sequence": figures.sequence,
        "every_s": figures.every_s,
        "n": figures.n,
        "nt": figures.nt,
        "runs": figures.runs,
        "rt": round(figures.rt, 4),
        "ch": round(figures.ch, 4),
        "mode": figures.mode.value,
    }
    return talk, st


def _inputs_digest(folder: Path, tracks: list[str]) -> str:
    digest = hashlib.sha256(f"v{ASSETS_VERSION}\n".encode())
    digest.update((folder / MANIFEST).read_bytes())
    for name in tracks:
        timeline = folder / f"{name}.timeline.jsonl"
        digest.update(f"\n{name}\n".encode())
        if timeline.is_file():
            digest.update(timeline.read_bytes())
        for segment in sorted(folder.glob(f"{name}-[0-9][0-9][0-9][0-9][0-9][0-9].*")):
            digest.update(f"{segment.name} {segment.stat().st_size}\n".encode())
    return digest.hexdigest()


def _reusable(out: Path, inputs: str) -> dict[str, Any] | None:
    """The previous build, if it is complete, of this version and of the same inputs."""
    try:
        previous: dict[str, Any] = json.loads((out / ASSETS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if previous.get("version") != ASSETS_VERSION or previous.get("inputs") != inputs:
        return None
    files = [t["file"] for t in previous.get("tracks", {}).values() if "file" in t]
    return previous if all((out / file).is_file() for file in files) else None


def _relative(path: Path, out: Path) -> str:
    return path.relative_to(out).as_posix()
