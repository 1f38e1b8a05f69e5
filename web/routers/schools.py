"""Schools of the reader's region or school."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from identity.authorize import Principal, authorize
from identity.roles import Action
from identity.scope import Target, region_prefix
from web.deps import ServicesDep
from web.errors import NotFound
from web.rights import allowed
from web.schemas import SchoolOut

router = APIRouter(prefix="/api/v1/schools")

Reader = Annotated[Principal, allowed(Action.DIRECTORY_READ)]


@router.get("")
def list_schools(services: ServicesDep, principal: Reader) -> list[SchoolOut]:
    scope = principal.scope
    prefix = region_prefix(scope.region) if scope.region else None
    return [SchoolOut.of(s) for s in services.directory.schools_in(prefix, scope.school)]


@router.get("/{school_id}")
def get_school(school_id: str, services: ServicesDep, principal: Reader) -> SchoolOut:
    school = services.directory.school(school_id)
    if school is None:
        raise NotFound(f"no school {school_id!r}")
    authorize(principal, Action.DIRECTORY_READ, Target.school(school.id, school.region)).enforce()
    return SchoolOut.of(school)
