"""Request-scoped dependencies: the services, the language, the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from identity.users import User
from web.i18n import COOKIE, Lang, pick_lang
from web.services import Services

SESSION_COOKIE = "sanke_session"


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def session_token(request: Request) -> str | None:
    """The bearer token, else the session cookie."""
    return bearer_token(request) or request.cookies.get(SESSION_COOKIE)


def current_user(request: Request, services: ServicesDep) -> User | None:
    """The signed-in user, if any; remembered on ``request.state`` for pages and errors."""
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    token = session_token(request)
    user = services.identity.authenticate(token, services.now()) if token else None
    request.state.user = user
    return user


def get_lang(request: Request) -> Lang:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(COOKIE))


LangDep = Annotated[Lang, Depends(get_lang)]
