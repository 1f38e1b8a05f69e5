"""The one authorisation function every endpoint's rule calls."""

from __future__ import annotations

from dataclasses import dataclass

from identity.errors import NotAllowed
from identity.roles import GRANTABLE, POLICY, Action, Role
from identity.scope import Scope, Target


@dataclass(frozen=True)
class Principal:
    """An authenticated user, as the rights check sees it."""

    user_id: int
    username: str
    role: Role
    scope: Scope


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "ok", "login", "role" or "scope"

    def enforce(self) -> None:
        """Raise ``NotAllowed`` unless allowed."""
        if not self.allowed:
            raise NotAllowed(self.reason, _MESSAGES[self.reason])


_MESSAGES = {
    "login": "sign in first",
    "role": "your role may not do this",
    "scope": "this is outside your region or school",
}


def authorize(principal: Principal | None, action: Action, target: Target | None) -> Decision:
    """May ``principal`` do ``action`` on ``target``?

    ``target`` ``None`` means "within the principal's own scope" (a listing that the
    store filters by scope). Role first, then scope.
    """
    if principal is None:
        return Decision(False, "login")
    if action not in POLICY[principal.role]:
        return Decision(False, "role")
    if target is not None and not principal.scope.covers(target):
        return Decision(False, "scope")
    return Decision(True, "ok")


def may_grant(principal: Principal, role: Role, target: Target) -> Decision:
    """May ``principal`` create or change an account with ``role`` in ``target``?

    ``target`` is the new account's scope as a target: for a school scope, the
    school together with its township's code, so regional admins are checked too.
    """
    decision = authorize(principal, Action.USER_MANAGE, target)
    if decision.allowed and role not in GRANTABLE.get(principal.role, frozenset()):
        return Decision(False, "role")
    return decision


def scope_target(scope: Scope, school_region: str | None) -> Target:
    """The target a scope stands for; a school scope needs its township's code."""
    if scope.school is not None:
        return Target(
            frozenset({school_region}) if school_region else frozenset(),
            frozenset({scope.school}),
        )
    assert scope.region is not None
    return Target(frozenset({scope.region}), frozenset())
