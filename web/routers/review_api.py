"""Reviewing recordings over HTTP: listings, a recording's review data, comments,
replies, scores, clips, research groups and sessions, the XLSX export, and the signed
file links the player fetches. Rights: the route's rule checks the role, ``Reviews``
checks the recording (a recording the reader may not see is a 404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Protocol, runtime_checkable

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from identity.authorize import Principal
from identity.roles import Action
from identity.users import User
from recorder.errors import StorageKeyInvalid, StorageKeyMissing, StorageUnavailable
from recorder.review import Category, Comment, NewComment, Reply, Visibility
from recorder.review_errors import ReviewInvalid
from recorder.review_export import review_workbook
from web.deps import LangDep, ServicesDep
from web.file_links import Check, check_link, link_key
from web.reviews import deadline_from
from web.rights import allowed, public
from web.services import Services

router = APIRouter()

Viewer = Annotated[Principal, allowed(Action.RECORDING_VIEW)]
Files = Annotated[None, public()]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@runtime_checkable
class PresignedUrls(Protocol):
    """A store whose objects a browser fetches from the store itself (``S3Storage``)."""

    def presigned_url(self, key: str, expires: timedelta, filename: str | None = None) -> str: ...


def _user(services: Services, principal: Principal) -> User:
    return services.identity.user(principal.user_id)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def comment_json(comment: Comment, reader: int) -> dict[str, Any]:
    return {
        "id": comment.id, "at": comment.at, "until": comment.until,
        "category": comment.category.value, "text": comment.text,
        "rubric_item": comment.rubric_item, "value": comment.value,
        "visibility": comment.visibility.value, "group": comment.group,
        "author": {"id": comment.author_id, "name": comment.author},
        "created_at": comment.created_at.isoformat(), "mine": comment.author_id == reader,
        "replies": [reply_json(r, reader) for r in comment.replies],
    }  # fmt: skip


def reply_json(reply: Reply, reader: int) -> dict[str, Any]:
    return {"id": reply.id, "author": {"id": reply.author_id, "name": reply.author},
            "text": reply.text, "created_at": reply.created_at.isoformat(),
            "mine": reply.author_id == reader}  # fmt: skip


@router.get("/api/v1/recordings")
def list_recordings(
    services: ServicesDep, principal: Viewer, q: str = "", limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    rows = services.reviews.listing(_user(services, principal), q)
    return rows[max(0, offset) : max(0, offset) + max(1, min(limit, 200))]


@router.get("/api/v1/recordings/{recording}")
def get_recording(
    recording: str, request: Request, services: ServicesDep, principal: Viewer, lang: LangDep
) -> dict[str, Any]:
    return services.reviews.open(_user(services, principal), recording, lang, _address(request))


@router.put("/api/v1/recordings/{recording}/exemplary", status_code=204)
def mark_exemplary(
    recording: str,
    services: ServicesDep,
    principal: Viewer,
    exemplary: Annotated[bool, Body(embed=True)],
) -> Response:
    services.reviews.mark_exemplary(_user(services, principal), recording, exemplary)
    return Response(status_code=204)


@router.get("/api/v1/recordings/{recording}/comments")
def list_comments(recording: str, services: ServicesDep, principal: Viewer) -> list[dict[str, Any]]:
    user = _user(services, principal)
    return [comment_json(c, user.id) for c in services.reviews.comments(user, recording)]


@router.post("/api/v1/recordings/{recording}/comments", status_code=201)
def add_comment(
    recording: str,
    services: ServicesDep,
    principal: Viewer,
    doc: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    user = _user(services, principal)
    comment = services.reviews.comment(user, recording, _new_comment(doc))
    return comment_json(comment, user.id)


def _new_comment(doc: dict[str, Any]) -> NewComment:
    """The comment in a request body, or ``ReviewInvalid`` naming the field at fault."""
    try:
        category = Category(doc.get("category", "note"))
    except ValueError as error:
        raise ReviewInvalid("category", f"must be one of {', '.join(Category)}") from error
    try:
        visibility = Visibility(doc.get("visibility", "all"))
    except ValueError as error:
        raise ReviewInvalid("visibility", f"must be one of {', '.join(Visibility)}") from error
    return NewComment(
        at=_number(doc, "at"), until=_number(doc, "until", optional=True),
        category=category, text=_string(doc, "text"), visibility=visibility,
        group=_integer(doc, "group"), rubric_item=doc.get("rubric_item") or None,
        value=_integer(doc, "value"),
    )  # fmt: skip


def _number(doc: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = doc.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReviewInvalid(name, "must be a number of seconds")
    return float(value)


def _integer(doc: dict[str, Any], name: str) -> int | None:
    value = doc.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReviewInvalid(name, "must be a whole number")
    return value


def _string(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name, "")
    if not isinstance(value, str):
        raise ReviewInvalid(name, "must be text")
    return value


@router.post("/api/v1/recordings/{recording}/comments/{comment}/replies", status_code=201)
def add_reply(
    recording: str,
    comment: int,
    services: ServicesDep,
    principal: Viewer,
    text: Annotated[str, Body(embed=True)],
) -> dict[str, Any]:
    user = _user(services, principal)
    return reply_json(services.reviews.reply(user, recording, comment, text), user.id)


@router.delete("/api/v1/recordings/{recording}/comments/{comment}", status_code=204)
def delete_comment(
    recording: str, comment: int, services: ServicesDep, principal: Viewer
) -> Response:
    services.reviews.delete_comment(_user(services, principal), recording, comment)
    return Response(status_code=204)


@router.get("/api/v1/recordings/{recording}/scores")
def get_scores(recording: str, services: ServicesDep, principal: Viewer) -> dict[str, Any]:
    return services.reviews.scores(_user(services, principal), recording)


@router.put("/api/v1/recordings/{recording}/scores")
def put_scores(
    recording: str,
    services: ServicesDep,
    principal: Viewer,
    scores: Annotated[dict[str, int], Body(embed=True)],
) -> dict[str, Any]:
    return services.reviews.score(_user(services, principal), recording, scores)


@router.get("/api/v1/recordings/{recording}/clips")
def list_clips(recording: str, services: ServicesDep, principal: Viewer) -> list[dict[str, Any]]:
    return services.reviews.clips(_user(services, principal), recording)


@router.post("/api/v1/recordings/{recording}/clips", status_code=202)
def add_clip(
    recording: str,
    services: ServicesDep,
    principal: Viewer,
    doc: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    return services.reviews.clip(
        _user(services, principal), recording, _string(doc, "title"), _number(doc, "start"),
        _number(doc, "end"), _integer(doc, "group"),
    )  # fmt: skip


@router.get("/api/v1/recordings/{recording}/export.xlsx")
def export_xlsx(
    recording: str, request: Request, services: ServicesDep, principal: Viewer, lang: LangDep
) -> Response:
    user = _user(services, principal)
    review = services.reviews.open(user, recording, lang, _address(request))
    comments = [comment_json(c, user.id) for c in services.reviews.comments(user, recording)]
    scores = services.reviews.scores(user, recording)
    data = review_workbook(review, comments, scores)
    name = f"review-{recording}.xlsx"
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


# --- research groups and review sessions --------------------------------------------


def group_json(group: Any) -> dict[str, Any]:
    return {
        "id": group.id, "name": group.name, "region": group.region,
        "members": [{"user_id": m.user_id, "name": m.name, "lead": m.lead}
                    for m in group.members],
        "recordings": list(group.recordings),
    }  # fmt: skip


@router.get("/api/v1/groups")
def list_groups(services: ServicesDep, principal: Viewer) -> list[dict[str, Any]]:
    return [group_json(g) for g in services.reviews.groups(_user(services, principal))]


@router.post("/api/v1/groups", status_code=201)
def create_group(
    services: ServicesDep, principal: Viewer, name: Annotated[str, Body(embed=True)]
) -> dict[str, Any]:
    return group_json(services.reviews.create_group(_user(services, principal), name))


@router.get("/api/v1/groups/{group}/candidates")
def group_candidates(
    group: int, services: ServicesDep, principal: Viewer, q: str = ""
) -> list[dict[str, Any]]:
    """Accounts the group's lead may add, matching ``q`` (username or name)."""
    return services.reviews.candidates(_user(services, principal), group, q)


@router.post("/api/v1/groups/{group}/members", status_code=201)
def add_member(
    group: int,
    services: ServicesDep,
    principal: Viewer,
    user_id: Annotated[int, Body(embed=True)],
) -> dict[str, Any]:
    return group_json(services.reviews.add_member(_user(services, principal), group, user_id))


@router.delete("/api/v1/groups/{group}/members/{user_id}")
def remove_member(
    group: int, user_id: int, services: ServicesDep, principal: Viewer
) -> dict[str, Any]:
    return group_json(services.reviews.remove_member(_user(services, principal), group, user_id))


@router.post("/api/v1/groups/{group}/recordings")
def share_recordings(
    group: int,
    services: ServicesDep,
    principal: Viewer,
    recordings: Annotated[list[str], Body(embed=True)],
) -> dict[str, Any]:
    user = _user(services, principal)
    return group_json(services.reviews.share(user, group, recordings))


@router.get("/api/v1/sessions")
def list_sessions(services: ServicesDep, principal: Viewer) -> list[dict[str, Any]]:
    return services.reviews.sessions(_user(services, principal))


@router.post("/api/v1/groups/{group}/sessions", status_code=201)
def create_session(
    group: int,
    services: ServicesDep,
    principal: Viewer,
    doc: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    user = _user(services, principal)
    recordings = doc.get("recordings")
    if not isinstance(recordings, list) or not all(isinstance(r, str) for r in recordings):
        raise ReviewInvalid("recordings", "must be a list of recording ids")
    session = services.reviews.create_session(
        user, group, _string(doc, "title"),
        deadline_from(_string(doc, "deadline"), services.now()), recordings,
    )  # fmt: skip
    return {"id": session.id, "title": session.title, "group_id": session.group_id,
            "deadline": session.deadline.isoformat(),
            "recordings": list(session.recordings)}  # fmt: skip


# --- signed files -------------------------------------------------------------------


@router.get("/files/{recording}/{path:path}")
def serve_file(
    recording: str,
    path: str,
    services: ServicesDep,
    _: Files,
    exp: Annotated[str, Query()] = "",
    sig: Annotated[str, Query()] = "",
) -> Response:
    """A recording's file by a signed link (the signature is the credential); Range
    requests are answered with 206, as a <video> element seeking needs. From a remote
    store (S3), a 307 to a presigned URL of the object that lasts as long as the link:
    the browser follows it, and the store answers the Range requests."""
    check = check_link(link_key(services.secret), recording, path, exp, sig, services.now())
    if check is Check.BAD:
        return Response("invalid link", status_code=403, media_type="text/plain")
    if check is Check.EXPIRED:
        return Response("link expired: reload the page", status_code=403,
                        media_type="text/plain")  # fmt: skip
    key = f"assets/{recording}/{path}"
    storage = services.reviews.storage
    try:
        local = storage.local_path(key)
    except (StorageKeyInvalid, StorageKeyMissing):  # a traversal attempt reads as absent
        return Response("no such file", status_code=404, media_type="text/plain")
    except StorageUnavailable:
        return Response("the recordings store does not answer: try again in a minute",
                        status_code=503, media_type="text/plain")  # fmt: skip
    if local is None and isinstance(storage, PresignedUrls):  # a remote store serves it
        left = min(max(60, int(exp) - int(services.now().timestamp())), 7 * 86400)
        url = storage.presigned_url(key, timedelta(seconds=left))
        cache = f"private, max-age={min(left - 30, 3600)}"  # never past the URL's expiry
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": cache})
    if local is None or not local.is_file():
        return Response("no such file", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "private, max-age=3600"}
    return FileResponse(local, headers=headers)
