"""Admin pages: accounts in one's scope (list, create, deactivate) and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from identity.authorize import Principal
from identity.errors import IdentityError
from identity.roles import GRANTABLE, Action, Role
from identity.scope import region_prefix
from identity.service import Actor
from web.accounts import create_account
from web.deps import LangDep, ServicesDep
from web.errors import problem_for
from web.i18n import Lang
from web.pages import render
from web.rights import allowed
from web.services import Services

router = APIRouter(prefix="/admin")

# the create form offers the most common accounts first
_FORM_ORDER = [
    Role.TEACHER,
    Role.RECEIVING_CLASSROOM,
    Role.SCHOOL_ADMIN,
    Role.INSPECTOR,
    Role.RESEARCHER,
    Role.ADMIN,
]

Reader = Annotated[Principal, allowed(Action.USER_READ)]
Manager = Annotated[Principal, allowed(Action.USER_MANAGE)]


def _users_page(
    request: Request,
    services: Services,
    lang: Lang,
    principal: Principal,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    scope = principal.scope
    prefix = region_prefix(scope.region) if scope.region else None
    regions = services.directory.regions()
    region_choices = [
        r for code, r in sorted(regions.items()) if prefix is not None and code.startswith(prefix)
    ]
    schools = services.directory.schools_in(prefix, scope.school)
    names = {code: r.name for code, r in regions.items()} | {
        school.id: school.name for school in services.directory.schools_in(None, None)
    }
    return render(
        request,
        "users.html",
        lang,
        status_code=status_code,
        users=services.identity.users_visible_to(principal),
        grantable=sorted(GRANTABLE.get(principal.role, frozenset()), key=_FORM_ORDER.index),
        schools=schools,
        names=names,
        regions=region_choices,
        me=principal.user_id,
        **extra,
    )


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal, principal.username, request.client.host if request.client else None)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, services: ServicesDep, lang: LangDep, principal: Reader
) -> HTMLResponse:
    return _users_page(request, services, lang, principal)


@router.post("/users", response_class=HTMLResponse)
def users_create(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    principal: Manager,
    username: Annotated[str, Form(max_length=64)],
    display_name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    role: Annotated[Role, Form()],
    place: Annotated[str, Form(max_length=80)],
) -> HTMLResponse:
    kind, _, value = place.partition(":")
    form = {"username": username, "display_name": display_name, "role": role, "place": place}
    try:
        user = create_account(
            services,
            _actor(request, principal),
            username=username.strip().lower(),
            display_name=display_name,
            password=password,
            role=role,
            region=value if kind == "region" else None,
            school=value if kind == "school" else None,
        )
    except IdentityError as exc:
        problem = problem_for(exc, lang)
        return _users_page(
            request, services, lang, principal, problem.status, error=problem.message, form=form
        )
    return _users_page(request, services, lang, principal, created=user.username)


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
def users_set_active(
    user_id: int,
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    principal: Manager,
    active: Annotated[bool, Form()],
) -> HTMLResponse:
    try:
        services.identity.set_active(_actor(request, principal), user_id, active, services.now())
    except IdentityError as exc:
        problem = problem_for(exc, lang)
        return _users_page(
            request, services, lang, principal, problem.status, error=problem.message
        )
    return _users_page(request, services, lang, principal, saved=True)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    principal: Annotated[Principal, allowed(Action.AUDIT_READ)],
) -> HTMLResponse:
    entries = services.identity.audit_visible_to(principal, 300)
    return render(request, "audit.html", lang, entries=entries)
