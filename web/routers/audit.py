"""The audit log, newest first, limited to the reader's region."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from identity.authorize import Principal
from identity.roles import Action
from web.deps import ServicesDep
from web.rights import allowed
from web.schemas import AuditOut

router = APIRouter(prefix="/api/v1/audit")


@router.get("")
def list_audit(
    services: ServicesDep,
    principal: Annotated[Principal, allowed(Action.AUDIT_READ)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    return [AuditOut.of(e) for e in services.identity.audit_visible_to(principal, limit)]
