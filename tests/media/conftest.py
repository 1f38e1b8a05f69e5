"""A real SFU behind a real HTTP/WebSocket server on loopback, in the test's loop."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import uvicorn

from media.grants import MediaGrant, sign_grant
from media.http import MediaHttp
from media.sfu import Sfu
from tests.conftest import free_port
from tests.media.peers import grant


@dataclass
class MediaServer:
    url: str  # http://127.0.0.1:PORT
    sfu: Sfu
    secret: str

    def token(self, room: str, identity: str, **kwargs: object) -> str:
        return sign_grant(grant(room, identity, **kwargs), self.secret, datetime.now(UTC))  # type: ignore[arg-type]

    def sign(self, value: MediaGrant) -> str:
        return sign_grant(value, self.secret, datetime.now(UTC))

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"


async def serve_sfu(sfu: Sfu, secret: str, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """The SFU's HTTP and WebSocket app on 127.0.0.1:``port``, in this event loop."""
    config = uvicorn.Config(
        MediaHttp(sfu, secret).app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    async with asyncio.timeout(5):
        while not server.started:
            await asyncio.sleep(0.05)
    return server, task


@pytest.fixture
async def media_server() -> AsyncIterator[MediaServer]:
    sfu = Sfu()
    secret = secrets.token_hex(32)
    port = free_port()
    server, task = await serve_sfu(sfu, secret, port)
    yield MediaServer(f"http://127.0.0.1:{port}", sfu, secret)
    await sfu.stop()
    server.should_exit = True
    await asyncio.wait_for(task, 10)
