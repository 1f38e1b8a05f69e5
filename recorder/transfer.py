"""A recording between the worker's disk and a remote recordings store (S3).

Capture always writes to the local disk (``<root>/<lesson>/``: a crash loses at most the
open segment, and an outage of the store loses nothing), and the assets are built there
too. With a remote store, the worker then moves the recording into it
(``upload_recording``): the segments under ``recordings/<lesson>/`` and the assets under
``assets/<lesson>/``, each folder's descriptor (``recording.json``, ``assets.json``) put
last, so that a reader that finds it finds everything it names; only then are the local
copies removed. A recording whose segments are in the store already (written there by
LiveKit Egress, or moved by an attempt cut short before its end) is fetched into a scratch
folder to be built (``fetch_recording``), and only its assets are put (``upload_assets``).
The jobs that need the built files again (the composite, clips) fetch what ``assets.json``
names (``fetch_assets``) and put what they make back (``upload_files``).

Files being written (a name starting with ``.`` or ending with ``.part``) are never
uploaded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recorder.errors import AssemblyFailed, StorageKeyMissing
from recorder.pipeline import ASSETS, MANIFEST
from recorder.storage import COPY_CHUNK, Storage

logger = logging.getLogger(__name__)

RECORDINGS, ASSETS_TOP = "recordings", "assets"  # the store's top folders


def upload_recording(store: Storage, spool: Path, built: Path, recording: str) -> int:
    """Put the segments of ``recording`` (the folder ``spool``) and its assets (``built``)
    into ``store``, then delete both folders; the number of files put."""
    count = upload_folder(store, spool, f"{RECORDINGS}/{recording}/", last=MANIFEST)
    count += upload_assets(store, built, recording)
    shutil.rmtree(spool)
    logger.info("Transfer(%s) put its segments into the store and removed %s", recording, spool)
    return count


def upload_assets(store: Storage, built: Path, recording: str) -> int:
    """Put the assets of ``recording`` (the folder ``built``) into ``store``, then delete
    the folder; the number of files put."""
    count = upload_folder(store, built, f"{ASSETS_TOP}/{recording}/", last=ASSETS)
    shutil.rmtree(built)
    logger.info("Transfer(%s) put %d files into the store and removed %s", recording, count,
                built)  # fmt: skip
    return count


def upload_folder(store: Storage, folder: Path, prefix: str, *, last: str | None = None) -> int:
    """Put every finished file under ``folder`` into ``store`` under ``prefix`` plus its
    relative path, ``last`` (a relative path) after all the others; the number put."""
    names = sorted(_finished(folder))
    if last in names:
        names.remove(last)
        names.append(last)
    return upload_files(store, folder, prefix, names)


def upload_files(store: Storage, folder: Path, prefix: str, names: Iterable[str]) -> int:
    """Put ``folder/<name>`` under ``prefix + name`` for each name, in order."""
    count = 0
    for name in names:
        store.put_file(prefix + name, folder / name)
        count += 1
    return count


def fetch_recording(store: Storage, recording: str, into: Path) -> Path:
    """Copy the segments of ``recording`` from ``store`` into ``into/<recording>/``, which
    is returned. ``AssemblyFailed`` (to be tried again) while the store holds no
    ``recording.json`` of it: nothing was recorded, or it is not complete yet."""
    prefix = f"{RECORDINGS}/{recording}/"
    if not store.exists(prefix + MANIFEST):
        raise AssemblyFailed(f"no recording {recording} on this disk or in the store (yet)")
    folder = into / recording
    for item in store.list(prefix):
        download(store, item.key, folder / item.key[len(prefix) :])
    return folder


def fetch_assets(store: Storage, recording: str, into: Path) -> dict[str, Any]:
    """Copy ``assets.json`` of ``recording`` and the media file of each of its usable
    tracks from ``store`` into the folder ``into``, as the composite and clips read them;
    returns ``assets.json``. ``AssemblyFailed`` when the store holds no built assets."""
    try:
        with store.open(f"{ASSETS_TOP}/{recording}/{ASSETS}") as stream:
            assets: dict[str, Any] = json.loads(stream.read().decode("utf-8"))
    except StorageKeyMissing:
        raise AssemblyFailed(
            f"the store holds no {ASSETS} of {recording}: build it first"
        ) from None
    into.mkdir(parents=True, exist_ok=True)
    (into / ASSETS).write_text(json.dumps(assets, ensure_ascii=False), encoding="utf-8")
    for track in assets.get("tracks", {}).values():
        if "file" in track:  # a relative key: the store refuses '..' and the like
            download(store, f"{ASSETS_TOP}/{recording}/{track['file']}", into / track["file"])
    return assets


def download(store: Storage, key: str, target: Path) -> None:
    """Copy the object under ``key`` into the file ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with store.open(key) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, COPY_CHUNK)


def _finished(folder: Path) -> list[str]:
    """The relative paths of the files under ``folder`` that are no write under way;
    links are not followed."""
    found = []
    for here, folders, files in os.walk(folder):
        folders[:] = [f for f in folders if not f.startswith(".")]
        for name in files:
            path = Path(here) / name
            if name.startswith(".") or name.endswith(".part") or path.is_symlink():
                continue
            found.append(path.relative_to(folder).as_posix())
    return found
