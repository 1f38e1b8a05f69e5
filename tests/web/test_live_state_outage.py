"""The app on Redis: stopping Redis shows a degraded state; restarting it recovers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from tests.kernel.redis_process import RedisProcess
from tests.web.conftest import PASSWORD
from web import demo
from web.app import create_app
from web.settings import load_settings

BANNER = "实时状态服务（Redis）暂时不可用"


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def test_health_and_pages_show_the_outage_and_the_recovery(
    redis_process: RedisProcess, sqlite_engine: Engine, hasher: PasswordHasher, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from identity.service import IdentityService
    from identity.store import IdentityStore
    from scheduler.store import DirectoryStore
    from web.database import upgrade

    upgrade(sqlite_engine)
    demo.install(
        DirectoryStore(sqlite_engine),
        IdentityService(IdentityStore(sqlite_engine), hasher),
        datetime.now(UTC),
    )
    settings = load_settings(env="development", data_dir=tmp_path, redis_url=redis_process.url)
    app = create_app(settings, engine=sqlite_engine, hasher=hasher)
    with TestClient(app) as client:
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        healthy = client.get("/health").json()
        assert healthy["status"] == "ok" and healthy["live_state"]["backend"] == "redis"
        assert BANNER not in client.get("/").text

        redis_process.stop()
        down = client.get("/health").json()
        assert down["status"] == "degraded" and down["database"] == "ok"
        assert down["live_state"]["state"] == "degraded" and down["live_state"]["error"]
        page = client.get("/")
        assert page.status_code == 200 and BANNER in page.text  # pages still work

        redis_process.start()
        deadline = time.monotonic() + 15
        while client.get("/health").json()["status"] != "ok":
            assert time.monotonic() < deadline, "did not recover within 15 s"
            time.sleep(0.2)
        assert BANNER not in client.get("/").text
