"""recorder.storage: one contract that every adapter of the recordings store passes (only
``LocalStorage`` for now; the S3 adapter joins ``ADAPTERS``), then what only the local
one promises (atomic writes on disk, empty folders removed, files for HTTP Range)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.errors import RecorderError, StorageKeyInvalid, StorageKeyMissing
from recorder.storage import (
    TEMP_SUFFIX,
    DeletedPrefix,
    LocalStorage,
    Storage,
    StoredObject,
    check_folder,
    check_key,
    check_prefix,
)

SEGMENT = "recordings/lesson-1/teacher-camera-000001.mkv"
ASSETS = "assets/lesson-1/assets.json"

ADAPTERS: dict[str, Callable[[Path], Storage]] = {
    "local": lambda tmp: LocalStorage(tmp / "store"),
}

BAD_KEYS = [
    "",
    "/recordings/lesson-1/a.mkv",
    "recordings/../secrets",
    "..",
    "recordings/./a.mkv",
    "recordings//a.mkv",
    "recordings/lesson-1/",
    "recordings\\lesson-1\\a.mkv",
    "recordings/lesson-1/a\x00.mkv",
    "recordings/lesson-1/a\n.mkv",
    f"recordings/lesson-1/.a.mkv.1234{TEMP_SUFFIX}",
    "recordings/" + "x" * 1024,
]


@pytest.fixture(params=sorted(ADAPTERS))
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return ADAPTERS[request.param](tmp_path)


def read(storage: Storage, key: str) -> bytes:
    with storage.open(key) as stream:
        return stream.read()


def keys(storage: Storage, prefix: str = "") -> list[str]:
    return [item.key for item in storage.list(prefix)]


# The contract ------------------------------------------------------------------------


def test_put_bytes_then_read_it_back(storage: Storage) -> None:
    assert not storage.exists(SEGMENT)
    storage.put_bytes(SEGMENT, b"\x1a\x45\xdf\xa3 segment")
    assert storage.exists(SEGMENT)
    assert read(storage, SEGMENT) == b"\x1a\x45\xdf\xa3 segment"
    assert storage.size(SEGMENT) == 12
    storage.put_bytes(ASSETS, b"")
    assert (storage.size(ASSETS), read(storage, ASSETS)) == (0, b"")


def test_put_file_copies_the_file(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "built.mp4"
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one copy chunk
    source.write_bytes(data)
    storage.put_file("assets/lesson-1/teacher-camera.mp4", source)
    assert source.read_bytes() == data  # the caller's file is left as it was
    assert read(storage, "assets/lesson-1/teacher-camera.mp4") == data
    assert storage.size("assets/lesson-1/teacher-camera.mp4") == len(data)


def test_a_put_replaces_the_object(storage: Storage, tmp_path: Path) -> None:
    storage.put_bytes(ASSETS, b'{"version": 1, "long": "....."}')
    storage.put_bytes(ASSETS, b'{"version": 2}')
    assert read(storage, ASSETS) == b'{"version": 2}'
    source = tmp_path / "assets.json"
    source.write_bytes(b'{"version": 3}')
    storage.put_file(ASSETS, source)
    assert read(storage, ASSETS) == b'{"version": 3}'
    assert keys(storage) == [ASSETS]


def test_a_put_of_a_missing_file_stores_nothing(storage: Storage, tmp_path: Path) -> None:
    storage.put_bytes(ASSETS, b"old")
    with pytest.raises(FileNotFoundError):
        storage.put_file(ASSETS, tmp_path / "no-such-file")
    assert read(storage, ASSETS) == b"old"
    assert keys(storage) == [ASSETS]


def test_missing_keys(storage: Storage) -> None:
    storage.put_bytes(SEGMENT, b"x")
    for missing in ("recordings/lesson-2/a.mkv", "recordings/lesson-1", "recordings"):
        assert not storage.exists(missing)
        with pytest.raises(StorageKeyMissing) as raised:
            storage.open(missing)
        assert raised.value.key == missing
        with pytest.raises(StorageKeyMissing):
            storage.size(missing)
        with pytest.raises(StorageKeyMissing):
            storage.local_path(missing)
    assert issubclass(StorageKeyMissing, RecorderError)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_are_refused_by_every_method(
    storage: Storage, tmp_path: Path, key: str
) -> None:
    source = tmp_path / "file"
    source.write_bytes(b"x")
    calls: list[Callable[[], object]] = [
        lambda: storage.put_bytes(key, b"x"),
        lambda: storage.put_file(key, source),
        lambda: storage.open(key),
        lambda: storage.local_path(key),
        lambda: storage.size(key),
        lambda: storage.exists(key),
    ]
    for call in calls:
        with pytest.raises(StorageKeyInvalid) as raised:
            call()
        assert raised.value.key == key
    assert keys(storage) == []
    assert issubclass(StorageKeyInvalid, RecorderError)


def test_list_by_prefix_in_key_order(storage: Storage) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    written = {
        "recordings/lesson-1/teacher-camera-000002.mkv": b"22",
        "recordings/lesson-1/teacher-camera-000001.mkv": b"1",
        "recordings/lesson-1/teacher-microphone-000001.mka": b"333",
        "recordings/lesson-1/recording.json": b"{}",
        "recordings/lesson-10/teacher-camera-000001.mkv": b"4444",
        "assets/lesson-1/assets.json": b"55555",
    }
    for key, data in written.items():
        storage.put_bytes(key, data)
    assert keys(storage) == sorted(written)
    assert keys(storage, "recordings/lesson-1/") == [
        "recordings/lesson-1/recording.json",
        "recordings/lesson-1/teacher-camera-000001.mkv",
        "recordings/lesson-1/teacher-camera-000002.mkv",
        "recordings/lesson-1/teacher-microphone-000001.mka",
    ]
    # A prefix is the start of a key, not a folder: as in S3.
    assert keys(storage, "recordings/lesson-1/teacher-camera-") == [
        "recordings/lesson-1/teacher-camera-000001.mkv",
        "recordings/lesson-1/teacher-camera-000002.mkv",
    ]
    assert keys(storage, "recordings/lesson-1") == sorted(
        k for k in written if k.startswith("recordings/")
    )
    assert keys(storage, "ass") == ["assets/lesson-1/assets.json"]
    assert keys(storage, "recordings/lesson-2/") == []
    assert keys(storage, "nothing/here/") == []
    listed = {item.key: item for item in storage.list("")}
    for key, data in written.items():
        item = listed[key]
        assert isinstance(item, StoredObject)
        assert item.size == len(data)
        assert item.modified.tzinfo is not None
        assert before <= item.modified <= datetime.now(UTC) + timedelta(seconds=5)


@pytest.mark.parametrize("prefix", ["/", "/recordings", "../", "recordings//", "a\\b", "a/../b"])
def test_list_refuses_a_bad_prefix_at_once(storage: Storage, prefix: str) -> None:
    with pytest.raises(StorageKeyInvalid):
        storage.list(prefix)


def test_delete_prefix_deletes_one_folder_and_counts_it(storage: Storage) -> None:
    storage.put_bytes("recordings/lesson-1/teacher-camera-000001.mkv", b"1234")
    storage.put_bytes("recordings/lesson-1/tracks/deep/x.bin", b"123456")
    storage.put_bytes("recordings/lesson-10/teacher-camera-000001.mkv", b"kept")
    storage.put_bytes("recordings/lesson-1.json", b"kept")
    assert storage.delete_prefix("recordings/lesson-1/") == DeletedPrefix(count=2, bytes=10)
    assert keys(storage) == [
        "recordings/lesson-1.json",
        "recordings/lesson-10/teacher-camera-000001.mkv",
    ]
    assert storage.delete_prefix("recordings/lesson-1/") == DeletedPrefix(0, 0)
    assert storage.delete_prefix("assets/never-built/") == DeletedPrefix(0, 0)
    # The folder can be written again afterwards.
    storage.put_bytes("recordings/lesson-1/teacher-camera-000001.mkv", b"again")
    assert read(storage, "recordings/lesson-1/teacher-camera-000001.mkv") == b"again"


@pytest.mark.parametrize(
    "prefix", ["", "/", "recordings/lesson-1", "recordings//", "../", "recordings/../"]
)
def test_delete_prefix_takes_only_a_folder(storage: Storage, prefix: str) -> None:
    storage.put_bytes("recordings/lesson-1/a.mkv", b"x")
    storage.put_bytes("recordings/lesson-10/a.mkv", b"x")
    with pytest.raises(StorageKeyInvalid):
        storage.delete_prefix(prefix)
    assert len(keys(storage)) == 2


def test_local_path_when_there_is_one_holds_the_object(storage: Storage) -> None:
    storage.put_bytes(SEGMENT, b"segment")
    path = storage.local_path(SEGMENT)
    if path is not None:  # a remote store serves presigned URLs instead
        assert path.read_bytes() == b"segment"


# The key rules, apart from any adapter ---------------------------------------------


def test_key_prefix_and_folder_rules() -> None:
    assert check_key(SEGMENT) == SEGMENT
    assert check_key("assets/lesson-1/课堂 1.json") == "assets/lesson-1/课堂 1.json"
    assert check_key("a/..b/c..") == "a/..b/c.."  # only whole '..' parts are refused
    for bad in BAD_KEYS:
        with pytest.raises(StorageKeyInvalid):
            check_key(bad)
    for prefix in ("", "recordings/", "recordings/lesson-1/teacher-", "rec"):
        assert check_prefix(prefix) == prefix
    assert check_folder("recordings/lesson-1/") == "recordings/lesson-1/"
    with pytest.raises(StorageKeyInvalid, match="must end with '/'"):
        check_folder("recordings/lesson-1")
    with pytest.raises(StorageKeyInvalid, match=r"'\.\.' part"):
        check_key("recordings/../etc/passwd")


# Only the local adapter -------------------------------------------------------------


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_local_objects_are_plain_files_and_no_temporary_file_stays(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    source = tmp_path / "a.mp4"
    source.write_bytes(b"mp4")
    store.put_file("assets/lesson-1/a.mp4", source)
    store.put_bytes("assets/lesson-1/assets.json", b"{}")
    store.put_bytes("assets/lesson-1/assets.json", b"{ }")
    assert files_under(tmp_path / "store") == [
        "assets/lesson-1/a.mp4",
        "assets/lesson-1/assets.json",
    ]
    assert store.local_path("assets/lesson-1/a.mp4") == tmp_path / "store/assets/lesson-1/a.mp4"


def test_local_list_hides_what_is_not_an_object(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = LocalStorage(root)
    store.put_bytes(SEGMENT, b"segment")
    # What a crash in the middle of a write leaves, and a link out of the store.
    (root / f"recordings/lesson-1/.teacher-camera-000002.mkv.1f2e{TEMP_SUFFIX}").write_bytes(b"x")
    (tmp_path / "outside").write_bytes(b"secret")
    (root / "recordings/lesson-1/link.mkv").symlink_to(tmp_path / "outside")
    assert keys(store) == [SEGMENT]
    assert store.delete_prefix("recordings/lesson-1/") == DeletedPrefix(2, 8)
    assert (tmp_path / "outside").read_bytes() == b"secret"  # a link is not followed
    assert files_under(root) == []


def test_local_delete_prefix_removes_the_folders_it_empties(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = LocalStorage(root)
    store.put_bytes("recordings/lesson-1/a/b/c.bin", b"c")
    store.put_bytes("recordings/lesson-2/a.bin", b"a")
    store.delete_prefix("recordings/lesson-1/")
    assert sorted(p.name for p in (root / "recordings").iterdir()) == ["lesson-2"]
    store.delete_prefix("recordings/lesson-2/")
    assert (root / "recordings").is_dir()  # the folder above the prefix stays
    assert list((root / "recordings").iterdir()) == []


def test_local_reader_keeps_the_version_it_opened(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    store.put_bytes(ASSETS, b"version 1")
    with store.open(ASSETS) as reading:
        store.put_bytes(ASSETS, b"version 2")
        assert reading.read() == b"version 1"  # replaced by a rename, not rewritten
    assert read(store, ASSETS) == b"version 2"


def test_local_store_needs_no_root_until_written(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "not-yet")
    assert keys(store) == []
    assert store.delete_prefix("recordings/lesson-1/") == DeletedPrefix(0, 0)
    assert not (tmp_path / "not-yet").exists()
