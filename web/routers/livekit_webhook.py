"""LiveKit's webhooks (``SANKE_MEDIA_BACKEND=livekit``), and the LiveKit backend's upkeep.

The route is public to the rights check because it carries its own credential: LiveKit
signs each delivery (``Authorization``: a JWT over the body's hash, verified by
``media.livekit.webhooks``). A bad signature gets 401, a repeated delivery 200 (LiveKit stops
retrying), and the whole route 404 when the app does not use LiveKit.

The router's lifespan runs :meth:`LiveKitMedia.run` while the app runs: the webhooks
and the minute-by-minute reconcile are the two halves of keeping Sanke's view of the
LiveKit rooms, and of their Egress recordings, right. What the egresses write goes into the
app's recordings store and the lessons' logs (:class:`~web.livekit_media.EgressArchive`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from media.errors import WebhookInvalid
from web.deps import ServicesDep
from web.errors import NotFound
from web.livekit_media import egress_archive
from web.rights import public
from web.services import Services

logger = logging.getLogger(__name__)


@asynccontextmanager
async def keep_livekit(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    media = services.livekit
    if media is None:
        yield
        return
    archive = egress_archive(services.settings, services.reviews.storage, services.engine)
    task = asyncio.create_task(media.run(services.lessons, archive))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


router = APIRouter(lifespan=keep_livekit)


@router.post("/api/v1/livekit/webhook", dependencies=[public()])
async def livekit_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    media = services.livekit
    if media is None:
        raise NotFound("LiveKit is not the media backend")
    body = await request.body()
    try:
        fresh = media.receive(body, request.headers.get("authorization", ""), services.now())
    except WebhookInvalid as exc:
        host = request.client.host if request.client else "?"
        logger.warning("LiveKit webhook from %s refused (%s): %s", host, exc.reason, exc)
        # For LiveKit's logs, not for a person: no translation.
        return JSONResponse({"error": f"webhook_{exc.reason}", "message": str(exc)}, 401)
    return JSONResponse({"status": "accepted" if fresh else "duplicate"})
