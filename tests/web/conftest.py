"""An app on a migrated database holding the demo county, and signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from scheduler.store import DirectoryStore
from web import demo
from web.app import create_app
from web.settings import load_settings

PASSWORD = demo.DEMO_PASSWORD
ACCOUNTS = {a.user.role.value: a.user.username for a in demo.accounts()}


@pytest.fixture
def app(engine: Engine, hasher: PasswordHasher, tmp_path: Path) -> FastAPI:
    settings = load_settings(env="development", data_dir=tmp_path)
    identity = IdentityService(IdentityStore(engine), hasher)
    demo.install(DirectoryStore(engine), identity, datetime.now(UTC))
    return create_app(settings, engine=engine, hasher=hasher)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # browsers send Origin with every POST; the app refuses cookie posts without it
    with TestClient(app, headers={"origin": "http://testserver"}) as test_client:
        yield test_client


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def recorded_assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The assets of a lesson really recorded through the SFU (tests/recorder/recorded.py),
    built once per session and copied into each app that needs them."""
    from tests.recorder.recorded import record_lesson

    return record_lesson(tmp_path_factory.mktemp("recorded"))
