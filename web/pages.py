"""Rendering pages: templates with the language, the user and the live-state banner."""

from __future__ import annotations

from datetime import timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from identity.roles import POLICY, Action
from identity.users import User
from web.i18n import COOKIE, LANGS, Lang, translate

BEIJING = timezone(timedelta(hours=8), "CST")  # China keeps one zone, no daylight saving
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC_DIR = Path(__file__).parent / "static"


def switch_url(request: Request, lang: str) -> str:
    """This page in ``lang``, its other parameters kept (a drilled-down report stays put)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return "?" + urlencode([*kept, ("lang", lang)])


def render(
    request: Request,
    name: str,
    lang: Lang,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``name``; remembers a ``?lang=`` choice in a cookie."""
    services = request.app.state.services
    live = services.live
    user = getattr(request.state, "user", None)
    other = "en" if lang == "zh-CN" else "zh-CN"

    def can(action: str) -> bool:
        return isinstance(user, User) and Action(action) in POLICY[user.role]

    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "other_lang": other,
            "switch_url": switch_url(request, other),
            "t": partial(translate, lang),
            "user": user,
            "can": can,
            "beijing": BEIJING,
            "degraded": bool(live and live.health.degraded),
            **context,
        },
        status_code=status_code,
    )
    chosen = request.query_params.get("lang")
    if chosen in LANGS or chosen == "zh":
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response
