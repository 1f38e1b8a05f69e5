"""HTTP and WebSocket front of the SFU: signalling for pages, WHIP and WHEP.

A small Starlette app that ``web`` mounts at ``/media`` (and a benchmark can run on
its own). Every request carries a media grant (``Authorization: Bearer`` for WHIP and
WHEP, the ``join`` message on the WebSocket); nothing else is trusted.

* ``WS /ws`` — the JSON protocol of :mod:`media.signalling`.
* ``POST /whip/{room}`` — RFC 9725: an SDP offer in, ``201 Created`` + ``Location`` +
  the answer out; ``DELETE`` on the location ends the session. Video m-sections
  publish ``?source=`` (camera by default), audio ones the microphone.
* ``POST /whep/{room}?participant=&source=`` — the same for players: recvonly offer,
  the first video gets that participant's source, the first audio its microphone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from media.errors import GrantInvalid, PermissionDenied, SignallingError
from media.grants import MediaGrant, verify_grant
from media.sfu import Sfu
from media.signalling import (
    Join,
    LayerPreference,
    Leave,
    Mute,
    Offer,
    Ping,
    Publication,
    Subscribe,
    Unsubscribe,
    error_message,
    offer_sections,
    parse_message,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
JOIN_TIMEOUT_S = 10.0
MAX_ERRORS = 20
SDP = "application/sdp"


class MediaHttp:
    def __init__(self, sfu: Sfu, secret: str, clock: Clock | None = None) -> None:
        self.sfu = sfu
        self.secret = secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sessions: dict[str, tuple[str, str]] = {}  # resource id -> (room, identity)
        static = resources.files("media").joinpath("static")
        self._client_js = static.joinpath("sfu-client.js").read_text("utf-8")
        self._lab_html = static.joinpath("lab.html").read_text("utf-8")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                WebSocketRoute("/ws", self.websocket),
                Route("/whip/{room}", self.whip, methods=["POST", "OPTIONS"]),
                Route("/whep/{room}", self.whep, methods=["POST", "OPTIONS"]),
                Route("/whip/{room}/{resource}", self.end_session, methods=["DELETE", "PATCH"]),
                Route("/whep/{room}/{resource}", self.end_session, methods=["DELETE", "PATCH"]),
                Route("/client.js", self.client_js, methods=["GET"]),
                Route("/lab", self.lab, methods=["GET"]),
            ]
        )

    # --- WHIP / WHEP -----------------------------------------------------------

    def _bearer(self, request: Request, room: str) -> MediaGrant:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise GrantInvalid(
                "malformed", "send the media token as 'Authorization: Bearer <token>'"
            )
        return verify_grant(header[7:].strip(), self.secret, self.clock(), room=room)

    async def _offer(self, request: Request) -> str:
        if request.headers.get("content-type", "").split(";")[0].strip() != SDP:
            raise SignallingError("bad_sdp", "the body must be an SDP offer (application/sdp)")
        body = await request.body()
        if len(body) > 200 * 1024 or not body.startswith(b"v=0"):
            raise SignallingError("bad_sdp", "the body is not an SDP offer")
        return body.decode("utf-8", "replace")

    async def whip(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Accept-Post": SDP})
        room = request.path_params["room"]
        try:
            grant = self._bearer(request, room)
            sdp = await self._offer(request)
            video_source = request.query_params.get("source", "camera")
            publish: dict[str, Publication] = {}
            for mid, kind, _direction in offer_sections(sdp):
                source = video_source if kind == "video" else "microphone"
                if any(p.source == source for p in publish.values()):
                    raise SignallingError("too_many_tracks", f"one {kind} track per WHIP session")
                publish[mid] = Publication(source)
            if not publish:
                raise SignallingError("bad_sdp", "the offer has no audio or video")
            return await self._start(request, grant, Offer(sdp, publish=publish))
        except (GrantInvalid, SignallingError) as exc:
            return _http_error(exc)

    async def whep(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Accept-Post": SDP})
        room = request.path_params["room"]
        try:
            grant = self._bearer(request, room)
            sdp = await self._offer(request)
            publisher = request.query_params.get("participant") or self._main_publisher(room)
            video_source = request.query_params.get("source", "camera")
            subscribe: dict[str, str] = {}
            kinds_done: set[str] = set()
            for mid, kind, _direction in offer_sections(sdp):
                if kind in kinds_done:
                    continue
                kinds_done.add(kind)
                subscribe[mid] = f"{publisher}/{video_source if kind == 'video' else 'microphone'}"
            return await self._start(request, grant, Offer(sdp, subscribe=subscribe))
        except (GrantInvalid, SignallingError) as exc:
            return _http_error(exc)

    def _main_publisher(self, room_id: str) -> str:
        room = self.sfu.rooms.get(room_id)
        if room is not None:
            for source in room.sources.values():
                if source.source == "camera" and source.layers:
                    return source.identity
        raise SignallingError("no_track", "nothing is published in this room yet")

    async def _start(self, request: Request, grant: MediaGrant, offer: Offer) -> Response:
        await self.sfu.join(grant)
        try:
            answer = await self.sfu.negotiate(grant.room, grant.identity, offer)
        except SignallingError:
            await self.sfu.leave(grant.room, grant.identity)
            raise
        self._forget_ended_sessions()
        resource = secrets.token_urlsafe(12)
        self.sessions[resource] = (grant.room, grant.identity)
        location = f"{request.url.path.rstrip('/')}/{resource}"
        return Response(
            answer,
            status_code=201,
            media_type=SDP,
            headers={"Location": location, "ETag": f'"{resource}"'},
        )

    def _forget_ended_sessions(self) -> None:
        """Drop WHIP/WHEP resources whose participant has gone (lost, replaced, left)."""
        for resource, (room_id, identity) in list(self.sessions.items()):
            room = self.sfu.rooms.get(room_id)
            if room is None or identity not in room.participants:
                del self.sessions[resource]

    async def end_session(self, request: Request) -> Response:
        room = request.path_params["room"]
        resource = request.path_params["resource"]
        if request.method == "PATCH":  # no trickle ICE: every candidate is in the answer
            return Response(status_code=405, headers={"Allow": "DELETE"})
        try:
            grant = self._bearer(request, room)
        except GrantInvalid as exc:
            return _http_error(exc)
        session = self.sessions.get(resource)
        if session is None or session[0] != room:
            return JSONResponse(
                {"code": "not_found", "message": "no such session"}, status_code=404
            )
        if session[1] != grant.identity:
            return JSONResponse(
                {"code": "forbidden", "message": "not your session"}, status_code=403
            )
        del self.sessions[resource]
        await self.sfu.leave(room, grant.identity)
        return Response(status_code=200)

    async def client_js(self, request: Request) -> Response:
        return Response(self._client_js, media_type="text/javascript")

    async def lab(self, request: Request) -> Response:
        """A page to check camera, microphone and network against the SFU (token in #)."""
        return Response(self._lab_html, media_type="text/html")

    # --- WebSocket signalling ----------------------------------------------------

    async def websocket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        outgoing: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=1000)

        def notify(message: dict[str, Any]) -> None:
            if outgoing.full():
                return  # a page that does not read its socket misses updates, not the room
            outgoing.put_nowait(message)

        async def writer() -> None:
            while (message := await outgoing.get()) is not None:
                await websocket.send_text(json.dumps(message, ensure_ascii=False))

        writer_task = asyncio.get_running_loop().create_task(writer())
        grant: MediaGrant | None = None
        session = 0
        try:
            grant = await self._ws_join(websocket, notify)
            if grant is None:
                return
            session = self.sfu.participant(grant.room, grant.identity).session
            errors = 0
            while True:
                raw = await websocket.receive_text()
                if not self.sfu.is_current(grant.room, grant.identity, session):
                    notify(error_message("replaced", "this page joined again elsewhere; goodbye"))
                    return
                try:
                    if await self._ws_command(grant, raw, notify):
                        return
                except SignallingError as exc:
                    errors += 1
                    notify(error_message(exc.code, exc.message))
                    if errors >= MAX_ERRORS:
                        notify(error_message("too_many_errors", "too many bad messages; goodbye"))
                        return
        except WebSocketDisconnect:
            pass
        finally:
            if grant is not None:
                self.sfu.detach_notify(grant.room, grant.identity, notify)
                self.sfu.lost(grant.room, grant.identity, session)
            await outgoing.put(None)
            await asyncio.gather(writer_task, return_exceptions=True)
            try:
                await websocket.close()
            except (RuntimeError, WebSocketDisconnect):
                pass  # already closed by the client

    async def _ws_join(
        self, websocket: WebSocket, notify: Callable[[dict[str, Any]], None]
    ) -> MediaGrant | None:
        try:
            raw = await asyncio.wait_for(websocket.receive_text(), JOIN_TIMEOUT_S)
            command = parse_message(raw)
            if not isinstance(command, Join):
                raise SignallingError("not_joined", "the first message must be join")
            grant = verify_grant(command.token, self.secret, self.clock())
        except TimeoutError:
            notify(error_message("timeout", "no join message within 10 s"))
            return None
        except GrantInvalid as exc:
            notify(error_message(f"token_{exc.reason}", str(exc)))
            return None
        except SignallingError as exc:
            notify(error_message(exc.code, exc.message))
            return None
        await self.sfu.join(grant, notify)
        state = self.sfu.describe(grant.room, grant.identity)
        notify(
            {
                "type": "joined",
                "room": grant.room,
                "identity": grant.identity,
                "can_publish": sorted(grant.can_publish),
                "can_subscribe": grant.can_subscribe,
                **state,
            }
        )
        return grant

    async def _ws_command(
        self, grant: MediaGrant, raw: str, notify: Callable[[dict[str, Any]], None]
    ) -> bool:
        """Carry out one message; True when the client has left."""
        command = parse_message(raw)
        room, identity = grant.room, grant.identity
        if grant.expires_at <= self.clock():
            raise SignallingError(
                "token_expired", "the media token has expired; rejoin with a new one"
            )
        if isinstance(command, Offer):
            answer = await self.sfu.negotiate(room, identity, command)
            notify({"type": "answer", "sdp": answer})
        elif isinstance(command, Subscribe):
            self.sfu.subscribe(room, identity, command.mid, command.track)
        elif isinstance(command, Unsubscribe):
            self.sfu.unsubscribe(room, identity, command.mid)
        elif isinstance(command, LayerPreference):
            self.sfu.set_layer(room, identity, command.mid, command.layer)
        elif isinstance(command, Mute):
            if not self.sfu.participant(room, identity).grant.allows_publish(command.source):
                raise PermissionDenied(f"this grant may not publish {command.source}")
            self.sfu.mute(room, identity, command.source, command.muted)
        elif isinstance(command, Ping):
            notify({"type": "pong"})
        elif isinstance(command, Leave):
            await self.sfu.leave(room, identity)
            notify({"type": "bye"})
            return True
        elif isinstance(command, Join):
            raise SignallingError("bad_message", "already joined")
        return False


def _http_error(exc: GrantInvalid | SignallingError) -> Response:
    if isinstance(exc, GrantInvalid):
        status = 403 if exc.reason == "room" else 401
        return JSONResponse(
            {"code": f"token_{exc.reason}", "message": str(exc)},
            status_code=status,
            headers={"WWW-Authenticate": "Bearer"},
        )
    status = {"forbidden": 403, "no_track": 404, "not_joined": 409, "replaced": 409}.get(
        exc.code, 400
    )
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)
