"""A recordings store that does not answer: a clear 503 in the reader's language, and
nothing is lost (the file links work again once the store is back)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from recorder.errors import StorageUnavailable
from tests.web.test_livekit_media import app_with
from web.errors import problem_for
from web.file_links import file_link, link_key
from web.services import Services


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_store_that_does_not_answer_is_a_503_saying_what_to_check(
    sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path
) -> None:
    app = app_with(sqlite_engine, hasher, tmp_path, s3_url=f"http://127.0.0.1:{closed_port()}",
                   s3_bucket="sanke-recordings", s3_access_key="sanke",
                   s3_secret_key="not-a-real-secret-but-long-enough")  # fmt: skip
    with TestClient(app, headers={"origin": "http://testserver"}) as client:
        services: Services = app.state.services
        link = file_link(link_key(services.secret), "L1", "teacher-camera.webm", datetime.now(UTC))
        answer = client.get(link, follow_redirects=False)
        assert answer.status_code == 503 and "store does not answer" in answer.text

    error = StorageUnavailable("no answer", endpoint="http://x", bucket="b")
    chinese, english = problem_for(error, "zh-CN"), problem_for(error, "en")
    assert chinese.status == english.status == 503
    assert chinese.code == "storage_unavailable" and "录像存储暂时连不上" in chinese.message
    assert "SANKE_S3_URL" in english.message
