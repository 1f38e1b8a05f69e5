"""Recording on LiveKit Egress: the adapter that carries out the :class:`EgressPlan`.

The plan decides (``media.livekit.recording_plan``); this makes its calls through
:class:`~media.livekit.egress.LiveKitEgress` and feeds the answers back, and hands what came
out of the egresses (:class:`TrackFile`, :class:`GaveUp`, :class:`Completed`) to its
owner's :data:`Outcomes`, which knows what a room's recording is. Webhooks are acted on in
the background (LiveKit wants its answer at once); everything that reads or changes the
plan runs under one lock, so that a reconcile never sees a start half made.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime

from livekit.api import LiveKitAPI
from livekit.protocol.egress import (
    ListEgressRequest,
    RoomCompositeEgressRequest,
    TrackCompositeEgressRequest,
)
from livekit.protocol.webhook import WebhookEvent

from media.errors import BackendError
from media.livekit.background import Background
from media.livekit.egress import LiveKitEgress
from media.livekit.recording_plan import (
    Action,
    Collect,
    Completed,
    EgressPlan,
    GaveUp,
    Published,
    Start,
    Stop,
    TrackFile,
)

logger = logging.getLogger(__name__)

Outcome = TrackFile | GaveUp | Completed
Outcomes = Callable[[Outcome], Awaitable[None]]


async def _dropped(outcome: Outcome) -> None:
    logger.warning("LiveKitRecording: nobody takes %s", outcome)


class LiveKitRecording:
    """Egress recordings of every room, kept to the plan."""

    def __init__(self, plan: EgressPlan, outcomes: Outcomes | None = None) -> None:
        self.plan = plan
        self.outcomes: Outcomes = outcomes if outcomes is not None else _dropped
        self._egress: LiveKitEgress | None = None
        self._lock = asyncio.Lock()
        self._background = Background("LiveKitRecording")

    # --- the client -------------------------------------------------------------------

    def connect(self, api: LiveKitAPI) -> None:
        """Use ``api`` from now on (its opener closes it, after :meth:`disconnect`)."""
        self._egress = LiveKitEgress(api)

    def disconnect(self) -> None:
        self._egress = None

    @property
    def egress(self) -> LiveKitEgress:
        if self._egress is None:
            raise BackendError("unavailable", "no LiveKit client is connected")
        return self._egress

    # --- what happens -----------------------------------------------------------------

    def on_webhook(self, event: WebhookEvent, now: datetime) -> None:
        """Take a verified, new webhook in; the plan takes it and the calls it asks for
        in the background, in turn with everything else (not connected, a start fails as
        LiveKit being away would, and the next reconcile makes up for it)."""
        self._background.spawn(self._locked(lambda: self.plan.on_webhook(event, now), now))

    async def end(self, rooms: Iterable[str], now: datetime) -> None:
        """These rooms' lessons are over (each call after the first changes nothing)."""
        async with self._lock:
            for room in rooms:
                await self._act(self.plan.end(room, now), now)

    async def reconcile(
        self, published: Mapping[str, Mapping[str, Published]], now: datetime
    ) -> None:
        """Compare the plan with ``list_egress``: the active egresses, then each one the
        plan believes running that is not among them; ``published`` are the tracks the
        rooms hold now. A failed listing raises :class:`BackendError` and changes nothing."""
        async with self._lock:
            active = await self.egress.list(ListEgressRequest(active=True))
            for egress_id in self.plan.unlisted(active):
                for info in await self.egress.list(ListEgressRequest(egress_id=egress_id)):
                    await self._act(self.plan.on_egress(info, now), now)
            await self._act(self.plan.reconcile(published, active, now), now)

    async def stop(self) -> None:
        """Cancel the background work still running."""
        await self._background.stop()

    async def settle(self) -> None:
        """Wait for the background work started so far (tests, shutdown)."""
        await self._background.settle()

    # --- acting -----------------------------------------------------------------------

    async def _locked(self, decide: Callable[[], list[Action]], now: datetime) -> None:
        async with self._lock:
            await self._act(decide(), now)

    async def _act(self, actions: list[Action], now: datetime) -> None:
        for action in actions:
            if isinstance(action, Start):
                await self._act(await self._start(action, now), now)
            elif isinstance(action, Stop):
                await self._stop(action)
            elif isinstance(action, Collect):
                await self._act(await self._collect(action, now), now)
            else:
                try:
                    await self.outcomes(action)
                except Exception:  # one outcome that fails must not stop the others
                    logger.exception("LiveKitRecording: %s was not taken", action)

    async def _start(self, start: Start, now: datetime) -> list[Action]:
        target, request = start.target, start.request
        try:
            if isinstance(request, TrackCompositeEgressRequest):
                egress_id = await self.egress.thumbnails(request)
            elif isinstance(request, RoomCompositeEgressRequest):
                egress_id = await self.egress.record_room(request)
            else:
                egress_id = await self.egress.record_track(request)
        except BackendError as exc:
            logger.warning("LiveKitRecording(%s) %s %s not started: %s", target.room,
                           target.kind, target.track, exc)  # fmt: skip
            # Unreachable (no answer at all) costs no restart; a refusal does, Egress's
            # "unavailable" (no egress service takes the request) included.
            return self.plan.start_failed(target, str(exc), now, counts=exc.status is not None)
        logger.info("LiveKitRecording(%s) %s %s: egress %s", target.room, target.kind,
                    target.track, egress_id or "(no id given)")  # fmt: skip
        return self.plan.started(target, egress_id, now)

    async def _stop(self, stop: Stop) -> None:
        try:
            await self.egress.stop(stop.egress)
        except BackendError as exc:  # it ended meanwhile, or LiveKit is away: reconcile sees
            logger.info("LiveKitRecording(%s) egress %s not stopped: %s", stop.target.room,
                        stop.egress, exc)  # fmt: skip

    async def _collect(self, collect: Collect, now: datetime) -> list[Action]:
        try:
            infos = await self.egress.list(ListEgressRequest(room_name=collect.room))
        except BackendError as exc:  # the next reconcile asks again
            logger.warning("LiveKitRecording(%s) egresses not listed: %s", collect.room, exc)
            return []
        actions: list[Action] = []
        for info in sorted(infos, key=lambda i: i.egress_id):
            actions += self.plan.on_egress(info, now, again=True)
        return [*actions, *self.plan.collected(collect.room, now)]
