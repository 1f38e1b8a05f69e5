"""The LiveKit backend as the app runs it (``SANKE_MEDIA_BACKEND=livekit``).

Built from settings by :func:`open_livekit`: the live-lessons service then drives LiveKit
rooms (:class:`~media.livekit.rooms.LiveKitRooms`) instead of the embedded SFU, and
LiveKit's webhooks arrive at ``POST /api/v1/livekit/webhook``. :meth:`LiveKitMedia.run`
(started with the app, see ``web/routers/livekit_webhook.py``) opens the API client,
every minute reconciles the rooms with LiveKit and creates the rooms of the lessons
about to open, with their expected load, and closes the client when the app stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from livekit.api import LiveKitAPI

from kernel.events import Event
from media.errors import BackendError
from media.livekit.placement import Feed, RoomPlan, due, expected_load, place
from media.livekit.rooms import LiveKitRooms
from media.livekit.webhooks import WebhookInbox
from rooms.lesson import LessonMode, LessonView
from rooms.lifecycle import RoomState, Timing
from web.live_lessons import LiveLessons
from web.pages import BEIJING
from web.settings import MediaBackend, SankeSettings

logger = logging.getLogger(__name__)

RECONCILE_SECONDS = 60.0
AHEAD = timedelta(minutes=15)  # rooms exist this long before they open
API_TIMEOUT = aiohttp.ClientTimeout(total=10)
#: Expected bitrates (DESIGN.md §5: 720p30 H.264 about 1.5 Mbit/s; Opus speech 32 kbit/s).
VIDEO_BPS = 1_500_000.0
AUDIO_BPS = 32_000.0
WATCHERS = 2  # besides teacher and classrooms: the recorder and one inspector on patrol
SEATS_FOR_WATCHERS = 20  # room for hidden watchers in a delivery lesson's room
PLANNED = frozenset({RoomState.SCHEDULED, RoomState.OPEN, RoomState.LIVE})


def room_plan(view: LessonView, timing: Timing) -> RoomPlan:
    """The room a lesson needs: the teacher's camera and microphone go to every classroom
    and watcher; each classroom's camera to the teacher and the watchers; the microphone
    of the classroom called on to everyone else."""
    classrooms = len(view.receivers)
    feeds = (
        Feed(VIDEO_BPS, 1, classrooms + WATCHERS),
        Feed(AUDIO_BPS, 1, classrooms + WATCHERS),
        Feed(VIDEO_BPS, classrooms, 1 + WATCHERS),
        Feed(AUDIO_BPS, min(classrooms, 1), classrooms + WATCHERS),
    )
    audience = view.mode is not LessonMode.DELIVERY  # an audience of unknown size
    return RoomPlan(
        room=view.id,
        opens_at=view.starts_at - timing.open_before,
        closes_at=view.ends_at + timing.end_after,
        feeds=feeds,
        max_participants=0 if audience else 1 + classrooms + SEATS_FOR_WATCHERS,
    )


@dataclass
class LiveKitMedia:
    url: str
    api_key: str
    api_secret: str
    rooms: LiveKitRooms
    inbox: WebhookInbox
    nodes: tuple[str, ...] = ()  # empty: LiveKit's node selector places the rooms
    expected: dict[str, float] = field(default_factory=dict)  # node → forwarded bit/s now

    def receive(self, body: bytes, authorization: str, now: datetime) -> bool:
        """Take one webhook delivery in; False if it came before. Raises ``WebhookInvalid``."""
        event = self.inbox.receive(body, authorization, now)
        if event is None:
            return False
        self.rooms.on_webhook(event, now)
        return True

    async def run(self, lessons: LiveLessons) -> None:
        """Open the API client and keep LiveKit in line with Sanke until cancelled."""
        async with aiohttp.ClientSession(timeout=API_TIMEOUT) as session:
            api = LiveKitAPI(self.url, self.api_key, self.api_secret, session=session,
                             failover=False)  # fmt: skip
            self.rooms.connect(api)
            try:
                while True:
                    await self.step(lessons, datetime.now(UTC))
                    await asyncio.sleep(RECONCILE_SECONDS)
            finally:
                self.rooms.disconnect()
                await self.rooms.stop()

    async def step(self, lessons: LiveLessons, now: datetime) -> None:
        """Reconcile, then create the rooms about to open (each part on its own)."""
        try:
            await self.rooms.reconcile(now)
        except BackendError as exc:
            logger.warning("LiveKitMedia: reconcile failed: %s", exc)
        try:
            plans = await asyncio.to_thread(self._plans, lessons, now)
            placement = place(plans, self.nodes)
            await self.rooms.ensure_rooms(due(plans, now, AHEAD), placement, now)
        except BackendError as exc:
            logger.warning("LiveKitMedia: rooms not created ahead: %s", exc)
            return
        expected = expected_load(plans, placement, now + AHEAD)
        if expected != self.expected:
            for node, bps in sorted(expected.items()):
                logger.info("LiveKitMedia: node %s expects %.1f Mbit/s forwarded by %s",
                            node or "(any)", bps / 1e6, (now + AHEAD).isoformat())  # fmt: skip
        self.expected = expected

    @staticmethod
    def _plans(lessons: LiveLessons, now: datetime) -> list[RoomPlan]:
        """Today's rooms still to be held (not cancelled, not ended)."""
        today = now.astimezone(BEIJING).date()
        views = [v for v in lessons.lessons_between(today, today) if not v.cancelled]
        states = lessons.rooms_of(views)
        return [room_plan(v, lessons.timing) for v in views if states[v.id][0].state in PLANNED]


def open_livekit(settings: SankeSettings, emit: Callable[[Event], None]) -> LiveKitMedia | None:
    """The LiveKit backend if the settings choose it (they hold its URL, key and secret)."""
    if settings.media_backend is not MediaBackend.LIVEKIT:
        return None
    url, key, secret = settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    assert url and key and secret is not None  # the settings refuse livekit without them
    return LiveKitMedia(
        url=url,
        api_key=key,
        api_secret=secret.get_secret_value(),
        rooms=LiveKitRooms(emit),
        inbox=WebhookInbox(key, secret.get_secret_value()),
    )
