"""One's own account: the home page, profile, password, two-step verification."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from identity.errors import IdentityError, NotAllowed
from identity.roles import Role
from identity.scope import region_prefix
from identity.service import Actor
from identity.users import User
from web.deps import LangDep, ServicesDep
from web.errors import problem_for
from web.i18n import Lang
from web.pages import render
from web.rights import signed_in
from web.schemas import SchoolOut, UserOut
from web.services import Services

router = APIRouter()

SignedIn = Annotated[User, signed_in()]


def actor_of(request: Request, user: User) -> Actor:
    address = request.client.host if request.client else None
    return Actor(user.principal(), user.username, address)


@router.get("/api/v1/me")
def me(user: SignedIn) -> UserOut:
    return UserOut.of(user)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, services: ServicesDep, lang: LangDep, user: SignedIn) -> HTMLResponse:
    region = user.scope.region
    prefix = region_prefix(region) if region else None
    schools = services.directory.schools_in(prefix, user.scope.school)
    names = {code: r.name for code, r in services.directory.regions().items()}
    if region is not None:
        scope_label = names.get(region, region)
    else:
        scope_label = schools[0].name if schools else str(user.scope.school)
    groups: dict[str, list[SchoolOut]] = {}
    for school in schools:
        groups.setdefault(names.get(school.region, school.region), []).append(SchoolOut.of(school))
    return render(request, "home.html", lang, scope_label=scope_label, groups=groups,
                  today=_todays_lessons(services, {s.id for s in schools}))  # fmt: skip


def _todays_lessons(services: Services, schools: set[str]) -> list[dict[str, str]]:
    """Today's published lessons that involve one of ``schools`` (teaching or receiving)."""
    directory = services.schedule.directory.load()
    teacher = {t.id: t for t in directory.teachers}
    klass = {c.id: c for c in directory.classes}
    name = {s.id: s.name for s in directory.schools}
    rows = []
    for o in services.schedule.plans.occurrences(services.schedule.today(),
                                                 services.schedule.today()):  # fmt: skip
        le = o.lesson
        out = teacher[le.teacher_id].school_id if le.teacher_id in teacher else ""
        points = [klass[c].school_id for c in le.class_ids if c in klass]
        if out not in schools and not schools.intersection(points):
            continue
        rows.append({
            "time": f"{o.start:%H:%M}–{o.end:%H:%M}",
            "subject": f"{le.subject} {le.grade}年级",
            "teacher": teacher[le.teacher_id].name if le.teacher_id in teacher else le.teacher_id,
            "from": name.get(out, out),
            "to": "、".join(dict.fromkeys(name.get(p, p) for p in points)),
        })  # fmt: skip
    return rows


def _page(
    request: Request, lang: Lang, user: User, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    return render(
        request,
        "account.html",
        lang,
        status_code=status_code,
        totp_allowed=user.role is not Role.RECEIVING_CLASSROOM,
        **extra,
    )


def _refused(
    request: Request, lang: Lang, user: User, exc: IdentityError, **extra: Any
) -> HTMLResponse:
    problem = problem_for(exc, lang)
    return _page(request, lang, user, problem.status, error=problem.message, **extra)


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, lang: LangDep, user: SignedIn) -> HTMLResponse:
    return _page(request, lang, user)


@router.post("/account/totp", response_class=HTMLResponse)
def totp_begin(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    user: SignedIn,
    current_password: Annotated[str, Form(max_length=256)],
) -> HTMLResponse:
    try:
        if user.role is Role.RECEIVING_CLASSROOM:  # a kiosk has nobody to read a phone
            raise NotAllowed("role", "device accounts do not use a second factor")
        secret, uri = services.identity.begin_totp(
            actor_of(request, user), user, current_password, services.now()
        )
    except IdentityError as exc:
        return _refused(request, lang, user, exc)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return _page(request, lang, user, secret=secret, uri=uri, qr=qr)


@router.post("/account/totp/confirm", response_class=HTMLResponse)
def totp_confirm(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    user: SignedIn,
    code: Annotated[str, Form(max_length=12)],
    secret: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    try:
        services.identity.confirm_totp(actor_of(request, user), user, code, services.now())
    except IdentityError as exc:
        return _refused(request, lang, user, exc, secret=secret)
    request.state.user = services.identity.user(user.id)
    return _page(request, lang, user, saved=True)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    user: SignedIn,
    current_password: Annotated[str, Form(max_length=256)],
    new_password: Annotated[str, Form(max_length=256)],
) -> HTMLResponse:
    try:
        services.identity.change_password(
            actor_of(request, user), user, current_password, new_password, services.now()
        )
    except IdentityError as exc:
        return _refused(request, lang, user, exc)
    return _page(request, lang, user, saved=True)
