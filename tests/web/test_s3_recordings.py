"""Recordings in an S3 bucket (``SANKE_S3_URL``), end to end against a real S3-compatible
server (``tests/recorder/s3_server.py``): a lesson really recorded through the SFU is
built by the job worker as ``sanke record`` wires it, moved into the bucket (segments and
assets, the local copies removed), reviewed through the API, whose file links redirect
to presigned URLs that a plain HTTP client follows (Range included); a clip is cut from
the bucket's files and put back; the retention purge empties the bucket."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from recorder.deletions import purge
from recorder.jobs import JobQueue
from recorder.s3_storage import S3Config, S3Storage
from recorder.worker import ASSETS, CLIP_PREFIX, COMPOSITE
from rooms.store import RoomStore
from tests.recorder.recorded import ROOM
from tests.recorder.s3_server import S3Server, s3_config, s3_server
from tests.web.conftest import ACCOUNTS, bearer
from tests.web.live_fixtures import lessons_now
from tests.web.test_livekit_media import app_with
from web.file_links import file_link, link_key
from web.recording import job_worker
from web.services import Services

__all__ = ["s3_config", "s3_server"]  # the fixtures, for pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def s3_app(
    sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path, s3_config: S3Config
) -> FastAPI:
    return app_with(sqlite_engine, hasher, tmp_path, s3_url=s3_config.url,
                    s3_bucket=s3_config.bucket, s3_access_key=s3_config.access_key,
                    s3_secret_key=s3_config.secret_key, s3_region=s3_config.region)  # fmt: skip


@pytest.fixture
def s3_client_app(s3_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(s3_app, headers={"origin": "http://testserver"}) as test_client:
        yield test_client


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read()


def stored(store: S3Storage, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def follow(client: TestClient, link: str, s3_server: S3Server) -> str:
    """The presigned URL the app's file link redirects to."""
    answer = client.get(link, follow_redirects=False)
    assert answer.status_code == 307, answer.text
    assert "max-age=" in answer.headers["cache-control"]
    location = answer.headers["location"]
    assert location.startswith(f"{s3_server.config.url}/") and "X-Amz-Signature=" in location
    return location


def test_a_recording_is_built_into_the_bucket_and_reviewed_from_it(
    s3_app: FastAPI,
    s3_client_app: TestClient,
    sqlite_engine: Engine,
    recorded_assets: Path,
    s3_server: S3Server,
    s3_config: S3Config,
) -> None:
    client, engine = s3_client_app, sqlite_engine
    services: Services = s3_app.state.services
    settings = services.settings
    store = services.reviews.storage
    assert isinstance(store, S3Storage) and store.bucket == s3_config.bucket
    lesson = lessons_now(engine, started_minutes_ago=50)[0].id
    spool = settings.data_dir / "recordings" / lesson
    shutil.copytree(recorded_assets.parent.parent / "recording" / ROOM, spool)
    segments = sorted(p.name for p in spool.iterdir() if not p.name.endswith(".part"))

    # The worker builds on the disk, moves everything into the bucket, keeps no copy.
    JobQueue(engine).enqueue(lesson, ASSETS, datetime.now(UTC))
    worker = job_worker(settings, engine)
    job = asyncio.run(worker.run_once())
    assert job is not None and job.kind == ASSETS
    assert not spool.exists() and not (settings.data_dir / "assets" / lesson).exists()
    assert sorted(o.key for o in store.list(f"recordings/{lesson}/")) == [
        f"recordings/{lesson}/{name}" for name in segments
    ]
    assets = json.loads(stored(store, f"assets/{lesson}/assets.json"))
    ready = RoomStore(engine).events(lesson, ["recording.ready"])
    assert len(ready) == 1 and ready[0]["data"]["duration"] == assets["duration"]
    files = [t["file"] for t in assets["tracks"].values() if "file" in t]
    assert len(files) == 5 and all(store.exists(f"assets/{lesson}/{f}") for f in files)

    # The review page's links redirect to the bucket; the store answers Range requests.
    researcher = bearer(client, ACCOUNTS["researcher"])
    review = client.get(f"/api/v1/recordings/{lesson}", headers=researcher).json()
    assert review["state"] == "ready" and review["tracks"]
    track = review["tracks"][0]
    whole = stored(store, f"assets/{lesson}/{assets['tracks'][track['name']]['file']}")
    status, body = fetch(follow(client, track["url"], s3_server), {"Range": "bytes=0-99"})
    assert (status, body) == (206, whole[:100])
    camera = next(t for t in review["tracks"] if t["previews"])
    index = assets["tracks"][camera["name"]]["previews"]["index"]
    answer = urllib.request.urlopen(
        follow(client, camera["previews"]["vtt"], s3_server), timeout=10
    )
    with answer:  # the seek bar's thumbnails index, served as what it is
        assert answer.headers["Content-Type"] == "text/vtt"
        assert answer.read() == stored(store, f"assets/{lesson}/{index}")
    missing = file_link(link_key(services.secret), lesson, "no-such.mp4", datetime.now(UTC))
    assert client.get(missing, follow_redirects=False).status_code == 404

    # The composite (queued after the assets) and a clip are made from the bucket's
    # files, fetched into a scratch folder, and put back.
    made = client.post(f"/api/v1/recordings/{lesson}/clips", headers=researcher,
                       json={"title": "导入环节", "start": 3, "end": 7})  # fmt: skip
    assert made.status_code == 202, made.text
    done = [asyncio.run(worker.run_once()) for _ in range(2)]
    assert [j.kind for j in done if j is not None] == [
        COMPOSITE,
        f"{CLIP_PREFIX}{made.json()['id']}",
    ]
    assert list((settings.data_dir / "assets").iterdir()) == []  # no scratch folder left
    review = client.get(f"/api/v1/recordings/{lesson}", headers=researcher).json()
    status, body = fetch(follow(client, review["composite"], s3_server), {"Range": "bytes=0-99"})
    assert status == 206 and body[4:8] == b"ftyp"
    clip = client.get(f"/api/v1/recordings/{lesson}/clips", headers=researcher).json()[0]
    assert clip["state"] == "ready", clip
    status, body = fetch(follow(client, clip["url"], s3_server))
    assert status == 200 and len(body) > 1000
    assert store.exists(f"assets/{lesson}/clips/{clip['id']}/clip.json")

    # The retention purge empties the bucket of the recording.
    deletion = purge(store, services.reviews.deletions, lesson, "test", "retention",
                     datetime.now(UTC))  # fmt: skip
    assert deletion.objects > len(segments)
    assert list(store.list("")) == []
