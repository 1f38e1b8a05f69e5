"""Accounts: list those in one's scope; create accounts one may grant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from identity.authorize import Principal
from identity.roles import Action
from identity.service import Actor
from web.accounts import create_account
from web.deps import ServicesDep
from web.rights import allowed
from web.schemas import PasswordBody, UserCreate, UserOut

router = APIRouter(prefix="/api/v1/users")

Manager = Annotated[Principal, allowed(Action.USER_MANAGE)]


@router.get("")
def list_users(
    services: ServicesDep, principal: Annotated[Principal, allowed(Action.USER_READ)]
) -> list[UserOut]:
    return [UserOut.of(u) for u in services.identity.users_visible_to(principal)]


@router.post("", status_code=201)
def create_user(
    body: UserCreate,
    request: Request,
    services: ServicesDep,
    principal: Manager,
) -> UserOut:
    actor = Actor(principal, principal.username, _address(request))
    user = create_account(
        services,
        actor,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        role=body.role,
        region=body.region,
        school=body.school,
    )
    return UserOut.of(user)


@router.post("/{user_id}/deactivate")
def deactivate(
    user_id: int, request: Request, services: ServicesDep, principal: Manager
) -> UserOut:
    actor = Actor(principal, principal.username, _address(request))
    return UserOut.of(services.identity.set_active(actor, user_id, False, services.now()))


@router.post("/{user_id}/activate")
def activate(user_id: int, request: Request, services: ServicesDep, principal: Manager) -> UserOut:
    actor = Actor(principal, principal.username, _address(request))
    return UserOut.of(services.identity.set_active(actor, user_id, True, services.now()))


@router.post("/{user_id}/password", status_code=204)
def reset_password(
    user_id: int, body: PasswordBody, request: Request, services: ServicesDep, principal: Manager
) -> None:
    actor = Actor(principal, principal.username, _address(request))
    services.identity.reset_password(actor, user_id, body.password, services.now())


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None
