"""``GET /metrics`` for Prometheus, from loopback or with the metrics token (rights.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from web.metrics import CONTENT_TYPE, AppMetrics, RequestCounter
from web.rights import monitoring

router = APIRouter()


def get_metrics(request: Request) -> AppMetrics:
    metrics: AppMetrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[AppMetrics, Depends(get_metrics)]


def install(app: FastAPI) -> None:
    """Serve ``/metrics`` and count every HTTP request. Call it after the app's other
    middleware, so that the count includes what they answer themselves."""
    metrics = app.state.metrics = AppMetrics(app.state.services)
    app.add_middleware(RequestCounter, requests=metrics.requests)
    app.include_router(router)


@router.get("/metrics", dependencies=[monitoring()], include_in_schema=False)
async def scrape(metrics: MetricsDep) -> Response:
    await run_in_threadpool(metrics.read_database)
    return Response(metrics.render(), media_type=CONTENT_TYPE)
