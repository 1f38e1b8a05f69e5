"""Shared fixtures: real Redis and PostgreSQL (skip, or fail with SANKE_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from identity.passwords import PasswordHasher
from web.database import make_engine, upgrade

REDIS_URL = os.environ.get("SANKE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get(
    "SANKE_TEST_DATABASE_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test"
)


def services_required() -> bool:
    return os.environ.get("SANKE_REQUIRE_SERVICES") == "1"


def unavailable(what: str) -> None:
    """Skip, or fail when CI requires every service."""
    message = f"{what} is not reachable"
    if services_required():
        pytest.fail(f"{message} and SANKE_REQUIRE_SERVICES=1")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url() -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                unavailable(f"Redis at {REDIS_URL}")
    except OSError:
        unavailable(f"Redis at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    engine = create_engine(DATABASE_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        engine.dispose()
        unavailable(f"PostgreSQL at {DATABASE_URL}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_admin: Engine) -> Iterator[Engine]:
    """An engine whose search_path is a fresh schema, dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    with postgres_admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(DATABASE_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with postgres_admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sanke.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def bare_engine(request: pytest.FixtureRequest) -> Engine:
    """An empty database of each kind."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    engine: Engine = request.getfixturevalue(name)
    return engine


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """A migrated database of each kind."""
    upgrade(bare_engine)
    return bare_engine


@pytest.fixture(scope="session")
def hasher() -> PasswordHasher:
    """Cheap argon2 parameters: the algorithm is real, the cost is for tests."""
    return PasswordHasher(time_cost=1, memory_cost=1024)
