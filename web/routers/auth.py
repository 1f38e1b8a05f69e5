"""Sign in and out: the login page (cookie session) and API bearer tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from identity.errors import IdentityError, SecondFactorRequired
from identity.sessions import API, SessionKind, policy_for
from identity.users import User
from web.deps import SESSION_COOKIE, LangDep, ServicesDep, session_token
from web.errors import problem_for
from web.pages import render
from web.rights import public, signed_in
from web.schemas import TokenRequest, TokenResponse

router = APIRouter()


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _safe_next(target: str | None) -> str:
    """Only local paths, so the login form cannot bounce people to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse, dependencies=[public()])
def login_page(request: Request, lang: LangDep, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", lang, next=_safe_next(next), username="", need_totp=False)


@router.post("/login", response_class=HTMLResponse, dependencies=[public()])
def login_submit(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    totp_code: Annotated[str | None, Form(max_length=12)] = None,
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    try:
        login = services.identity.login(
            username,
            password,
            services.now(),
            totp_code=totp_code or None,
            address=_address(request),
            user_agent=request.headers.get("user-agent"),
        )
    except IdentityError as exc:
        problem = problem_for(exc, lang)
        response = render(
            request,
            "login.html",
            lang,
            status_code=problem.status,
            next=_safe_next(next),
            username=username,
            need_totp=isinstance(exc, SecondFactorRequired) or bool(totp_code),
            error=problem.message,
        )
        for key, value in (problem.headers or {}).items():
            response.headers[key] = value
        return response
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    policy = policy_for(login.user.role, SessionKind.PAGE)
    redirect.set_cookie(
        SESSION_COOKIE,
        login.token,
        max_age=int(policy.absolute.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=services.settings.base_url.startswith("https://"),
    )
    return redirect


@router.post("/logout", dependencies=[signed_in()])
def logout(request: Request, services: ServicesDep) -> Response:
    token = session_token(request)
    if token:
        services.identity.logout(token, services.now(), _address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/api/v1/auth/token", dependencies=[public()])
def issue_token(body: TokenRequest, request: Request, services: ServicesDep) -> TokenResponse:
    login = services.identity.login(
        body.username,
        body.password,
        services.now(),
        totp_code=body.totp_code,
        address=_address(request),
        user_agent=request.headers.get("user-agent"),
        kind=SessionKind.API,
    )
    return TokenResponse(access_token=login.token, expires_in=int(API.absolute.total_seconds()))


@router.delete("/api/v1/auth/token", status_code=204)
def revoke_token(
    request: Request, services: ServicesDep, user: Annotated[User, signed_in()]
) -> Response:
    token = session_token(request)
    if token:
        services.identity.logout(token, services.now(), _address(request))
    return Response(status_code=204)
