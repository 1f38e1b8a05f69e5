"""Wiring: settings in, adapters chosen, services out."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from kernel.errors import LiveStateUnavailable
from kernel.events import Event, EventBus
from kernel.health import LiveStateHealth
from kernel.locks import Locks
from kernel.memory_bus import MemoryEventBus
from kernel.memory_locks import MemoryLocks
from kernel.memory_presence import MemoryPresence
from kernel.presence import Presence
from kernel.redis_bus import RedisEventBus
from kernel.redis_guard import guarded
from kernel.redis_locks import RedisLocks
from kernel.redis_presence import RedisPresence
from media.aiortc_tap import use_loopback_candidates
from media.sfu import Sfu
from recorder.deletions import DeletionLog
from recorder.jobs import JobQueue
from recorder.review_store import ReviewStore
from recorder.rubrics import parse_rubrics
from recorder.s3_storage import S3Config, S3Storage
from recorder.storage import LocalStorage, Storage
from scheduler.store import DirectoryStore
from web.file_links import link_key
from web.indicators import Indicators
from web.live_lessons import LiveLessons
from web.livekit_media import LiveKitMedia, open_livekit
from web.reviews import Reviews
from web.schedule import ScheduleService
from web.settings import Environment, SankeSettings

logger = logging.getLogger(__name__)


@dataclass
class LiveState:
    """The live-state ports and their health, backed by one process or by Redis."""

    bus: EventBus
    presence: Presence
    locks: Locks
    health: LiveStateHealth
    redis: Redis | None = None

    async def probe(self) -> None:
        """Ping the backend so health notices an outage (and the recovery) while idle."""
        if self.redis is not None:
            with suppress(LiveStateUnavailable):
                await guarded(self.health, "ping", self.redis.ping())

    async def monitor(self, interval: float) -> None:
        """Probe every ``interval`` seconds until cancelled."""
        while True:
            await self.probe()
            await asyncio.sleep(interval)

    async def aclose(self) -> None:
        await self.bus.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def open_redis(url: str) -> Redis:
    """A Redis client that fails fast, so an outage degrades pages instead of hanging them."""
    return Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
        health_check_interval=15,
    )


def open_live_state(redis_url: str | None) -> LiveState:
    if redis_url is None:
        health = LiveStateHealth("in-process")
        return LiveState(MemoryEventBus(), MemoryPresence(), MemoryLocks(), health)
    client = open_redis(redis_url)
    health = LiveStateHealth("redis")
    return LiveState(
        RedisEventBus(client, health),
        RedisPresence(client, health),
        RedisLocks(client, health),
        health,
        client,
    )


@dataclass
class Services:
    """What the handlers use; built once by ``create_app``."""

    settings: SankeSettings
    secret: str
    engine: Engine
    identity: IdentityService
    directory: DirectoryStore
    schedule: ScheduleService
    sfu: Sfu
    media_secret: str  # signs media grants; derived from the secret key
    lessons: LiveLessons
    reviews: Reviews
    indicators: Indicators
    live: LiveState | None = None  # opened in the app's lifespan, inside its event loop
    livekit: LiveKitMedia | None = None  # SANKE_MEDIA_BACKEND=livekit: drives the rooms

    @property
    def development(self) -> bool:
        return self.settings.env is Environment.DEVELOPMENT

    def now(self) -> datetime:
        """The one place handlers read the clock."""
        return datetime.now(UTC)


def media_secret(secret: str) -> str:
    """The key of media grants: its own, so that a grant can never pass for a session."""
    return hmac.new(secret.encode(), b"sanke-media-grants", hashlib.sha256).hexdigest()


def build_services(
    settings: SankeSettings, secret: str, engine: Engine, hasher: PasswordHasher | None = None
) -> Services:
    if settings.media_loopback:
        use_loopback_candidates()
    holder: list[Services] = []
    sfu = Sfu(lambda event: _on_media(holder, event), tuple(settings.media_ice_servers))
    livekit = open_livekit(settings, lambda event: _on_media(holder, event))
    secret_for_media = media_secret(secret)
    lessons = LiveLessons(
        engine, livekit.rooms if livekit else sfu, secret_for_media, lambda: datetime.now(UTC),
        checklist=tuple(settings.patrol_checklist),
    )  # fmt: skip
    schedule = ScheduleService(engine, lambda: datetime.now(UTC))
    identity = IdentityService(IdentityStore(engine), hasher or PasswordHasher())
    reviews = Reviews(
        ReviewStore(engine), JobQueue(engine), lessons, identity,
        open_storage(settings), DeletionLog(engine), link_key(secret),
        parse_rubrics(settings.review_rubrics),
        lambda: datetime.now(UTC), schedule.today,
    )  # fmt: skip
    services = Services(
        settings=settings,
        secret=secret,
        engine=engine,
        identity=identity,
        directory=DirectoryStore(engine),
        schedule=schedule,
        sfu=sfu,
        media_secret=secret_for_media,
        lessons=lessons,
        reviews=reviews,
        indicators=Indicators(engine, lambda: datetime.now(UTC)),
        livekit=livekit,
    )
    holder.append(services)
    return services


def s3_storage(settings: SankeSettings) -> S3Storage | None:
    """The S3 bucket recordings are kept in, when ``SANKE_S3_URL`` is set (the settings
    refuse it without the bucket and the keys); no request is made here."""
    bucket, access, secret = settings.s3_bucket, settings.s3_access_key, settings.s3_secret_key
    if not settings.s3_url or not bucket or not access or secret is None:
        return None
    return S3Storage.connect(S3Config(settings.s3_url, bucket, access,
                                      secret.get_secret_value(), settings.s3_region))  # fmt: skip


def open_storage(settings: SankeSettings) -> Storage:
    """The recordings store: the S3 bucket, or else the data directory."""
    return s3_storage(settings) or LocalStorage(settings.data_dir)


def _on_media(holder: list[Services], event: Event) -> None:
    """Media events drive the lesson rooms, and go on the live-state bus for pages and
    other app instances."""
    if holder:
        holder[0].lessons.on_media(event)
    live = holder[0].live if holder else None
    if live is None:
        return
    task = asyncio.get_running_loop().create_task(_publish(live.bus, event))
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


async def _publish(bus: EventBus, event: Event) -> None:
    with suppress(LiveStateUnavailable):  # quality events are best effort
        await bus.publish(event)


_PENDING: set[asyncio.Task[None]] = set()
