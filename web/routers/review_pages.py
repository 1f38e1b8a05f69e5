"""Review pages: the recordings list with the reader's review sessions, the research
groups page (``/groups``), the review player (``/review/{recording}``) and its printable
record."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from identity.authorize import Principal
from identity.roles import REGION_ROLES, Action
from web.deps import LangDep, ServicesDep
from web.i18n import MESSAGES, Lang, translate
from web.pages import render
from web.rights import allowed
from web.routers.review_api import comment_json, group_json

router = APIRouter()

Viewer = Annotated[Principal, allowed(Action.RECORDING_VIEW)]


def _json(doc: Any) -> Markup:
    # every "<" escaped: user text such as "<!--<script>" cannot end or nest the element
    text = json.dumps(doc, ensure_ascii=False).replace("<", "\\u003c")
    return Markup(text)  # noqa: S704 - JSON made here, "<" escaped


def _texts(lang: Lang, prefixes: tuple[str, ...] = ("review.",)) -> Markup:
    return _json({k: translate(lang, k) for k in MESSAGES if k.startswith(prefixes)})


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/recordings", response_class=HTMLResponse)
def recordings_page(
    request: Request, services: ServicesDep, lang: LangDep, principal: Viewer, q: str = ""
) -> Any:
    user = services.identity.user(principal.user_id)
    groups = services.reviews.groups(user)
    return render(
        request, "recordings.html", lang,
        rows=services.reviews.listing(user, q), q=q,
        groups=[{"id": g.id, "name": g.name} for g in groups],
        sessions=services.reviews.sessions(user),
    )  # fmt: skip


SHAREABLE = ("recording", "subject", "grade", "teacher", "school", "day", "state")


@router.get("/groups", response_class=HTMLResponse)
def groups_page(request: Request, services: ServicesDep, lang: LangDep, principal: Viewer) -> Any:
    """Research groups (网络研修共同体): set one up, its members, shared recordings and
    review sessions; the page's script does the changes through the groups API."""
    user = services.identity.user(principal.user_id)
    reviews = services.reviews
    may_create = user.role in REGION_ROLES  # as Reviews.create_group has it
    config = {
        "me": {"user_id": user.id, "may_create": may_create},
        "groups": [{**group_json(g), "may_change": reviews.may_change(user, g)}
                   for g in reviews.groups(user)],
        "sessions": reviews.sessions(user),
        "recordings": [{k: row[k] for k in SHAREABLE} for row in reviews.listing(user)],
    }  # fmt: skip
    return render(request, "groups.html", lang, may_create=may_create, config=_json(config),
                  texts=_texts(lang, ("review.", "role.")))  # fmt: skip


@router.get("/review/{recording}", response_class=HTMLResponse)
def review_page(
    recording: str, request: Request, services: ServicesDep, lang: LangDep, principal: Viewer
) -> Any:
    user = services.identity.user(principal.user_id)
    review = services.reviews.open(user, recording, lang, _address(request))
    return render(request, "review.html", lang, review=review, config=_json(review),
                  texts=_texts(lang))  # fmt: skip


@router.get("/review/{recording}/print", response_class=HTMLResponse)
def review_print(
    recording: str, request: Request, services: ServicesDep, lang: LangDep, principal: Viewer
) -> Any:
    user = services.identity.user(principal.user_id)
    review = services.reviews.open(user, recording, lang, _address(request))
    comments = [comment_json(c, user.id) for c in services.reviews.comments(user, recording)]
    scores = services.reviews.scores(user, recording)
    return render(request, "review_print.html", lang, review=review, comments=comments,
                  scores=scores)  # fmt: skip
