"""Live-lesson pages: the lesson list, the teacher console, the receiving-classroom
kiosk and the patrol wall. The pages draw themselves from the lesson channel.

Their scripts join the lesson's media room with the client of the server's media
backend (``live_scripts.html``): the embedded SFU's ``/media/client.js``, or, with
LiveKit, livekit-client's bundle (served here from ``node_modules``) and
``livekit-media.js``. Whether that bundle is there is said in the log at start-up.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from markupsafe import Markup

from identity.authorize import Principal, authorize
from identity.roles import Action, Role
from identity.scope import Target
from identity.users import User
from rooms.errors import LessonRefused
from web.deps import LangDep, ServicesDep
from web.errors import NotFound
from web.i18n import MESSAGES, Lang, translate
from web.livekit_client import BUNDLE_URL, check_bundle, find_bundle
from web.pages import BEIJING, render
from web.rights import allowed, public, signed_in
from web.routers.lessons_api import lesson_rows, seat_of, visible_to
from web.services import Services


@asynccontextmanager
async def say_where_the_client_is(app: FastAPI) -> AsyncIterator[None]:
    """With LiveKit, log at start-up whether livekit-client's bundle is installed."""
    services: Services = app.state.services
    if services.livekit is not None:
        check_bundle()
    yield


router = APIRouter(lifespan=say_where_the_client_is)

Teacher = Annotated[Principal, allowed(Action.LESSON_TEACH)]
Receiver = Annotated[Principal, allowed(Action.LESSON_RECEIVE)]
Watcher = Annotated[Principal, allowed(Action.LESSON_WATCH)]
SignedIn = Annotated[User, signed_in()]


def _texts(lang: Lang) -> Markup:
    """Every ``live.*`` and ``lesson.error.*`` text, for the page's script."""
    keys = [k for k in MESSAGES if k.startswith(("live.", "lesson.error."))]
    doc = json.dumps({k: translate(lang, k) for k in keys}, ensure_ascii=False)
    return Markup(doc.replace("</", "<\\/"))  # noqa: S704 - JSON made here, not user input


def _page(
    request: Request, name: str, lang: Lang, config: dict[str, Any], **context: Any
) -> HTMLResponse:
    backend = "livekit" if request.app.state.services.livekit is not None else "embedded"
    config = {**config, "lang": lang, "media": backend}
    doc = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return render(
        request,
        name,
        lang,
        texts=_texts(lang),
        config=Markup(doc),
        media_backend=backend,
        livekit_bundle=BUNDLE_URL,
        **context,  # noqa: S704
    )


@router.get(BUNDLE_URL, dependencies=[public()], include_in_schema=False)
def livekit_bundle(services: ServicesDep) -> FileResponse:
    """livekit-client for the live pages, from ``node_modules`` (only with LiveKit)."""
    path = find_bundle() if services.livekit is not None else None
    if path is None:
        raise NotFound("livekit-client: run `npm ci` (or `make node_modules/.installed`)")
    return FileResponse(path, media_type="text/javascript")


@router.get("/lessons", response_class=HTMLResponse)
def lessons_page(request: Request, services: ServicesDep, lang: LangDep, user: SignedIn) -> Any:
    today = services.schedule.today()
    monday = today - timedelta(days=today.weekday())
    check = visible_to(user.principal(), user)
    views = [v for v in services.lessons.lessons_between(monday, monday + timedelta(days=6))
             if check(v)]  # fmt: skip
    rows = lesson_rows(services, views)
    for view, row in zip(views, rows, strict=True):
        row["time"] = (
            f"{view.starts_at.astimezone(BEIJING):%H:%M}–{view.ends_at.astimezone(BEIJING):%H:%M}"
        )
        row["link"] = _join_link(user, view.id, row)
    return render(
        request, "lessons.html", lang,
        today=[r for r in rows if r["day"] == today.isoformat()],
        week=[r for r in rows if r["day"] != today.isoformat()],
    )  # fmt: skip


def _join_link(user: User, lesson: str, row: dict[str, Any]) -> str | None:
    if row["state"] not in ("open", "live", "scheduled"):
        return None
    if user.role is Role.TEACHER:
        return f"/teach/{lesson}" if row["teacher_id"] == user.teacher_id else f"/watch/{lesson}"
    if user.role is Role.RECEIVING_CLASSROOM:
        mine = [r["classroom"] for r in row["receivers"]]
        return f"/receive/{mine[0]}" if mine else None
    if row["state"] == "scheduled":
        return None
    if user.role is Role.RESEARCHER:
        return f"/watch/{lesson}" if row["mode"] in ("master", "open") else None
    if user.role in (Role.INSPECTOR, Role.ADMIN):
        return f"/patrol?lesson={lesson}"
    return None


@router.get("/teach/{lesson}", response_class=HTMLResponse)
def teach_page(
    lesson: str, request: Request, services: ServicesDep, lang: LangDep, principal: Teacher
) -> Any:
    user: User = request.state.user
    place = seat_of(services, user, lesson, None)
    if place.role != Role.TEACHER:  # an observer of a master lesson watches at /watch
        raise LessonRefused("not_your_lesson", "this lesson is taught by another teacher")
    view = services.lessons.view(lesson)
    config = {"lesson": lesson, "identity": place.identity, "teacher": view.teacher_name}
    return _page(request, "teach.html", lang, config, view=view, beijing=BEIJING)


@router.get("/receive/{classroom}", response_class=HTMLResponse)
def receive_page(
    classroom: str, request: Request, services: ServicesDep, lang: LangDep, principal: Receiver
) -> Any:
    directory = services.lessons.directory()
    found = next((c for c in directory.classrooms if c.id == classroom), None)
    school = directory.school(found.school_id) if found else None
    if found is None or school is None:
        raise NotFound(classroom)
    authorize(principal, Action.LESSON_RECEIVE, Target.school(school.id, school.region)).enforce()
    name = school.name
    config = {"classroom": classroom, "identity": f"classroom:{classroom}", "name": name}
    return _page(request, "receive.html", lang, config, classroom_name=name)


@router.get("/watch/{lesson}", response_class=HTMLResponse)
def watch_page(
    lesson: str, request: Request, services: ServicesDep, lang: LangDep, user: SignedIn
) -> Any:
    """Observers of a master lesson (teachers, researchers): hidden, watch and listen."""
    place = seat_of(services, user, lesson, None)
    view = services.lessons.view(lesson)
    config = {"lesson": lesson, "identity": place.identity}
    return _page(request, "watch.html", lang, config, view=view, beijing=BEIJING)


@router.get("/patrol", response_class=HTMLResponse)
def patrol_page(
    request: Request, services: ServicesDep, lang: LangDep, principal: Watcher,
    lesson: str | None = None,
) -> Any:  # fmt: skip
    config = {"focus": lesson, "checklist": list(services.lessons.checklist)}
    return _page(request, "patrol.html", lang, config)
