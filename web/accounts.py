"""Account creation as the API and the admin page both do it.

Resolves a school-scoped account's township (the directory knows it), so the
rights check and the audit log see where the account lives.
"""

from __future__ import annotations

from identity.authorize import scope_target
from identity.errors import InvalidUser
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor
from identity.users import NewUser, User
from web.services import Services


def create_account(
    services: Services,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    region: str | None,
    school: str | None,
) -> User:
    scope = Scope(region=region or None, school=school or None)
    home_region = scope.region
    if scope.school is not None:
        found = services.directory.school(scope.school)
        if found is None:
            raise InvalidUser("school", f"no school {scope.school!r}")
        home_region = found.region
    spec = NewUser(username, display_name, password, role, scope)
    return services.identity.create_user(
        actor, spec, scope_target(scope, home_region), home_region, services.now()
    )
