"""The live-lessons service: rooms run by the timetable, grants, interaction, presence.

Wires the pure parts of ``rooms/`` (lifecycle, controls, attendance, quality) to
storage, the SFU and the live-state bus. A clock loop (``run``) opens, ends and
archives rooms; the SFU's events (``on_media``) make rooms live and keep attendance;
pages act through ``control``, ``chat``, ``end``, ``report``. Every lesson event is
published on the bus (``*/<lesson>``) and appended to the lesson's event log.

Several app instances share one database and one bus: one runs the clock (a lease),
each keeps in memory the rooms its pages use, and ``follow`` applies what the others
announce to them. This instance's pages follow ``changes``, which carries each lesson
event once that memory is up to date.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from kernel.errors import LiveStateUnavailable
from kernel.events import Event, EventBus
from kernel.locks import Lease, Locks
from kernel.memory_bus import MemoryEventBus
from media import events as media_events
from media.errors import MediaError
from media.grants import sign_grant
from rooms import controls as ctl
from rooms import lifecycle
from rooms.controls import Controls
from rooms.errors import ControlRefused, LessonRefused
from rooms.events import AttendanceAlert, ChatPosted, InspectionRecorded, RoomEnded
from rooms.inspections import CHECKLIST, check_inspection
from rooms.lesson import LessonView, Seat, lesson_view
from rooms.lifecycle import LessonRoom, RoomState, Timing
from rooms.media_grants import GRANTS, audience, media_grant
from rooms.quality import QualityMonitor, parse_report
from rooms.quality_summary import QualityFold, summaries, summarize
from rooms.store import RoomStore
from scheduler.model import Directory
from scheduler.plan_store import PlanStore
from scheduler.store import DirectoryStore
from web.live_room import (
    ATTENDANCE,
    CHAT_KEPT,
    LiveRoom,
    attendance_from_log,
    chat_line,
    counted,
    day_of,
    set_alerted,
)
from web.media_port import MediaPort
from web.pages import BEIJING

logger = logging.getLogger(__name__)

TICK_SECONDS = 2.0
DIRECTORY_TTL = 60.0
MAX_CHAT = 500
LOCK = "rooms-clock"
LEASE_SECONDS = TICK_SECONDS * 5
RECORDING_ALERT = timedelta(minutes=2)  # how long a recording failure shows on the pages
SEEN_KEPT = 10_000  # ids of the latest events applied here, so none is applied twice
# What another instance announces that changes a room's stored state or controls.
STATE_EVENTS = frozenset({"room.opened", "room.live", "room.ended", "room.archived",
                          "room.controls"})  # fmt: skip


class LiveLessons:
    def __init__(
        self,
        engine: Engine,
        sfu: MediaPort,
        media_secret: str,
        now: Callable[[], datetime],
        timing: Timing | None = None,
        checklist: tuple[str, ...] = CHECKLIST,
    ) -> None:
        self.store = RoomStore(engine)
        self.plans = PlanStore(engine)
        self.directory_store = DirectoryStore(engine)
        self.sfu = sfu
        self.timing = timing or Timing()
        self.checklist = checklist
        self._secret = media_secret
        self._now = now
        self._rooms: dict[str, LiveRoom] = {}
        self._directory: tuple[float, Directory] | None = None
        self.bus: EventBus | None = None
        self.locks: Locks | None = None
        self.changes = MemoryEventBus()  # lesson events for this instance's pages
        self._seen: dict[str, None] = {}  # ids of events applied here, oldest first
        self._pending: set[asyncio.Task[None]] = set()
        self._stepping = asyncio.Lock()
        # (lesson, identity) -> the page holding that seat (its live-channel socket)
        self.pages: dict[tuple[str, str], Any] = {}
        self._lease: Lease | None = None

    # --- the timetable's lessons ----------------------------------------------------
    def directory(self) -> Directory:
        cached = self._directory
        if cached is None or time.monotonic() - cached[0] > DIRECTORY_TTL:
            cached = self._directory = (time.monotonic(), self.directory_store.load())
        return cached[1]

    def lessons_between(self, first: date, last: date) -> list[LessonView]:
        directory = self.directory()
        return [
            lesson_view(o, directory, BEIJING)
            for o in self.plans.occurrences(first, last, include_cancelled=True)
        ]

    def view(self, lesson: str) -> LessonView:
        live = self._rooms.get(lesson)
        if live is not None:
            return live.view
        day = day_of(lesson)
        found = [v for v in self.lessons_between(day, day) if v.id == lesson] if day else []
        if not found:
            raise LessonRefused("no_lesson", "there is no such lesson")
        return found[0]

    def room_of(self, lesson: str) -> tuple[LessonRoom, Controls]:
        """The room's state, from memory, else the store, else as the timetable says."""
        live = self._rooms.get(lesson)
        if live is not None:
            return live.room, live.controls
        return self.rooms_of([self.view(lesson)])[lesson]

    def rooms_of(self, views: list[LessonView]) -> dict[str, tuple[LessonRoom, Controls]]:
        """The rooms of many lessons (a listing), with one query for those not in memory."""
        found = {v.id: (live.room, live.controls) for v in views if (live := self._rooms.get(v.id))}
        found |= self.store.many([v.id for v in views if v.id not in found])
        for view in views:
            if view.id not in found:  # no room yet: as the timetable says
                room = lifecycle.scheduled(view.id, view.starts_at, view.ends_at)
                if view.cancelled:
                    room, _ = lifecycle.cancel(room, self._now())
                found[view.id] = (room, Controls())
        return found

    # --- the clock ------------------------------------------------------------------
    async def run(self) -> None:
        """Apply the clock every ``TICK_SECONDS`` until cancelled (one instance at a time)."""
        while True:
            try:
                await self.step(self._now())
            except Exception:  # the clock must keep running whatever one step hit
                logger.exception("LiveLessons: clock step failed")
            await asyncio.sleep(TICK_SECONDS)

    async def step(self, now: datetime) -> None:
        """One turn of the clock, if this instance leads (steps never overlap)."""
        async with self._stepping:
            leading = await self._lead()
            await asyncio.to_thread(self._load, now, not leading)
            if leading:
                for lesson in list(self._rooms):
                    await self._advance(lesson, now)

    async def _lead(self) -> bool:
        """Hold the clock's lease (renewed each turn), so one app instance runs the clock;
        another takes over within ``LEASE_SECONDS`` when this one dies."""
        if self.locks is None:
            return True
        try:
            if self._lease is not None and await self.locks.renew(self._lease, LEASE_SECONDS):
                return True
            self._lease = await self.locks.acquire(LOCK, LEASE_SECONDS)
        except LiveStateUnavailable:
            logger.warning("LiveLessons: no lock service; running the clock alone")
            return True
        if self._lease is not None:
            logger.info("LiveLessons: this instance runs the clock (lease %d)", self._lease.fence)
        return self._lease is not None

    def _load(self, now: datetime, follow: bool = False) -> None:
        """Bring today's lessons due to open, and unfinished stored rooms, into memory;
        ``follow``: another instance runs the clock, so take the rooms' state as stored."""
        today = now.astimezone(BEIJING).date()
        stored = {room.lesson: (room, c) for room, c in self.store.unfinished()}
        if follow:
            for lesson, live in list(self._rooms.items()):
                if lesson not in stored:
                    del self._rooms[lesson]  # archived by the instance that runs the clock
                else:
                    live.room, live.controls = stored[lesson]
        horizon = now + self.timing.open_before + timedelta(minutes=1)
        # tomorrow's too near midnight: a lesson at 00:05 opens at 23:55 like any other
        last = horizon.astimezone(BEIJING).date()
        views = {v.id: v for v in self.lessons_between(today - timedelta(days=1), last)}
        for view in views.values():
            if view.id in self._rooms:
                self._rooms[view.id].view = view  # the timetable may have cancelled it
                continue
            if view.starts_at > horizon:
                continue
            if view.id not in stored:
                if view.cancelled or view.ends_at + self.timing.end_after < now - timedelta(
                    hours=1
                ):
                    continue  # long over before anyone looked: no room to run
                room = lifecycle.scheduled(view.id, view.starts_at, view.ends_at)
                if not self.store.add(room):
                    found = self.store.get(view.id)
                    if found is None:
                        continue
                    stored[view.id] = found
                else:
                    stored[view.id] = (room, Controls())
            self._remember(view, *stored[view.id])
        # The recorder tries again every minute, so a failure that goes on keeps this up.
        failing = self.store.lessons_with("recording.failed", now - RECORDING_ALERT)
        for lesson, live in self._rooms.items():
            live.recording_failed = lesson in failing
        for lesson, (room, controls) in stored.items():
            if lesson not in self._rooms:
                view_of = views.get(lesson)
                if view_of is None:
                    with suppress(LessonRefused):
                        view_of = self.view(lesson)
                if view_of is not None:
                    self._remember(view_of, room, controls)

    def _remember(self, view: LessonView, room: LessonRoom, controls: Controls) -> None:
        """Keep the room in memory, with its attendance and chat rebuilt from the log."""
        attendance = attendance_from_log(view, self.store.events(view.id, ATTENDANCE))
        live = LiveRoom(room, controls, view, attendance, QualityMonitor(view.id))
        live.teacher_present = view.teacher_identity in attendance.present()
        for doc in self.store.events(view.id, ("room.chat",), limit=CHAT_KEPT):
            live.chat.append(chat_line(ChatPosted(at=doc["at"], **doc["data"])))
        self._rooms[view.id] = live

    async def _advance(self, lesson: str, now: datetime) -> None:
        live = self._rooms[lesson]
        room = live.room
        if live.view.cancelled:
            room, events = lifecycle.cancel(room, now)
        else:
            room, events = lifecycle.tick(room, now, self.timing)
        if room.state in lifecycle.JOINABLE:
            events += live.attendance.check(now)
        if room != live.room:
            live.room = room
            await asyncio.to_thread(self.store.save, room)
        if room.state in (RoomState.ENDED, RoomState.ARCHIVED):
            cancelled = room.end_reason == lifecycle.CANCELLED
            await self._close_media(lesson, "cancelled" if cancelled else "ended")
        await self._announce(events)
        if room.state is RoomState.ARCHIVED:
            del self._rooms[lesson]

    async def _close_media(self, lesson: str, reason: str) -> None:
        await self.sfu.close_room(lesson, f"lesson_{reason}", f"the lesson has {reason}")

    async def _announce(self, events: list[Event]) -> None:
        if not events:
            return
        ended = [e for e in events if isinstance(e, RoomEnded)]
        if ended:  # each participant's quality in one event, logged with the end
            events = [*await asyncio.to_thread(self._summaries, ended), *events]
        await asyncio.to_thread(self.store.append, events)
        for event in events:
            self._see(event.id)
            await self.changes.publish(event)
            if self.bus is not None:
                with suppress(LiveStateUnavailable):
                    await self.bus.publish(event)

    def _summaries(self, ended: list[RoomEnded]) -> list[Event]:
        """The ``quality.summary`` events of the rooms ending (see
        :func:`rooms.quality_summary.summaries`): the reports fold them instead of a
        lesson's thousands of samples. A room ends once; a page's report that arrives
        later is refused (:meth:`report`), so nothing is left out."""
        return [
            summary
            for end in ended
            for summary in summaries(end.lesson, self.store.quality_log(end.lesson), end.at)
        ]

    def _see(self, event_id: str) -> bool:
        """Note an event as applied here; False if it was already."""
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > SEEN_KEPT:
            del self._seen[next(iter(self._seen))]
        return True

    # --- the other instances --------------------------------------------------------
    async def follow(self) -> None:
        """Apply what other instances announce to the rooms held here, and pass every
        event on to this instance's pages, until cancelled or the bus closes."""
        if self.bus is None:
            return
        async with self.bus.subscribe("*") as subscription:
            async for event in subscription:
                if not self._see(event.id):
                    continue  # announced here, or seen already
                live = self._rooms.get(event.key)
                if live is not None:
                    try:
                        await self._follow(live, event)
                    except Exception:  # one event must not stop the following
                        logger.exception("LiveLessons(%s): could not follow %s",
                                         event.key, event.type_name)  # fmt: skip
                await self.changes.publish(event)

    async def _follow(self, live: LiveRoom, event: Event) -> None:
        """Another instance's event about a room held here."""
        if isinstance(event, ChatPosted):
            live.chat.append(chat_line(event))
        elif isinstance(event, AttendanceAlert):
            set_alerted(live.attendance, event.identity, event.active)
        elif isinstance(event, media_events.ParticipantJoined | media_events.ParticipantLeft):
            if counted(live, event.identity):  # media on the other instance's SFU
                if isinstance(event, media_events.ParticipantJoined):
                    live.attendance.joined(event.identity, event.at)  # it announces the rest
                else:
                    live.attendance.left(event.identity, event.at)
            if event.identity == live.view.teacher_identity:
                live.teacher_present = isinstance(event, media_events.ParticipantJoined)
        elif event.type_name in STATE_EVENTS:
            found = await asyncio.to_thread(self.store.get, event.key)
            if found is None:
                return
            was_joinable = live.room.joinable
            live.room, live.controls = found
            for receiver in live.view.receivers:  # a call on the other instance opens mics here
                self._apply_grant(live, receiver.identity)
            if was_joinable and not live.room.joinable:
                cancelled = live.room.end_reason == lifecycle.CANCELLED
                await self._close_media(event.key, "cancelled" if cancelled else "ended")

    # --- the SFU's events -------------------------------------------------------------
    def on_media(self, event: Event) -> None:
        """Called by the SFU (in its loop) for each media event."""
        if isinstance(event, media_events.TrackStats):
            return  # per-track stats: the quality monitor works from the pages' reports
        lesson = event.key
        live = self._rooms.get(lesson)
        if live is None:
            return
        self._see(event.id)  # applied here: the copy the bus brings back is not followed
        task = asyncio.get_running_loop().create_task(self._on_media(live, event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _on_media(self, live: LiveRoom, event: Event) -> None:
        now = event.at
        events: list[Event] = [event]
        if isinstance(event, media_events.ParticipantJoined):
            if counted(live, event.identity):
                events += live.attendance.joined(event.identity, now)
            if event.identity == live.view.teacher_identity:
                live.teacher_present = True
            self._apply_grant(live, event.identity)
        elif isinstance(event, media_events.ParticipantLeft):
            if counted(live, event.identity):
                live.attendance.left(event.identity, now)
            events += live.quality.forget(event.identity, now)
            if event.identity == live.view.teacher_identity:
                live.teacher_present = False
        elif (
            isinstance(event, media_events.TrackPublished)
            and event.identity == live.view.teacher_identity
        ):
            room, more = lifecycle.teacher_published(live.room, now)
            if room != live.room:
                live.room = room
                await asyncio.to_thread(self.store.save, room)
            events += more
        await self._announce(events)

    def _apply_grant(self, live: LiveRoom, identity: str) -> None:
        """Open or close a classroom's microphone as the controls say."""
        if not identity.startswith("classroom:"):
            return
        base = GRANTS["receiving_classroom"].can_publish
        shown = audience("receiving_classroom", called_on=live.controls.called_on == identity)
        with suppress(MediaError, KeyError):
            self.sfu.update_grant(
                live.view.id, identity, ctl.may_publish(live.controls, identity, base), shown
            )

    # --- what pages do ----------------------------------------------------------------
    def _live(self, lesson: str) -> LiveRoom:
        """The room of a lesson pages may join now (loaded if this instance had not yet)."""
        live = self._rooms.get(lesson)
        if live is None:
            room, controls = self.room_of(lesson)
            lifecycle.check_joinable(room)
            self._remember(self.view(lesson), room, controls)
            live = self._rooms[lesson]
        lifecycle.check_joinable(live.room)
        return live

    def token(self, lesson: str, seat: Seat) -> tuple[str, datetime]:
        """A media grant for ``seat`` in the lesson's room, if the room is open."""
        live = self._live(lesson)
        now = self._now()
        base = GRANTS[seat.role].can_publish
        grant = media_grant(
            lesson, seat.identity, seat.role, seat.name, now,
            called_on=live.controls.called_on == seat.identity,
            speaking="microphone" in ctl.may_publish(live.controls, seat.identity, base),
        )  # fmt: skip
        return sign_grant(grant, self._secret, now), grant.expires_at

    async def control(self, lesson: str, seat: Seat, action: str, target: str = "") -> Controls:
        live = self._live(lesson)
        teacher = seat.role == "teacher"
        if not teacher and seat.role != "receiving_classroom":
            raise ControlRefused("not_allowed", "watchers do not act in the lesson")
        if target and not any(r.identity == target for r in live.view.receivers):
            raise ControlRefused("no_target", "that classroom does not follow this lesson")
        controls, event = ctl.apply(live.controls, action, lesson=lesson, by=seat.identity,
                                    teacher=teacher, target=target, now=self._now())  # fmt: skip
        live.controls = controls
        await asyncio.to_thread(self.store.save, live.room, controls)
        for receiver in live.view.receivers:
            self._apply_grant(live, receiver.identity)
        await self._announce([event])
        return controls

    async def chat(self, lesson: str, seat: Seat, text: str) -> None:
        live = self._live(lesson)
        if seat.role not in ("teacher", "receiving_classroom"):
            raise ControlRefused("not_allowed", "watchers do not chat in the lesson")
        ctl.may_chat(live.controls, seat.role == "teacher")
        text = " ".join(text.split())[:MAX_CHAT]
        if not text:
            return
        posted = ChatPosted(at=self._now(), lesson=lesson, identity=seat.identity,
                            name=seat.name, text=text)  # fmt: skip
        live.chat.append(chat_line(posted))
        await self._announce([posted])

    async def end(self, lesson: str, seat: Seat) -> None:
        live = self._live(lesson)
        if seat.role != "teacher":
            raise ControlRefused("not_allowed", "only the teacher ends the lesson")
        room, events = lifecycle.end_by_teacher(live.room, self._now())
        live.room = room
        await asyncio.to_thread(self.store.save, room)
        await self._announce(events)
        await self._close_media(lesson, "ended")

    async def report(self, lesson: str, seat: Seat, doc: object) -> None:
        """A page's ``getStats()`` summary: quality samples and alerts."""
        live = self._rooms.get(lesson)
        if live is None or not live.room.joinable:
            return
        report = parse_report(doc)
        await self._announce(live.quality.observe(seat.identity, report, self._now()))

    async def inspect(
        self, lesson: str, principal_id: int, inspector: str, scores: dict[str, int], notes: str
    ) -> int:
        view = self.view(lesson)
        now = self._now()
        moment = max(0, int((now - view.starts_at).total_seconds()))
        clean_scores, clean_notes = check_inspection(self.checklist, scores, notes)
        inspection_id = await asyncio.to_thread(
            self.store.add_inspection, lesson, principal_id, inspector, now, moment,
            clean_scores, clean_notes,
        )  # fmt: skip
        await self._announce(
            [InspectionRecorded(at=now, lesson=lesson, inspection_id=inspection_id,
                                inspector=inspector, moment_seconds=moment, scores=clean_scores,
                                notes=clean_notes)]
        )  # fmt: skip
        return inspection_id

    # --- what pages show ----------------------------------------------------------------
    def snapshot(self, lesson: str) -> dict[str, Any]:
        """The lesson as a page draws it: state, controls, classrooms, alerts, chat."""
        view = self.view(lesson)
        room, controls = self.room_of(lesson)
        live = self._rooms.get(lesson)
        now = self._now()
        present = set(live.attendance.present()) if live else set()
        alerts = []
        if live is not None:
            alerts = [{"identity": i, "alert": "receiver_missing"}
                      for i in live.attendance.alerted]  # fmt: skip
            alerts += [{"identity": a.identity, "alert": a.alert} for a in live.quality.alerts()]
        if live is not None and live.recording_failed:
            alerts.append({"identity": "recorder", "alert": "recording_failed"})
        poor = {a["identity"] for a in alerts if a["alert"] == "poor_network"}
        quality = {i: "poor" if i in poor else "good" for i in present}
        return {
            "lesson": view.id,
            "state": room.state.value,
            "end_reason": room.end_reason,
            "starts_at": view.starts_at.isoformat(),
            "ends_at": view.ends_at.isoformat(),
            "closes_at": (view.ends_at + self.timing.end_after).isoformat(),
            "now": now.isoformat(),
            "subject": view.subject,
            "grade": view.grade,
            "mode": view.mode.value,
            "teacher": {
                "identity": view.teacher_identity,
                "name": view.teacher_name,
                "school": view.output_school_name,
                "present": bool(live and live.teacher_present),
            },  # fmt: skip
            "receivers": [
                {
                    "identity": r.identity,
                    "classroom": r.classroom_id,
                    "school": r.school_name,
                    "pupils": r.pupils,
                    "present": r.identity in present,
                    "hand": r.identity in controls.hands,
                    "called_on": controls.called_on == r.identity,
                    "quality": quality.get(r.identity, "unknown"),
                }
                for r in view.receivers
            ],  # fmt: skip
            "controls": controls.as_dict(),
            "alerts": alerts,
            "chat": list(live.chat) if live else [],
        }

    def figures(self, lesson: str) -> dict[str, Any]:
        """Attendance (minutes, join delay) and quality (freezes, loss, RTT, bitrate) so far,
        from memory while the room runs, else rebuilt from the lesson's event log."""
        view = self.view(lesson)
        live = self._rooms.get(lesson)
        now = self._now()
        if live is not None:
            attendance, quality = live.attendance, live.quality.summary()
        else:
            attendance = attendance_from_log(
                view, self.store.events(lesson, ATTENDANCE, limit=100_000)
            )
            fold = QualityFold()  # samples with the video_frozen alerts, as the monitor
            for kind, at, data in self.store.quality_log(lesson):  # counted them live
                fold.read(kind, at, data)
            quality = summarize(lesson, fold.tallies)
        room, _ = self.room_of(lesson)
        end = room.ended_at or now
        return {
            "lesson": lesson,
            "state": room.state.value,
            "attendance": attendance.summary(min(now, end)),
            "missing": attendance.missing(),
            "quality": {
                "total": asdict(quality.total),
                "by_identity": {k: asdict(v) for k, v in quality.by_identity.items()},
            },
        }

    def rooms_by_state(self) -> dict[RoomState, int]:
        """How many unfinished rooms this instance holds in each state (for monitoring)."""
        return dict(Counter(live.room.state for live in self._rooms.values()))

    def live_now(self, region_target: Callable[[LessonView], bool]) -> list[dict[str, Any]]:
        """Snapshots of the open and live lessons the caller may see: the live ones first
        (what an inspector patrols), then those still waiting for their teacher, each by
        bell time."""

        def order(item: tuple[str, LiveRoom]) -> tuple[bool, datetime]:
            live = item[1]
            return live.room.state is not RoomState.LIVE, live.view.starts_at

        return [
            self.snapshot(lesson)
            for lesson, live in sorted(self._rooms.items(), key=order)
            if live.room.joinable and region_target(live.view)
        ]
