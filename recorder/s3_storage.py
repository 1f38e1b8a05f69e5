"""``S3Storage``: the recordings store (``recorder.storage.Storage``) in a bucket of an
S3-compatible object store (MinIO, Ceph RGW, a cloud's object storage), through boto3.

The keys are the store's keys unchanged (``recordings/<lesson>/...``, ``assets/<lesson>/...``)
and are checked by the same rules (``check_key``, ``check_prefix``, ``check_folder``)
before any request. Requests use path-style addressing (``<endpoint>/<bucket>/<key>``, what
a store on a plain host name serves) and Signature Version 4 in the configured region.

What the port promises, and how S3 gives it:

- a put is atomic: S3 makes an object visible only once a PUT, or the completion of a
  multipart upload, has succeeded, so a reader sees the old object or the new one and never
  a part. Files above ``multipart_threshold`` go up in parts of ``multipart_chunk`` bytes
  (boto3's managed transfer; a failed upload is aborted, and the bucket's lifecycle rule
  ``AbortIncompleteMultipartUpload`` removes what a killed process leaves);
- ``list`` is S3's listing, page after page, in key order (UTF-8 byte order, which is code
  point order, as ``sorted`` orders Python strings); keys that break the key rules, put
  there by other tools, are not listed, as ``LocalStorage`` hides stray files;
- ``delete_prefix`` lists the folder and deletes in batches of 1000 keys (S3's limit for
  one ``DeleteObjects``); ``recordings/lesson-1/`` never touches ``recordings/lesson-10/``;
- ``local_path`` is ``None`` (``StorageKeyMissing`` if there is no object): the web layer
  redirects the browser to ``presigned_url`` instead, and S3 answers its Range requests.

Every failure of the endpoint (unreachable, timed out, access denied, no such bucket, any
other error answer) is raised as one ``StorageUnavailable`` whose message names the endpoint,
the bucket and the setting to check; a missing object is ``StorageKeyMissing``. Timeouts and
retries are short (``S3Config``), so a dead endpoint is reported within seconds.
"""

from __future__ import annotations

import io
import logging
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NoReturn
from urllib.parse import quote

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from recorder.errors import StorageKeyInvalid, StorageKeyMissing, StorageUnavailable
from recorder.storage import (
    COPY_CHUNK,
    DeletedPrefix,
    StoredObject,
    check_folder,
    check_key,
    check_prefix,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

logger = logging.getLogger(__name__)

Batch = list["ObjectIdentifierTypeDef"]  # keys for one DeleteObjects (``list`` is a method below)

MULTIPART_THRESHOLD = 64 * 1024 * 1024  # a built MP4 of a lesson is 100-500 MB
MULTIPART_CHUNK = 16 * 1024 * 1024  # S3's smallest part is 5 MiB; at most 10,000 parts
DELETE_BATCH = 1000  # S3's limit on the keys of one DeleteObjects request
PAGE_SIZE = 1000  # S3's most keys in one listing page
MAX_PRESIGN = timedelta(days=7)  # SigV4's limit on a presigned URL's life
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
NO_BUCKET_CODES = frozenset({"NoSuchBucket"})
DENIED_CODES = frozenset({"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                          "InvalidToken", "ExpiredToken", "AllAccessDisabled"})  # fmt: skip
TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".m4s": "video/iso.segment",
         ".webm": "video/webm", ".mkv": "video/x-matroska", ".mka": "audio/x-matroska",
         ".vtt": "text/vtt", ".json": "application/json", ".jsonl": "application/x-ndjson",
         ".mp4": "video/mp4", ".m4a": "audio/mp4", ".jpg": "image/jpeg",
         ".png": "image/png"}  # fmt: skip


@dataclass(frozen=True)
class S3Config:
    """Where the bucket is and how long to wait for it. ``url`` is the endpoint
    (``https://s3.example.edu.cn``), which also signs the presigned URLs browsers follow."""

    url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 30.0
    attempts: int = 3  # in all, the first included; connection errors and 5xx are retried
    multipart_threshold: int = MULTIPART_THRESHOLD
    multipart_chunk: int = MULTIPART_CHUNK
    page_size: int = PAGE_SIZE  # keys per listing request
    delete_batch: int = DELETE_BATCH  # keys per DeleteObjects request


def s3_client(config: S3Config) -> S3Client:
    """A boto3 S3 client for ``config``: path-style, SigV4, short timeouts, few retries;
    credentials only from ``config`` (never from the environment or ``~/.aws``)."""
    session = boto3.session.Session(
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        region_name=config.region,
    )
    return session.client(
        "s3",
        endpoint_url=config.url,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=config.connect_timeout_s,
            read_timeout=config.read_timeout_s,
            retries={"max_attempts": config.attempts, "mode": "standard"},
            # only what S3-compatible stores all accept: no CRC32 trailers on uploads
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


class S3Storage:
    """The recordings store in ``bucket``, through ``client`` (see ``s3_client``). The
    caller owns the client; ``connect`` makes a store that owns its own, closed by ``close``.
    ``endpoint`` names the store in error messages."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        endpoint: str,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        multipart_chunk: int = MULTIPART_CHUNK,
        page_size: int = PAGE_SIZE,
        delete_batch: int = DELETE_BATCH,
    ) -> None:
        if not 1 <= delete_batch <= DELETE_BATCH or not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"pages and delete batches hold 1 to {DELETE_BATCH} keys")
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint
        self.page_size = page_size
        self.delete_batch = delete_batch
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunk,
            max_concurrency=4,
            io_chunksize=COPY_CHUNK,
        )
        self._owned = False

    @classmethod
    def connect(cls, config: S3Config) -> S3Storage:
        store = cls(s3_client(config), config.bucket, endpoint=config.url,
                    multipart_threshold=config.multipart_threshold,
                    multipart_chunk=config.multipart_chunk, page_size=config.page_size,
                    delete_batch=config.delete_batch)  # fmt: skip
        store._owned = True
        return store

    def close(self) -> None:
        """Close the client if this store opened it."""
        if self._owned:
            self.client.close()

    # --- the port --------------------------------------------------------------------

    def put_file(self, key: str, path: Path) -> None:
        check_key(key)
        with path.open("rb") as source:  # FileNotFoundError before any request
            try:
                self.client.upload_fileobj(
                    source, self.bucket, key, ExtraArgs={"ContentType": content_type(key)},
                    Config=self._transfer,
                )  # fmt: skip
            except (ClientError, BotoCoreError, Boto3Error) as error:
                self._fail(error, f"store {key}")

    def put_bytes(self, key: str, data: bytes) -> None:
        check_key(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data,
                                   ContentType=content_type(key))  # fmt: skip
        except (ClientError, BotoCoreError) as error:
            self._fail(error, f"store {key}")

    def open(self, key: str) -> BinaryIO:
        check_key(key)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            self._fail(error, f"read {key}", key)
        return io.BufferedReader(_Body(answer["Body"], self), COPY_CHUNK)

    def local_path(self, key: str) -> Path | None:
        self.size(key)  # StorageKeyMissing when there is no object
        return None

    def size(self, key: str) -> int:
        check_key(key)
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            self._fail(error, f"look up {key}", key)
        return answer["ContentLength"]

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except StorageKeyMissing:
            return False
        return True

    def list(self, prefix: str) -> Iterator[StoredObject]:
        return self._list(check_prefix(prefix), every=False)  # a bad prefix raises here

    def delete_prefix(self, prefix: str) -> DeletedPrefix:
        check_folder(prefix)
        count = size = 0
        batch: Batch = []
        # Everything under the folder goes, keys that break the rules included (as
        # LocalStorage removes stray files); the listing is read ahead of each delete.
        for item in self._list(prefix, every=True):
            batch.append({"Key": item.key})
            count, size = count + 1, size + item.size
            if len(batch) == self.delete_batch:
                self._delete(batch)
                batch = []
        if batch:
            self._delete(batch)
        logger.info("S3Storage(%s/%s) deleted %s: %d objects, %d bytes", self.endpoint,
                    self.bucket, prefix, count, size)  # fmt: skip
        return DeletedPrefix(count, size)

    # --- beyond the port -------------------------------------------------------------

    def presigned_url(self, key: str, expires: timedelta, filename: str | None = None) -> str:
        """A URL that GETs the object under ``key`` (Range requests included) until
        ``expires`` from now (1 s to 7 days), signed locally: no request is made, and a
        missing object is only found out by whoever follows the URL. With ``filename``, the
        store answers ``Content-Disposition: attachment`` under that name."""
        check_key(key)
        seconds = int(expires.total_seconds())
        if not 1 <= seconds <= MAX_PRESIGN.total_seconds():
            raise ValueError(f"a presigned URL lasts 1 s to 7 days, not {expires}")
        params = {"Bucket": self.bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = attachment(filename)
        try:
            return self.client.generate_presigned_url("get_object", Params=params,
                                                      ExpiresIn=seconds)  # fmt: skip
        except BotoCoreError as error:
            self._fail(error, f"sign a URL for {key}")

    def ensure_bucket(self) -> None:
        """Make the bucket if it does not exist yet; ``StorageUnavailable`` naming
        SANKE_S3_BUCKET and SANKE_S3_URL when it cannot be reached, read or made."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if _code(error) not in {"404", *NO_BUCKET_CODES}:
                self._fail(error, "reach the bucket")
        except BotoCoreError as error:
            self._fail(error, "reach the bucket")
        region = self.client.meta.region_name
        try:
            if region in (None, "us-east-1"):  # S3 refuses a location constraint there
                self.client.create_bucket(Bucket=self.bucket)
            else:
                self.client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )  # fmt: skip
        except ClientError as error:
            if _code(error) == "BucketAlreadyOwnedByYou":
                return  # made meanwhile by another process
            raise StorageUnavailable(
                f"the bucket SANKE_S3_BUCKET={self.bucket!r} does not exist at "
                f"SANKE_S3_URL={self.endpoint} and cannot be made ({_code(error)}: "
                f"{_message(error)}): create it, or name a bucket these credentials may write",
                endpoint=self.endpoint, bucket=self.bucket, code=_code(error),
            ) from error  # fmt: skip
        except BotoCoreError as error:
            self._fail(error, "make the bucket")
        logger.info("S3Storage(%s) made the bucket %s", self.endpoint, self.bucket)

    # --- inside ----------------------------------------------------------------------

    def _list(self, prefix: str, *, every: bool) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.page_size}
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if every or _is_key(key):
                        modified = item["LastModified"].astimezone(UTC)
                        yield StoredObject(key=key, size=item["Size"], modified=modified)
        except (ClientError, BotoCoreError) as error:
            self._fail(error, f"list {prefix or 'the bucket'}")

    def _delete(self, batch: Batch) -> None:
        try:
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
        except (ClientError, BotoCoreError) as error:
            self._fail(error, f"delete {len(batch)} objects")
        failed = answer.get("Errors", [])
        if failed:
            first = failed[0]
            raise StorageUnavailable(
                f"the S3 store at {self.endpoint}, bucket {self.bucket!r}, did not delete "
                f"{len(failed)} of {len(batch)} objects, {first.get('Key')!r} first: "
                f"{first.get('Code')}: {first.get('Message')}",
                endpoint=self.endpoint, bucket=self.bucket, code=str(first.get("Code", "")),
            )  # fmt: skip

    def _fail(self, error: Exception, doing: str, key: str | None = None) -> NoReturn:
        """Raise what ``error`` means: ``StorageKeyMissing`` for an absent ``key``, else
        ``StorageUnavailable`` with a message a person can act on."""
        code = _code(error) if isinstance(error, ClientError) else ""
        if key is not None and code in MISSING_CODES:
            raise StorageKeyMissing(key) from None
        where = f"the S3 store SANKE_S3_URL={self.endpoint}, bucket SANKE_S3_BUCKET={self.bucket!r}"
        if code in NO_BUCKET_CODES:
            advice = ("no such bucket: create it (sanke record makes it when it starts) or "
                      "correct SANKE_S3_BUCKET")  # fmt: skip
        elif code in DENIED_CODES:
            advice = ("access denied: check SANKE_S3_ACCESS_KEY and SANKE_S3_SECRET_KEY, "
                      "SANKE_S3_REGION, and that the key may read, write, list and delete in "
                      "the bucket")  # fmt: skip
        elif code:
            advice = f"it answered {code}: {_message(error)}"
        else:
            advice = f"it cannot be reached ({error}): check SANKE_S3_URL and the network"
        raise StorageUnavailable(f"cannot {doing} in {where}: {advice}", endpoint=self.endpoint,
                                 bucket=self.bucket, code=code) from error  # fmt: skip


class _Body(io.RawIOBase):
    """An object's body as a raw stream whose failures are ``StorageUnavailable``."""

    def __init__(self, body: io.IOBase, store: S3Storage) -> None:
        super().__init__()
        self._body = body
        self._store = store

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            return self._body.readinto(buffer)  # type: ignore[attr-defined,no-any-return]
        except BotoCoreError as error:
            self._store._fail(error, "read an object")

    def close(self) -> None:
        self._body.close()
        super().close()


def content_type(key: str) -> str:
    """The Content-Type an object is served with, from its key's extension."""
    suffix = key[key.rfind(".") :].lower() if "." in key.rpartition("/")[2] else ""
    return TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def attachment(filename: str) -> str:
    """``Content-Disposition: attachment`` for ``filename`` (RFC 6266: an ASCII fallback,
    and the UTF-8 name in ``filename*``, so a Chinese title survives)."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message", "")) or str(error)
    return str(error)


def _is_key(key: str) -> bool:
    try:
        check_key(key)
    except StorageKeyInvalid:
        return False
    return True
