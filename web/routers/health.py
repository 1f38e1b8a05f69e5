"""Health: is the database reachable, is live state ok or degraded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from web.database import DatabaseUnavailable, check_database
from web.deps import ServicesDep
from web.rights import public

router = APIRouter()


@router.get("/health", dependencies=[public()])
async def health(services: ServicesDep) -> dict[str, Any]:
    try:
        await run_in_threadpool(check_database, services.engine)
        database = "ok"
    except DatabaseUnavailable:
        database = "unavailable"
    live = services.live
    if live is not None:
        await live.probe()
    report = live.health.report if live else None
    live_state = {
        "backend": live.health.backend if live else "not started",
        "state": report.state if report else "degraded",
        "since": report.since if report else None,
        # the reason names hosts and ports: operators read it in the logs, developers here
        "error": report.error if report and services.development else None,
    }
    ok = database == "ok" and live_state["state"] == "ok"
    return {"status": "ok" if ok else "degraded", "database": database, "live_state": live_state}
