"""The contract of the recordings store (``recorder.storage.Storage``), one class that
every adapter's tests subclass with a ``storage`` fixture: ``TestLocalStorage`` in
``test_storage.py``, ``TestS3Storage`` in ``test_s3_storage.py``. Same keys, same errors,
same listings, same ``delete_prefix``, for a store on the disk and a bucket.

An adapter's fixture is built to write files above ``MULTIPART_ABOVE`` bytes in parts,
if it writes in parts at all, so that ``test_a_big_file`` crosses that line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.errors import RecorderError, StorageKeyInvalid, StorageKeyMissing
from recorder.storage import TEMP_SUFFIX, DeletedPrefix, Storage, StoredObject

SEGMENT = "recordings/lesson-1/teacher-camera-000001.mkv"
ASSETS = "assets/lesson-1/assets.json"
MULTIPART_ABOVE = 5 * 1024 * 1024
CHINESE = "recordings/课堂-青溪县/王晓燕 英语 摄像头-000001.mkv"

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
    "recordings/" + "课" * 342,  # 353 characters, but 1037 bytes of UTF-8
]


def read(storage: Storage, key: str) -> bytes:
    with storage.open(key) as stream:
        return stream.read()


def keys(storage: Storage, prefix: str = "") -> list[str]:
    return [item.key for item in storage.list(prefix)]


class StorageContract:
    """What every adapter of ``Storage`` does; a subclass provides ``storage``, empty, and
    says whether it is ``remote`` (no local files: ``local_path`` is ``None``)."""

    remote: bool

    @pytest.fixture
    def storage(self) -> Storage:
        raise NotImplementedError("an adapter's test class provides the store")

    def test_put_bytes_then_read_it_back(self, storage: Storage) -> None:
        assert not storage.exists(SEGMENT)
        storage.put_bytes(SEGMENT, b"\x1a\x45\xdf\xa3 segment")
        assert storage.exists(SEGMENT)
        assert read(storage, SEGMENT) == b"\x1a\x45\xdf\xa3 segment"
        assert storage.size(SEGMENT) == 12
        storage.put_bytes(ASSETS, b"")
        assert (storage.size(ASSETS), read(storage, ASSETS)) == (0, b"")

    def test_put_file_copies_the_file(self, storage: Storage, tmp_path: Path) -> None:
        source = tmp_path / "built.mp4"
        data = os.urandom(3 * 1024 * 1024 + 17)  # more than one copy chunk
        source.write_bytes(data)
        storage.put_file("assets/lesson-1/teacher-camera.mp4", source)
        assert source.read_bytes() == data  # the caller's file is left as it was
        assert read(storage, "assets/lesson-1/teacher-camera.mp4") == data
        assert storage.size("assets/lesson-1/teacher-camera.mp4") == len(data)

    def test_a_big_file(self, storage: Storage, tmp_path: Path) -> None:
        source = tmp_path / "composite.mp4"
        data = os.urandom(2 * MULTIPART_ABOVE + 123_457)  # three parts where there are parts
        source.write_bytes(data)
        storage.put_file("assets/lesson-1/composite.mp4", source)
        assert storage.size("assets/lesson-1/composite.mp4") == len(data)
        with storage.open("assets/lesson-1/composite.mp4") as stream:
            head = stream.read(1000)
            rest = stream.read()
        assert head + rest == data
        assert keys(storage) == ["assets/lesson-1/composite.mp4"]

    def test_a_put_replaces_the_object(self, storage: Storage, tmp_path: Path) -> None:
        storage.put_bytes(ASSETS, b'{"version": 1, "long": "....."}')
        storage.put_bytes(ASSETS, b'{"version": 2}')
        assert read(storage, ASSETS) == b'{"version": 2}'
        source = tmp_path / "assets.json"
        source.write_bytes(b'{"version": 3}')
        storage.put_file(ASSETS, source)
        assert read(storage, ASSETS) == b'{"version": 3}'
        assert keys(storage) == [ASSETS]

    def test_a_put_of_a_missing_file_stores_nothing(self, storage: Storage, tmp_path: Path) -> None:
        storage.put_bytes(ASSETS, b"old")
        with pytest.raises(FileNotFoundError):
            storage.put_file(ASSETS, tmp_path / "no-such-file")
        assert read(storage, ASSETS) == b"old"
        assert keys(storage) == [ASSETS]

    def test_missing_keys(self, storage: Storage) -> None:
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
        self, storage: Storage, tmp_path: Path, key: str
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

    def test_list_by_prefix_in_key_order(self, storage: Storage) -> None:
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
            assert item.modified.utcoffset() == timedelta(0)
            assert before <= item.modified <= datetime.now(UTC) + timedelta(seconds=5)

    def test_a_long_listing_comes_whole_and_in_order(self, storage: Storage) -> None:
        written = [f"recordings/lesson-1/teacher-camera-{n:06d}.mkv" for n in range(23, 0, -1)]
        for key in written:
            storage.put_bytes(key, b"s")
        assert keys(storage, "recordings/lesson-1/") == sorted(written)
        assert storage.delete_prefix("recordings/lesson-1/") == DeletedPrefix(23, 23)
        assert keys(storage) == []

    @pytest.mark.parametrize(
        "prefix", ["/", "/recordings", "../", "recordings//", "a\\b", "a/../b"]
    )
    def test_list_refuses_a_bad_prefix_at_once(self, storage: Storage, prefix: str) -> None:
        with pytest.raises(StorageKeyInvalid):
            storage.list(prefix)

    def test_chinese_keys(self, storage: Storage) -> None:
        other = "recordings/课堂-青溪县/杨树湾 麦克风-000001.mka"
        storage.put_bytes(CHINESE, "王晓燕".encode())
        storage.put_bytes(other, b"mic")
        assert read(storage, CHINESE) == "王晓燕".encode()
        assert storage.size(CHINESE) == 9
        assert keys(storage, "recordings/课堂-") == sorted([CHINESE, other])
        assert keys(storage, "recordings/课堂-青溪县/王") == [CHINESE]
        assert storage.delete_prefix("recordings/课堂-青溪县/") == DeletedPrefix(2, 12)
        assert not storage.exists(CHINESE)

    def test_delete_prefix_deletes_one_folder_and_counts_it(self, storage: Storage) -> None:
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
    def test_delete_prefix_takes_only_a_folder(self, storage: Storage, prefix: str) -> None:
        storage.put_bytes("recordings/lesson-1/a.mkv", b"x")
        storage.put_bytes("recordings/lesson-10/a.mkv", b"x")
        with pytest.raises(StorageKeyInvalid):
            storage.delete_prefix(prefix)
        assert len(keys(storage)) == 2

    def test_local_path_is_the_file_or_none_for_a_remote_store(self, storage: Storage) -> None:
        storage.put_bytes(SEGMENT, b"segment")
        path = storage.local_path(SEGMENT)
        if self.remote:  # served by presigned URLs instead
            assert path is None
        else:
            assert path is not None and path.read_bytes() == b"segment"
