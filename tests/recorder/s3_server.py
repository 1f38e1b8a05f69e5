"""A real S3-compatible server for the storage tests: s3rver (npm, ``package.json``,
installed by ``make node_modules/.installed``) on 127.0.0.1, a free port and a temporary
directory, started once per session and stopped at its end. With ``SANKE_TEST_S3_URL``
(or ``SANKE_S3_URL``) and the matching ``_ACCESS_KEY`` and ``_SECRET_KEY`` (and optionally
``_BUCKET``, ``_REGION``) set, the tests use that server instead, e.g. MinIO; its
credentials must be allowed to make and remove buckets.

Each test gets a bucket of its own (``s3_config``, removed with its objects afterwards).
Without node or s3rver the tests skip, or fail when ``SANKE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from recorder.s3_storage import S3Config, S3Storage, s3_client
from tests.conftest import free_port, services_required

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ROOT = Path(__file__).resolve().parents[2]
S3RVER = ROOT / "node_modules" / ".bin" / "s3rver"
S3RVER_KEY = "S3RVER"  # s3rver's one account: access key and secret are both this
START_SECONDS = 30.0
SMALL_PARTS = 5 * 1024 * 1024  # S3's smallest multipart part, so MinIO accepts it too


@dataclass(frozen=True)
class S3Server:
    """Where the tests' S3 server answers, the name its test buckets start with, and one
    client for the session (a client costs a quarter of a second to make)."""

    config: S3Config  # with a placeholder bucket; ``s3_config`` gives each test its own
    bucket_prefix: str
    client: S3Client


def _skip_or_fail(reason: str) -> NoReturn:
    if services_required():
        pytest.fail(f"{reason}, and SANKE_REQUIRE_SERVICES=1")
    pytest.skip(reason)


def _from_environment() -> S3Server | None:
    for prefix in ("SANKE_TEST_S3_", "SANKE_S3_"):
        url = os.environ.get(f"{prefix}URL")
        if not url:
            continue
        access = os.environ.get(f"{prefix}ACCESS_KEY")
        secret = os.environ.get(f"{prefix}SECRET_KEY")
        if not access or not secret:
            pytest.fail(f"{prefix}URL is set: set {prefix}ACCESS_KEY and {prefix}SECRET_KEY too")
        region = os.environ.get(f"{prefix}REGION") or "us-east-1"
        bucket = os.environ.get(f"{prefix}BUCKET") or "sanke-test"
        config = S3Config(url.rstrip("/"), bucket, access, secret, region)
        return S3Server(config, bucket[:40], s3_client(config))
    return None


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"s3rver exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail(f"s3rver did not answer at {url} within {START_SECONDS:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    given = _from_environment()
    if given is not None:
        yield given
        given.client.close()
        return
    node = shutil.which("node")
    if node is None or not S3RVER.exists():
        _skip_or_fail(
            "no S3-compatible server: s3rver needs node and `make node_modules/.installed` "
            "(or set SANKE_TEST_S3_URL and its keys to use another server)"
        )
    folder = tmp_path_factory.mktemp("s3rver")
    log = folder / "s3rver.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # s3rver's listing continuation tokens are DES-encrypted: OpenSSL 3 has DES only in
    # its legacy provider
    command = [node, "--openssl-legacy-provider", str(S3RVER), "--directory",
               str(folder / "data"), "--address", "127.0.0.1", "--port", str(port),
               "--no-vhost-buckets", "--silent"]  # fmt: skip
    (folder / "data").mkdir()
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=folder)
    try:
        _wait(url, process, log)
        config = S3Config(url, "placeholder", S3RVER_KEY, S3RVER_KEY, connect_timeout_s=2.0,
                          read_timeout_s=20.0)  # fmt: skip
        client = s3_client(config)
        yield S3Server(config, "sanke-test", client)
        client.close()
    finally:  # nothing to close cleanly: its objects are files in a temporary folder
        process.kill()
        process.wait()


@pytest.fixture
def s3_config(s3_server: S3Server) -> Iterator[S3Config]:
    """A bucket of this test's own on the test server, made here (``ensure_bucket``) and
    removed with everything in it afterwards; parts of 5 MiB above 5 MiB."""
    bucket = f"{s3_server.bucket_prefix}-{secrets.token_hex(6)}"
    config = replace(s3_server.config, bucket=bucket, multipart_threshold=SMALL_PARTS,
                     multipart_chunk=SMALL_PARTS)  # fmt: skip
    store = S3Storage(s3_server.client, bucket, endpoint=config.url)
    store.ensure_bucket()
    yield config
    remove_bucket(store)


def s3_store(server: S3Server, config: S3Config, **options: Any) -> S3Storage:
    """A store on ``config``'s bucket through the session's client; ``options`` as
    ``S3Storage`` takes them."""
    return S3Storage(server.client, config.bucket, endpoint=config.url,
                     multipart_threshold=config.multipart_threshold,
                     multipart_chunk=config.multipart_chunk, **options)  # fmt: skip


def remove_bucket(store: S3Storage) -> None:
    """Delete every object of the store's bucket, then the bucket."""
    client = store.client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=store.bucket, Delete={"Objects": keys})  # type: ignore[typeddict-item]
    client.delete_bucket(Bucket=store.bucket)
