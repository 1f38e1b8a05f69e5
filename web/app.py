"""``create_app(settings)``: the FastAPI application, wired from settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import RequestResponseEndpoint

from identity.passwords import PasswordHasher
from media.http import MediaHttp
from web import errors
from web.database import make_engine
from web.demo_lessons import keep_demo_lessons_live
from web.deps import SESSION_COOKIE, bearer_token, get_lang
from web.i18n import translate
from web.pages import STATIC_DIR
from web.recording import hourly_retention, job_worker, recorder_agent, retention_policy
from web.rights import check_rules
from web.routers import (
    account,
    admin,
    audit,
    auth,
    health,
    indicators_api,
    lessons_api,
    lessons_pages,
    livekit_webhook,
    metrics,
    reports_pages,
    review_api,
    review_pages,
    schedule_api,
    schedule_pages,
    schools,
    users,
)
from web.services import Services, build_services, open_live_state
from web.settings import SankeSettings, secret_key

logger = logging.getLogger(__name__)

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LIVE_STATE_PROBE_SECONDS = 5.0
PURGE_FIRST_AFTER_SECONDS = 900


def create_app(
    settings: SankeSettings,
    *,
    engine: Engine | None = None,
    hasher: PasswordHasher | None = None,
) -> FastAPI:
    """Build the app. The database must already be migrated (``sanke db upgrade``)."""
    services = build_services(
        settings,
        secret_key(settings),
        engine or make_engine(settings.effective_database_url),
        hasher,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live = services.live = open_live_state(settings.redis_url)
        services.lessons.bus, services.lessons.locks = live.bus, live.locks
        services.indicators.locks = live.locks
        tasks = [
            asyncio.create_task(live.monitor(LIVE_STATE_PROBE_SECONDS)),
            asyncio.create_task(_purge_hourly(services)),
            asyncio.create_task(services.lessons.run()),
            asyncio.create_task(services.lessons.follow()),  # the other app instances
            asyncio.create_task(services.indicators.run()),
        ]
        if settings.demo_live:
            tasks.append(asyncio.create_task(keep_demo_lessons_live(services, settings.base_url)))
        stop_recording = asyncio.Event()
        if settings.record:  # the recorder and its job worker in this process
            recording = [recorder_agent(settings, services.engine).run(stop_recording),
                         job_worker(settings, services.engine).run(stop_recording),
                         hourly_retention(services.reviews, retention_policy(settings),
                                          stop_recording)]  # fmt: skip
            recorders = [asyncio.create_task(job) for job in recording]
        else:
            recorders = []
        try:
            yield
        finally:
            stop_recording.set()  # segments closed and named before the SFU goes
            with suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*recorders, return_exceptions=True), 10)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            await services.sfu.stop()
            await live.aclose()
            services.live = None

    docs = services.development
    app = FastAPI(
        title="Sanke 三课",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.services = services
    for module in (health, auth, account, admin, users, audit, schools, schedule_api,
                   schedule_pages, lessons_api, lessons_pages, review_api,
                   review_pages, indicators_api, reports_pages,
                   livekit_webhook):  # fmt: skip
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Media signalling, WHIP and WHEP: every request carries a media grant (rights.py).
    app.mount("/media", MediaHttp(services.sfu, services.media_secret).app(), name="media")
    errors.install(app)
    app.middleware("http")(_same_origin_guard)
    metrics.install(app)  # /metrics; outermost, so it counts every request
    check_rules(app)
    return app


async def _purge_hourly(services: Services) -> None:
    """Data lifecycle: drop dead sessions and stale login-failure counts (idempotent).

    Starts after a quarter of an hour, not at start-up: a purge cut short by a quick
    restart would leave its worker thread holding a connection.
    """
    while True:
        await asyncio.sleep(PURGE_FIRST_AFTER_SECONDS)
        try:
            removed = await run_in_threadpool(services.identity.purge, services.now())
            logger.info("Identity purge removed %d rows", removed)
        except SQLAlchemyError as exc:
            logger.warning("Identity purge failed: %s", exc)
        await asyncio.sleep(3600 - PURGE_FIRST_AFTER_SECONDS)


def _own_hosts(request: Request) -> set[str]:
    """The request's Host, and the public URL's host when a proxy rewrites Host."""
    hosts = {request.headers.get("host", "")}
    public_url = request.app.state.services.settings.public_url
    if public_url:
        hosts.add(urlsplit(public_url).netloc)
    return hosts


async def _same_origin_guard(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """Refuse cross-site form posts (CSRF), including login CSRF.

    A request that carries a bearer token uses no ambient credential and passes.
    Otherwise an unsafe request must come from this very host: browsers send
    ``Origin`` (or at least ``Referer``) on every POST, so one riding on the
    session cookie without either is refused too.
    """
    if request.method in _UNSAFE and bearer_token(request) is None:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if origin:
            refused = urlsplit(origin).netloc not in _own_hosts(request)
        else:
            refused = SESSION_COOKIE in request.cookies
        if refused:
            lang = get_lang(request)
            return JSONResponse(
                {"error": "cross_site", "message": translate(lang, "error.cross_site")},
                status_code=403,
            )
    return await call_next(request)
