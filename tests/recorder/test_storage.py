"""recorder.storage: ``LocalStorage`` passes the store's contract
(``tests/recorder/storage_contract.py``, which the S3 adapter passes too), then what only
the local one promises (atomic writes on disk, empty folders removed, files for HTTP Range),
and the key rules apart from any adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder.errors import StorageKeyInvalid
from recorder.storage import (
    TEMP_SUFFIX,
    DeletedPrefix,
    LocalStorage,
    Storage,
    check_folder,
    check_key,
    check_prefix,
)
from tests.recorder.storage_contract import ASSETS, BAD_KEYS, SEGMENT, StorageContract, keys, read


class TestLocalStorage(StorageContract):
    remote = False

    @pytest.fixture
    def storage(self, tmp_path: Path) -> Storage:
        return LocalStorage(tmp_path / "store")


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
