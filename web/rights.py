"""Every route declares exactly one rule; ``check_rules`` refuses an app that has not.

Rules are FastAPI dependencies built here: ``public()``, ``signed_in()`` or
``allowed(action)``. Each calls ``identity.authorize.authorize``, the one
authorisation function. Checks that depend on a particular object (this school,
this lesson) call ``authorize`` again with that object as the target. ``monitoring()``
is for machines, not people: it checks where the request comes from, or a token.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketException
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import BaseRoute, Mount

from identity.authorize import Principal, authorize
from identity.roles import Action
from identity.users import User
from web.deps import SESSION_COOKIE, ServicesDep, bearer_token, current_user
from web.services import Services

_RULE = "__sanke_rule__"
POLICY_VIOLATION = 1008  # RFC 6455 close code: the page must sign in again

#: Routes FastAPI adds itself (API docs, development only) and the static files.
FRAMEWORK_ROUTES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
STATIC_MOUNTS = frozenset({"/static"})
#: Mounted apps that check their own credential on every request: media grants.
GRANT_MOUNTS = frozenset({"/media"})
#: Headers a reverse proxy adds: a request that has one did not start on this machine.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@dataclass(frozen=True)
class Rule:
    name: str  # "public", "signed_in" or an Action value


class UncoveredRoute(Exception):
    """A route has no rule (or more than one); the message lists them."""


def _tag(dependency: Callable[..., Any], rule: Rule) -> Callable[..., Any]:
    setattr(dependency, _RULE, rule)
    return dependency


def public() -> Any:
    """Anyone, signed in or not (the login page, health)."""

    async def rule_public() -> None:
        return None

    return Depends(_tag(rule_public, Rule("public")))


def signed_in() -> Any:
    """Any signed-in user, acting on their own account (``account.self``)."""

    def rule_signed_in(user: Annotated[User | None, Depends(current_user)]) -> User:
        principal = user.principal() if user is not None else None
        authorize(principal, Action.ACCOUNT_SELF, None).enforce()
        assert user is not None
        return user

    return Depends(_tag(rule_signed_in, Rule("signed_in")))


def signed_in_socket() -> Any:
    """A WebSocket of a signed-in user (session cookie); refused before it is accepted."""

    def rule_signed_in_socket(websocket: WebSocket) -> User:
        services: Services = websocket.app.state.services
        token = websocket.cookies.get(SESSION_COOKIE)
        user = services.identity.authenticate(token, services.now()) if token else None
        principal = user.principal() if user is not None else None
        if user is None or not authorize(principal, Action.ACCOUNT_SELF, None).allowed:
            raise WebSocketException(code=POLICY_VIOLATION, reason="login_required")
        return user

    return Depends(_tag(rule_signed_in_socket, Rule("signed_in")))


def allowed(action: Action) -> Any:
    """A signed-in user whose role may do ``action`` (scope checked on the object)."""

    def rule_allowed(user: Annotated[User | None, Depends(current_user)]) -> Principal:
        principal = user.principal() if user is not None else None
        authorize(principal, action, None).enforce()
        assert principal is not None
        return principal

    return Depends(_tag(rule_allowed, Rule(action.value)))


def monitoring() -> Any:
    """A monitoring scraper (Prometheus): a request from this machine that no proxy
    forwarded, or one with ``Authorization: Bearer <SANKE_METRICS_TOKEN>``. Anyone else
    gets exactly what an unknown path answers, so the internet does not learn of it."""

    def rule_monitoring(request: Request, services: ServicesDep) -> None:
        token = services.settings.metrics_token
        expected = token.get_secret_value() if token is not None else ""
        host = request.client.host if request.client else ""
        if not may_monitor(host, request.headers, bearer_token(request), expected):
            raise HTTPException(status_code=404)

    return Depends(_tag(rule_monitoring, Rule("monitoring")))


def may_monitor(host: str, headers: Mapping[str, str], token: str | None, expected: str) -> bool:
    """Loopback and not forwarded by a proxy, or the right token (``expected`` empty: none
    is right). Behind nginx, uvicorn puts the real client in ``host`` (X-Forwarded-For)."""
    if expected and token is not None and hmac.compare_digest(token.encode(), expected.encode()):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback and not any(name in headers for name in PROXY_HEADERS)


def _rules(dependant: Dependant) -> Iterator[Rule]:
    rule = getattr(dependant.call, _RULE, None)
    if rule is not None:
        yield rule
    for sub in dependant.dependencies:
        yield from _rules(sub)


def _routes(app: FastAPI) -> Iterator[tuple[str, BaseRoute, Dependant | None]]:
    """Every route as the app serves it (path with prefixes), with its dependant."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        routed = isinstance(route, APIRoute | APIWebSocketRoute)
        dependant = getattr(context, "dependant", None) if routed else None
        yield context.path or "?", route, dependant


def _route_entries(app: FastAPI) -> list[tuple[str, list[Rule]]]:
    entries: list[tuple[str, list[Rule]]] = []
    for path, route, dependant in _routes(app):
        if isinstance(route, APIRoute):
            rules = list(_rules(dependant or route.dependant))
            entries.extend((f"{method} {path}", rules) for method in sorted(route.methods or ()))
        elif isinstance(route, APIWebSocketRoute):
            entries.append((f"WS {path}", list(_rules(dependant or route.dependant))))
    return entries


def route_rules(app: FastAPI) -> dict[str, list[Rule]]:
    """``"GET /path"`` → the rules its dependencies declare (``check_rules`` refuses twins)."""
    return dict(_route_entries(app))


def check_rules(app: FastAPI) -> None:
    """Raise ``UncoveredRoute`` unless every route has exactly one rule.

    The same method and path registered twice is refused as well: the first one
    serves the requests, so a check that looked at the second would be fooled.
    """
    entries = _route_entries(app)
    seen = Counter(key for key, _ in entries)
    problems = [f"{key}: registered {n} times" for key, n in seen.items() if n > 1]
    problems += [f"{key}: {len(rules)} rules" for key, rules in entries if len(rules) != 1]
    for path, route, _ in _routes(app):
        if isinstance(route, APIRoute | APIWebSocketRoute):
            continue
        if isinstance(route, Mount) and path in STATIC_MOUNTS | GRANT_MOUNTS:
            continue
        if path not in FRAMEWORK_ROUTES:
            problems.append(f"{path}: not an API route, so it cannot carry a rule")
    if problems:
        raise UncoveredRoute("routes without exactly one rule: " + "; ".join(problems))
