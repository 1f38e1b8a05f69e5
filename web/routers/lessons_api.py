"""Live lessons over HTTP and WebSocket: listings, media tokens, the live channel,
inspections. Rights: a route's rule checks the role; ``seat`` checks the lesson."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from identity.authorize import Principal, authorize
from identity.roles import Action, Role
from identity.users import User
from rooms.errors import RoomsError
from rooms.lesson import AUDIENCE_MODES, LessonView, Seat, seat
from rooms.lifecycle import LessonRoom
from web.deps import ServicesDep
from web.errors import problem_for
from web.i18n import COOKIE, Lang, pick_lang, translate
from web.livekit_client import media_access
from web.rights import allowed, signed_in, signed_in_socket
from web.services import Services

router = APIRouter(prefix="/api/v1")

Watcher = Annotated[Principal, allowed(Action.LESSON_WATCH)]
Inspector = Annotated[Principal, allowed(Action.INSPECTION_RECORD)]
Receiver = Annotated[Principal, allowed(Action.LESSON_RECEIVE)]
Reporter = Annotated[Principal, allowed(Action.REPORT_READ)]
SignedIn = Annotated[User, signed_in()]

MAX_MESSAGE = 64_000
SNAPSHOT_DEBOUNCE = 0.15


def seat_of(services: Services, user: User, lesson: str, classroom: str | None) -> Seat:
    """``user``'s seat in ``lesson`` (``classroom`` for a device account), or refused."""
    view = services.lessons.view(lesson)
    return seat(user.principal(), view, teacher_id=user.teacher_id, classroom_id=classroom)


def visible_to(principal: Principal, user: User) -> Any:
    """Which lessons a user's listings show."""

    def check(view: LessonView) -> bool:
        if principal.role is Role.TEACHER:  # theirs, and master lessons to observe
            return view.teacher_id == user.teacher_id or view.mode in AUDIENCE_MODES
        if principal.role is Role.RECEIVING_CLASSROOM:
            return any(r.school_id == principal.scope.school for r in view.receivers)
        return authorize(principal, Action.SCHEDULE_READ, view.target()).allowed

    return check


def lesson_rows(services: Services, views: list[LessonView]) -> list[dict[str, Any]]:
    rooms = services.lessons.rooms_of(views)
    return [lesson_row(view, rooms[view.id][0]) for view in views]


def lesson_row(view: LessonView, room: LessonRoom) -> dict[str, Any]:
    return {
        "lesson": view.id, "day": view.day, "starts_at": view.starts_at.isoformat(),
        "ends_at": view.ends_at.isoformat(), "subject": view.subject, "grade": view.grade,
        "mode": view.mode.value, "teacher": view.teacher_name, "teacher_id": view.teacher_id,
        "school": view.output_school_name,
        "receivers": [{"classroom": r.classroom_id, "school": r.school_name}
                      for r in view.receivers],
        "state": room.state.value, "end_reason": room.end_reason,
    }  # fmt: skip


@router.get("/lessons")
def list_lessons(
    services: ServicesDep, user: SignedIn, day: date | None = None, days: int = 1
) -> list[dict[str, Any]]:
    """Lessons from ``day`` (today, Beijing) for ``days`` days that the user takes part in."""
    first = day or services.schedule.today()
    last = first + timedelta(days=max(1, min(days, 14)) - 1)
    check = visible_to(user.principal(), user)
    views = [v for v in services.lessons.lessons_between(first, last) if check(v)]
    return lesson_rows(services, views)


@router.get("/lessons/{lesson}")
def get_lesson(
    lesson: str, services: ServicesDep, user: SignedIn, classroom: str | None = None
) -> dict[str, Any]:
    seat_of(services, user, lesson, classroom)
    return services.lessons.snapshot(lesson)


@router.post("/lessons/{lesson}/token")
def lesson_token(
    lesson: str, services: ServicesDep, user: SignedIn, classroom: str | None = None
) -> dict[str, Any]:
    """A short-lived media grant for the user's seat in an open lesson, for the media
    backend the server runs (``backend``: ``embedded`` or ``livekit``, with its URL)."""
    place = seat_of(services, user, lesson, classroom)
    token, expires = services.lessons.token(lesson, place)
    access = media_access(token, services.media_secret, services.livekit, services.now())
    return {**access, "expires_at": expires.isoformat(), "identity": place.identity,
            "role": place.role, "room": lesson}  # fmt: skip


@router.get("/classrooms/{classroom}/lessons")
def classroom_lessons(
    classroom: str, services: ServicesDep, principal: Receiver
) -> list[dict[str, Any]]:
    """Today's lessons of a receiving classroom of the device account's school."""
    today = services.schedule.today()
    views = [
        v for v in services.lessons.lessons_between(today, today)
        if (r := v.receiver(classroom)) is not None and r.school_id == principal.scope.school
    ]  # fmt: skip
    return lesson_rows(services, views)


@router.get("/patrol")
def patrol(services: ServicesDep, principal: Watcher) -> dict[str, Any]:
    """The open and live lessons of the watcher's region, with their alerts."""
    lessons = services.lessons.live_now(
        lambda view: authorize(principal, Action.LESSON_WATCH, view.target()).allowed
    )
    return {"lessons": lessons, "checklist": list(services.lessons.checklist)}


@router.post("/lessons/{lesson}/inspections", status_code=201)
async def record_inspection(
    lesson: str,
    services: ServicesDep,
    principal: Inspector,
    scores: Annotated[dict[str, int], Body()],
    notes: Annotated[str, Body()] = "",
) -> dict[str, Any]:
    view = services.lessons.view(lesson)
    authorize(principal, Action.INSPECTION_RECORD, view.target()).enforce()
    inspection_id = await services.lessons.inspect(
        lesson, principal.user_id, principal.username, dict(scores), notes
    )
    return {"id": inspection_id}


@router.get("/lessons/{lesson}/inspections")
def list_inspections(lesson: str, services: ServicesDep, principal: Inspector) -> list[Any]:
    view = services.lessons.view(lesson)
    authorize(principal, Action.INSPECTION_RECORD, view.target()).enforce()
    return [
        {"id": i.id, "inspector": i.inspector, "at": i.at.isoformat(),
         "moment_seconds": i.moment_seconds, "scores": i.scores, "notes": i.notes}
        for i in services.lessons.store.inspections(lesson)
    ]  # fmt: skip


@router.get("/lessons/{lesson}/figures")
def lesson_figures(lesson: str, services: ServicesDep, principal: Reporter) -> dict[str, Any]:
    """Attendance (minutes present, join delay) and quality (freezes, loss, RTT, bitrate)."""
    view = services.lessons.view(lesson)
    authorize(principal, Action.REPORT_READ, view.target()).enforce()
    return services.lessons.figures(lesson)


# --- the live channel ------------------------------------------------------------------


def _error(exc: Exception, lang: Lang) -> dict[str, Any]:
    problem = problem_for(exc, lang)
    return {"type": "error", "code": problem.code, "message": problem.message}


@router.websocket("/lessons/{lesson}/live")
async def live_channel(
    websocket: WebSocket,
    lesson: str,
    user: Annotated[User, signed_in_socket()],
    classroom: Annotated[str | None, Query()] = None,
) -> None:
    """The page's channel: snapshots out; controls, chat, stats in.

    One page per classroom: a second device for the same classroom takes over and
    the first is told so (``replaced``) and stops rejoining.
    """
    services: Services = websocket.app.state.services
    lang = pick_lang(websocket.query_params.get("lang"), websocket.cookies.get(COOKIE))
    await websocket.accept()
    try:
        place = await run_in_threadpool(seat_of, services, user, lesson, classroom)
    except RoomsError as exc:
        await websocket.send_json(_error(exc, lang))
        await websocket.close()
        return
    key = (lesson, place.identity)
    pages = services.lessons.pages
    previous = pages.get(key)
    pages[key] = websocket
    if previous is not None and place.role == Role.RECEIVING_CLASSROOM:
        with suppress(Exception):  # the old page may be gone already
            text = translate(lang, "lesson.error.replaced")
            await previous.send_json({"type": "replaced", "code": "replaced", "message": text})
            await previous.close()
    changed = asyncio.Event()
    changed.set()

    async def follow() -> None:
        # The service's changes, not the bus: they come once its memory has the event.
        async with services.lessons.changes.subscribe(f"*/{lesson}") as subscription:
            async for _event in subscription:
                changed.set()

    async def push() -> None:
        while True:
            await changed.wait()
            await asyncio.sleep(SNAPSHOT_DEBOUNCE)
            changed.clear()
            snapshot = await run_in_threadpool(services.lessons.snapshot, lesson)
            await websocket.send_json({"type": "snapshot", "you": place.identity,
                                       "role": place.role, **snapshot})  # fmt: skip

    tasks = [asyncio.create_task(follow()), asyncio.create_task(push())]
    try:
        while True:
            raw = await websocket.receive_text()
            if len(raw) > MAX_MESSAGE:
                await websocket.send_json({"type": "error", "code": "too_big",
                                           "message": "message too big"})  # fmt: skip
                continue
            try:
                await _command(services, lesson, place, raw)
            except (RoomsError, ValueError) as exc:
                await websocket.send_json(_error(exc, lang) if isinstance(exc, RoomsError)
                                          else {"type": "error", "code": "bad_message",
                                                "message": str(exc)[:200]})  # fmt: skip
            changed.set()
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if pages.get(key) is websocket:
            del pages[key]


async def _command(services: Services, lesson: str, place: Seat, raw: str) -> None:
    message = json.loads(raw)
    if not isinstance(message, dict):
        raise ValueError("a message is a JSON object")
    kind = message.get("type")
    if kind == "control":
        await services.lessons.control(
            lesson, place, str(message.get("action", "")), str(message.get("target") or "")
        )
    elif kind == "chat":
        await services.lessons.chat(lesson, place, str(message.get("text", "")))
    elif kind == "stats":
        await services.lessons.report(lesson, place, message.get("report"))
    elif kind == "end":
        await services.lessons.end(lesson, place)
    elif kind != "ping":
        raise ValueError(f"unknown message type {str(kind)[:40]!r}")
