"""The recordings store: the port through which a recording's segments and its built
assets are kept, and ``LocalStorage``, its adapter over a local directory.

Keys are relative POSIX paths, ``recordings/<lesson>/teacher-camera-000001.mkv`` or
``assets/<lesson>/assets.json``, shaped so that an S3-compatible bucket can hold the same
keys unchanged: at most 1024 bytes of UTF-8 (S3's limit), no empty part, no ``.`` or
``..`` part, no leading ``/``, no backslash, no control character; anything else raises
``StorageKeyInvalid``. A key that names no object raises ``StorageKeyMissing``.

A prefix, as in S3, is the start of a key (``recordings/lesson-1/teacher-`` lists that
track's segments). ``delete_prefix`` takes only a *folder*, a prefix that ends with
``/``: under plain S3 semantics ``recordings/lesson-1`` would also delete
``recordings/lesson-10/``.

Writes are atomic: an object is written under a temporary name (ending with
``TEMP_SUFFIX``, a name no key may take) in its folder, flushed to disk, then renamed
over the key, so a reader sees the old object or the new one, and a crash leaves at most
a temporary file that no listing shows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from recorder.errors import StorageKeyInvalid, StorageKeyMissing

logger = logging.getLogger(__name__)

MAX_KEY_BYTES = 1024  # S3's limit on a key, in UTF-8
TEMP_SUFFIX = ".storage-tmp"  # an object being written; never a key
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredObject:
    """One object as listed: its key, its size in bytes, when it was last written (UTC)."""

    key: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class DeletedPrefix:
    """What ``delete_prefix`` removed: ``count`` objects holding ``bytes`` bytes."""

    count: int
    bytes: int


class Storage(Protocol):
    """Where recordings and their assets are kept: a local directory or an S3 bucket."""

    def put_file(self, key: str, path: Path) -> None:
        """Store a copy of the local file ``path`` under ``key``, replacing any object
        there, atomically."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing any object there, atomically."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The object under ``key``, opened for reading; the caller closes it."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file that holds ``key``, for a store on the local disk (the web layer
        serves it with HTTP Range requests); ``None`` for a remote store, whose objects
        are served by presigned URLs."""
        ...

    def size(self, key: str) -> int:
        """The size of the object under ``key``, in bytes."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix`` (``""``: all), in key order."""
        ...

    def delete_prefix(self, prefix: str) -> DeletedPrefix:
        """Delete every object under the folder ``prefix`` (ending with ``/``)."""
        ...


def check_key(key: str) -> str:
    """``key`` if it can name an object, else ``StorageKeyInvalid``."""
    _check_path(key, key)
    if key.endswith("/"):
        raise StorageKeyInvalid(key, "a key cannot end with '/'")
    return key


def check_prefix(prefix: str) -> str:
    """``prefix`` if some key could start with it (``""`` included), else
    ``StorageKeyInvalid``."""
    if prefix.startswith("/"):
        raise StorageKeyInvalid(prefix, "a key cannot start with '/'")
    folder, _, name = prefix.rpartition("/")
    if folder:
        _check_path(prefix, folder)
    if name:
        _check_path(prefix, name)
    return prefix


def check_folder(prefix: str) -> str:
    """``prefix`` if it names a folder, ``a/b/``, else ``StorageKeyInvalid``."""
    if not prefix.endswith("/"):
        raise StorageKeyInvalid(prefix, "a folder to delete must end with '/'")
    if prefix == "/":
        raise StorageKeyInvalid(prefix, "refusing to delete the whole store")
    _check_path(prefix, prefix[:-1])
    return prefix


def _check_path(key: str, path: str) -> None:
    """Check ``path`` (``key`` or a part of it) as parts joined by ``/``."""
    if not path:
        raise StorageKeyInvalid(key, "a key cannot be empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise StorageKeyInvalid(key, f"a key is at most {MAX_KEY_BYTES} bytes of UTF-8")
    if path.startswith("/"):
        raise StorageKeyInvalid(key, "a key cannot start with '/'")
    if "\\" in path:
        raise StorageKeyInvalid(key, "a key cannot hold a backslash")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise StorageKeyInvalid(key, "a key cannot hold control characters")
    for part in path.split("/"):
        if not part:
            raise StorageKeyInvalid(key, "a key cannot hold an empty part ('//')")
        if part in (".", ".."):
            raise StorageKeyInvalid(key, f"a key cannot hold a {part!r} part")
        if part.endswith(TEMP_SUFFIX):
            raise StorageKeyInvalid(key, f"names ending with {TEMP_SUFFIX!r} are reserved")


class LocalStorage:
    """The recordings store as a directory tree under ``root``: a key is a file path.

    ``root`` need not exist yet; folders are made as objects are written, and removed
    by ``delete_prefix`` once empty.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_file(self, key: str, path: Path) -> None:
        with path.open("rb") as source:
            self._write(key, lambda out: shutil.copyfileobj(source, out, COPY_CHUNK))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StorageKeyMissing(key) from None

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        if not path.is_file():
            raise StorageKeyMissing(key)
        return path

    def size(self, key: str) -> int:
        try:
            info = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise StorageKeyMissing(key) from None
        if not stat.S_ISREG(info.st_mode):
            raise StorageKeyMissing(key)
        return info.st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[StoredObject]:
        folder, _, start = check_prefix(prefix).rpartition("/")
        top = self.root / folder if folder else self.root
        found = [
            item for item in _walk(top, folder + "/" if folder else "", start) if _is_key(item.key)
        ]
        found.sort(key=lambda item: item.key)
        return iter(found)  # not a generator: a bad prefix raises at the call

    def delete_prefix(self, prefix: str) -> DeletedPrefix:
        top = self.root / check_folder(prefix)[:-1]
        count = size = 0
        if not top.is_dir() or top.is_symlink():
            return DeletedPrefix(0, 0)
        # Bottom up, so that each folder is empty by the time it is removed; files that
        # are no object (a write under way or cut short) go too, and count as removed.
        for here, folders, files in os.walk(top, topdown=False):
            for name in files:
                path = os.path.join(here, name)
                with contextlib.suppress(FileNotFoundError):
                    info = os.lstat(path)
                    os.unlink(path)
                    if stat.S_ISREG(info.st_mode):
                        count += 1
                        size += info.st_size
            for name in folders:
                path = os.path.join(here, name)
                if os.path.islink(path):  # a link to a folder is not followed
                    os.unlink(path)
                else:
                    _remove_if_empty(path)
        _remove_if_empty(str(top))
        logger.info("LocalStorage(%s) deleted %s: %d objects, %d bytes", self.root, prefix,
                    count, size)  # fmt: skip
        return DeletedPrefix(count, size)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        target = self._path(key)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        for attempt in (1, 2):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                handle = os.open(temp, flags, 0o666)
                break
            except FileNotFoundError:  # a delete_prefix removed the folder in between
                if attempt == 2:
                    raise
        try:
            with os.fdopen(handle, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        _fsync_folder(target.parent)


def _walk(top: Path, relative: str, start: str) -> Iterator[StoredObject]:
    """The regular files under ``top`` (keys ``relative + name``) whose names, at the
    top level only, start with ``start``; links are not followed."""
    try:
        entries = list(os.scandir(top))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if not entry.name.startswith(start):
            continue
        key = relative + entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), key + "/", "")
        elif entry.is_file(follow_symlinks=False):
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # deleted while listed
                continue
            modified = datetime.fromtimestamp(info.st_mtime, UTC)
            yield StoredObject(key=key, size=info.st_size, modified=modified)


def _is_key(key: str) -> bool:
    try:
        check_key(key)
    except StorageKeyInvalid:
        return False  # a temporary file, or a file someone put there by hand
    return True


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except FileNotFoundError:
        pass
    except OSError as error:  # written to meanwhile: it stays, as its new objects do
        logger.info("LocalStorage keeps %s: %s", folder, error)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be
    opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
