"""Request and response bodies of the API, apart from the domain types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from identity.audit import AuditEntry
from identity.roles import Role
from identity.users import User
from scheduler.model import School


class TokenRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    totp_code: str | None = Field(None, max_length=12)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    region: str | None
    school: str | None
    totp_enabled: bool
    active: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            region=user.scope.region,
            school=user.scope.school,
            totp_enabled=user.totp_enabled,
            active=user.active,
        )


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: Role
    region: str | None = Field(None, max_length=9)
    school: str | None = Field(None, max_length=64)


class PasswordBody(BaseModel):
    password: str = Field(max_length=256)


class AuditOut(BaseModel):
    at: datetime
    action: str
    outcome: str
    target: str
    actor: str | None
    address: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(
            at=entry.at,
            action=entry.action,
            outcome=entry.outcome.value,
            target=entry.target,
            actor=entry.actor,
            address=entry.address,
            detail=dict(entry.detail),
        )


class SchoolOut(BaseModel):
    id: str
    name: str
    kind: str
    region: str

    @classmethod
    def of(cls, school: School) -> SchoolOut:
        return cls(id=school.id, name=school.name, kind=school.kind.value, region=school.region)
