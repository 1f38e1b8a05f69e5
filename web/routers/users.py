"""Accounts: list those in one's scope; create accounts one may grant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from identity.authorize import Principal, scope_target
from identity.errors import InvalidUser
from identity.roles import Action
from identity.scope import Scope
from identity.service import Actor
from identity.users import NewUser
from web.deps import ServicesDep
from web.rights import allowed
from web.schemas import UserCreate, UserOut

router = APIRouter(prefix="/api/v1/users")


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
    principal: Annotated[Principal, allowed(Action.USER_MANAGE)],
) -> UserOut:
    scope = Scope(region=body.region, school=body.school)
    home_region = scope.region
    if scope.school is not None:
        school = services.directory.school(scope.school)
        if school is None:
            raise InvalidUser("school", f"no school {scope.school!r}")
        home_region = school.region
    actor = Actor(principal, principal.username, _address(request))
    spec = NewUser(body.username, body.display_name, body.password, body.role, scope)
    user = services.identity.create_user(
        actor, spec, scope_target(scope, home_region), home_region, services.now()
    )
    return UserOut.of(user)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None
