"""recorder.s3_storage against a real S3-compatible server (s3rver on loopback, or the
server ``SANKE_TEST_S3_URL`` names; ``tests/recorder/s3_server.py``): the store's contract
(``storage_contract.py``, with small pages, delete batches and parts so that each is
crossed), then what only a remote store does: presigned URLs a plain HTTP client follows
(Range included) until they expire, uploads in parts, the bucket made when missing, and
one clear error for an endpoint that is dead, refuses the keys or has no such bucket."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from recorder.errors import RecorderError, StorageKeyInvalid, StorageUnavailable
from recorder.s3_storage import S3Config, S3Storage, attachment, content_type
from recorder.storage import Storage
from tests.conftest import free_port
from tests.recorder.s3_server import S3Server, s3_config, s3_server, s3_store
from tests.recorder.storage_contract import CHINESE, SEGMENT, StorageContract, read

__all__ = ["s3_config", "s3_server"]  # the fixtures, for pytest


@pytest.fixture
def s3(s3_server: S3Server, s3_config: S3Config) -> S3Storage:
    return s3_store(s3_server, s3_config, page_size=5, delete_batch=10)


class TestS3Storage(StorageContract):
    remote = True

    @pytest.fixture
    def storage(self, s3: S3Storage) -> Storage:
        return s3


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def test_a_presigned_url_serves_the_object_to_a_plain_http_client(s3: S3Storage) -> None:
    data = os.urandom(100_000)
    s3.put_bytes("assets/lesson-1/teacher-camera.mp4", data)
    url = s3.presigned_url("assets/lesson-1/teacher-camera.mp4", timedelta(minutes=5))
    assert url.startswith(f"{s3.endpoint}/{s3.bucket}/assets/lesson-1/teacher-camera.mp4?")
    status, headers, body = get(url)
    assert (status, body) == (200, data)
    assert headers["Content-Type"] == "video/mp4"
    status, headers, body = get(url, {"Range": "bytes=1000-1999"})
    assert (status, body) == (206, data[1000:2000])  # what a <video> element seeking asks
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"


def test_a_presigned_url_with_a_file_name_downloads_under_it(s3: S3Storage) -> None:
    s3.put_bytes(CHINESE, b"segment")
    url = s3.presigned_url(CHINESE, timedelta(minutes=5), filename="英语 第3课.mkv")
    status, headers, body = get(url)
    assert (status, body) == (200, b"segment")
    assert headers["Content-Disposition"] == attachment("英语 第3课.mkv")
    assert attachment("英语 第3课.mkv") == (
        'attachment; filename="__ _3_.mkv"; '
        "filename*=UTF-8''%E8%8B%B1%E8%AF%AD%20%E7%AC%AC3%E8%AF%BE.mkv"
    )


def test_an_expired_presigned_url_is_refused_by_the_server(s3: S3Storage) -> None:
    s3.put_bytes(SEGMENT, b"segment")
    url = s3.presigned_url(SEGMENT, timedelta(seconds=1))
    time.sleep(2.1)  # S3 counts from the signature's whole second
    status, _, body = get(url)
    assert status == 403 and b"expired" in body.lower()


def test_presigned_urls_last_one_second_to_seven_days(s3: S3Storage) -> None:
    for wrong in (timedelta(0), timedelta(milliseconds=500), timedelta(days=7, seconds=1)):
        with pytest.raises(ValueError, match="1 s to 7 days"):
            s3.presigned_url(SEGMENT, wrong)
    with pytest.raises(StorageKeyInvalid):
        s3.presigned_url("../etc/passwd", timedelta(minutes=1))
    assert s3.presigned_url(SEGMENT, timedelta(days=7))  # signed locally, nothing asked


def test_a_file_above_the_threshold_goes_up_in_parts(s3_config: S3Config, tmp_path: Path) -> None:
    s3 = S3Storage.connect(s3_config)  # a client of its own, to count its requests
    parts: list[int] = []
    s3.client.meta.events.register(
        "before-parameter-build.s3.UploadPart",
        lambda params, **_: parts.append(params["PartNumber"]),
    )
    source = tmp_path / "composite.mp4"
    data = os.urandom(11 * 1024 * 1024 + 5)
    source.write_bytes(data)
    s3.put_file("assets/lesson-1/composite.mp4", source)
    assert sorted(parts) == [1, 2, 3]  # 5 MiB, 5 MiB and the rest
    assert read(s3, "assets/lesson-1/composite.mp4") == data
    small = tmp_path / "assets.json"
    small.write_bytes(b"{}")
    s3.put_file("assets/lesson-1/assets.json", small)
    assert sorted(parts) == [1, 2, 3]  # one PUT below the threshold
    s3.close()


def test_objects_are_served_with_their_content_type() -> None:
    assert content_type("assets/l/teacher.m3u8") == "application/vnd.apple.mpegurl"
    assert content_type("assets/l/teacher-00001.ts") == "video/mp2t"
    assert content_type("assets/l/teacher.sprite.jpg") == "image/jpeg"
    assert content_type("assets/l/teacher.vtt") == "text/vtt"
    assert content_type("assets/l/Teacher.WEBM") == "video/webm"
    assert content_type("recordings/l/no-extension") == "application/octet-stream"
    assert content_type("recordings/l.d/no-extension") == "application/octet-stream"


def test_ensure_bucket_makes_a_missing_bucket_once(s3_config: S3Config) -> None:
    fresh = replace(s3_config, bucket=f"{s3_config.bucket}-new")
    store = S3Storage.connect(fresh)
    try:
        with pytest.raises(StorageUnavailable, match="no such bucket") as raised:
            store.put_bytes(SEGMENT, b"x")
        assert raised.value.code == "NoSuchBucket"
        assert "SANKE_S3_BUCKET" in str(raised.value)
        store.ensure_bucket()
        store.ensure_bucket()  # there already: nothing to do
        store.put_bytes(SEGMENT, b"x")
        assert read(store, SEGMENT) == b"x"
        store.delete_prefix("recordings/")
        store.client.delete_bucket(Bucket=fresh.bucket)
    finally:
        store.close()


def test_refused_credentials_are_one_clear_error(s3_config: S3Config) -> None:
    config = replace(s3_config, access_key="not-a-key", secret_key="not-the-secret")
    store = S3Storage.connect(config)
    try:
        for call in (lambda: store.put_bytes(SEGMENT, b"x"), lambda: store.exists(SEGMENT),
                     lambda: list(store.list("recordings/")), store.ensure_bucket):  # fmt: skip
            with pytest.raises(StorageUnavailable) as raised:
                call()
            assert "access denied" in str(raised.value)
            assert "SANKE_S3_ACCESS_KEY" in str(raised.value)
            assert f"SANKE_S3_BUCKET={config.bucket!r}" in str(raised.value)
            assert raised.value.code in ("403", "InvalidAccessKeyId", "AccessDenied")
    finally:
        store.close()


def test_a_dead_endpoint_is_one_clear_error(s3_config: S3Config) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = S3Storage.connect(replace(s3_config, url=dead, attempts=2, connect_timeout_s=1))
    try:
        for call in (lambda: store.exists(SEGMENT), lambda: store.open(SEGMENT),
                     lambda: store.delete_prefix("recordings/lesson-1/"),
                     store.ensure_bucket):  # fmt: skip
            with pytest.raises(StorageUnavailable) as raised:
                call()
            message = str(raised.value)
            assert f"SANKE_S3_URL={dead}" in message and "cannot be reached" in message
            assert (raised.value.endpoint, raised.value.code) == (dead, "")
    finally:
        store.close()
    assert issubclass(StorageUnavailable, RecorderError)  # the worker retries it
