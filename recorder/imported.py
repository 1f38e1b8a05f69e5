"""Recordings made outside the embedded recorder (LiveKit Egress), entered into its pipeline.

The embedded recorder leaves in ``recordings/<lesson>/`` segments, one timeline per track
(``<track>.timeline.jsonl``) and ``recording.json``; ``recorder.pipeline`` builds the
review assets from those, and the job worker puts ``recording.ready`` in the lesson's log.
A file that a track egress wrote (the whole track as it was published, in its codec's own
container: Opus in Ogg, VP8 in WebM, H.264 in MP4; no transcoding) is one more segment of
its track here:

- :func:`register` lists the file in its track's timeline (its wall-clock start and its
  length as the egress reported them; it carries no RTP timestamps and its frames are not
  counted) and describes the track beside it (``<track>.imported.json``: its source and
  codec). A file listed already is not listed again, and of two files of one track that
  cover the same time (two egresses for one track, one of them stopped) the longer is kept.
- :func:`complete`, once the lesson's egresses have all ended, writes ``recording.json``
  from those descriptions and queues the assets job, as the embedded agent does.

The job worker builds from the local disk (``<data dir>/recordings/<lesson>/``, the spool)
and, with a bucket, moves the recording into it afterwards; so files are registered in the
spool: Egress writes into it directly, or uploads into the bucket, from which :func:`fetch`
copies the file down first.

The manifest comes last on purpose: a build started before it (the embedded agent queues
one when a lesson ends, even when it had nothing to record) finds no manifest and is tried
again later, instead of building a recording with tracks still missing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from recorder.capture import MANIFEST, track_name
from recorder.errors import StorageKeyMissing
from recorder.jobs import JobQueue
from recorder.segments import SegmentInfo
from recorder.storage import COPY_CHUNK, LocalStorage, Storage, check_key
from recorder.worker import ASSETS

logger = logging.getLogger(__name__)

RECORDINGS = "recordings"
DESCRIPTION = ".imported.json"  # beside a track's timeline: what the track is
TIMELINE = ".timeline.jsonl"
#: The codec of a track egress's file, by its extension (LiveKit Egress picks the container).
CODECS = {".ogg": "opus", ".webm": "vp8", ".mp4": "h264"}
CLOCK_RATES = {"opus": 48_000, "vp8": 90_000, "h264": 90_000}
OVERLAP_S = 1.0  # two files of a track that share more than this are the same recording
BUILD_DELAY = timedelta(0)  # every egress has ended: nothing more to wait for


@dataclass(frozen=True)
class ImportedFile:
    """A finished file of one track: ``source`` as the embedded recorder names it
    (``teacher:cs-1-t1/camera``), ``key`` in the recordings store
    (``recordings/<lesson>/<name>``), its first media at ``started`` (UTC epoch seconds)
    and ``seconds`` long; ``codec`` is taken from the name when empty."""

    lesson: str
    source: str
    key: str
    started: float
    seconds: float
    codec: str = ""


def folder(lesson: str) -> str:
    """The store's folder of a lesson's recording (``recordings/<lesson>/``)."""
    return check_key(f"{RECORDINGS}/{lesson}") + "/"


def key_of(lesson: str, filename: str) -> str | None:
    """The store key of a file an egress reports as ``filename`` (a bucket key, or a path
    on the egress host that ends with the key), if it is in the lesson's folder."""
    name = PurePosixPath(filename).name
    key = folder(lesson) + name
    return key if name and ("/" + filename).endswith("/" + key) else None


def codec_of(name: str) -> str | None:
    return CODECS.get(PurePosixPath(name).suffix.lower())


def fetch(remote: Storage, spool: LocalStorage, key: str) -> bool:
    """Copy the object ``key`` of ``remote`` into ``spool`` unless it is there; True if it
    was copied. Written under a hidden temporary name, then renamed: a build never sees
    half a file. ``StorageKeyMissing`` when ``remote`` does not have it either."""
    if spool.exists(key):
        return False
    target = spool.root / check_key(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    try:
        with remote.open(key) as source, part.open("wb") as out:
            shutil.copyfileobj(source, out, COPY_CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return True


def register(storage: Storage, file: ImportedFile) -> bool:
    """Enter ``file`` into its track's timeline; False if it was there already, or a longer
    file of the same track covers its time. ``ValueError`` for a file this cannot take
    (outside the lesson's folder, a codec the pipeline does not know)."""
    name = file.key.removeprefix(folder(file.lesson))
    if "/" in name or name == file.key:
        raise ValueError(f"{file.key} is not in {folder(file.lesson)}")
    codec = file.codec or codec_of(name)
    if codec not in CLOCK_RATES:
        raise ValueError(f"cannot take {name}: codec {codec or 'unknown'}")
    track = track_name(file.source)
    timeline_key = folder(file.lesson) + track + TIMELINE
    entries = _timeline(storage, timeline_key)
    if any(entry.segment == name for entry in entries):
        return False
    entry = SegmentInfo(name, 0, 0, file.started, 0, file.seconds)
    overlapping = [e for e in entries if _shared(e, entry) > OVERLAP_S]
    if any(e.seconds >= entry.seconds for e in overlapping):
        logger.info("Imported(%s) %s left out: a longer file of %s covers it", file.lesson,
                    name, track)  # fmt: skip
        return False
    kept = sorted([e for e in entries if e not in overlapping] + [entry], key=lambda e: e.wall)
    lines = "".join(json.dumps(asdict(e)) + "\n" for e in kept)
    storage.put_bytes(timeline_key, lines.encode())
    described = {"source": file.source, "codec": codec, "clock_rate": CLOCK_RATES[codec]}
    description_key = folder(file.lesson) + track + DESCRIPTION
    if _json(storage, description_key) != described:
        storage.put_bytes(description_key, json.dumps(described, ensure_ascii=False).encode())
    logger.info("Imported(%s) %s as a segment of %s (%.1f s)", file.lesson, name, track,
                file.seconds)  # fmt: skip
    return True


def complete(
    storage: Storage, jobs: JobQueue, lesson: str, now: datetime, delay: timedelta = BUILD_DELAY
) -> list[str]:
    """Write the lesson's ``recording.json`` with every track registered (beside any the
    embedded recorder wrote) and queue its build; the tracks, none if nothing was."""
    prefix = folder(lesson)
    tracks: dict[str, Any] = {}
    for stored in storage.list(prefix):
        if stored.key.endswith(DESCRIPTION):
            described = _json(storage, stored.key)
            if isinstance(described, dict):
                tracks[stored.key.removeprefix(prefix).removesuffix(DESCRIPTION)] = described
    if not tracks:
        return []
    manifest = _json(storage, prefix + MANIFEST)
    if not isinstance(manifest, dict):
        manifest = {}
    manifest.setdefault("tracks", {}).update(tracks)
    manifest.setdefault("started", now.timestamp())
    storage.put_bytes(
        prefix + MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    )
    jobs.enqueue(lesson, ASSETS, now, delay=delay)
    logger.info("Imported(%s) complete: %d tracks, assets queued", lesson, len(tracks))
    return sorted(tracks)


def _shared(a: SegmentInfo, b: SegmentInfo) -> float:
    """Seconds two files of one track have in common."""
    return min(a.wall + a.seconds, b.wall + b.seconds) - max(a.wall, b.wall)


def _timeline(storage: Storage, key: str) -> list[SegmentInfo]:
    try:
        with storage.open(key) as stream:
            text = stream.read().decode("utf-8")
    except StorageKeyMissing:
        return []
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entries.append(SegmentInfo(**{name: data[name] for name in SegmentInfo.__slots__}))
        except (ValueError, KeyError, TypeError):
            logger.warning("Imported: %s has a line that is not a segment; dropped", key)
    return entries


def _json(storage: Storage, key: str) -> Any:
    try:
        with storage.open(key) as stream:
            return json.loads(stream.read())
    except (StorageKeyMissing, ValueError):
        return None
