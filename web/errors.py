"""Domain errors → HTTP answers, in one place, with a message a person can act on.

API paths get JSON ``{"error": code, "message": text}`` in the request's language;
pages get a redirect to the login page or a short error page.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from identity.errors import (
    CurrentPasswordWrong,
    IdentityError,
    InvalidCredentials,
    InvalidTotpCode,
    InvalidUser,
    LoginThrottled,
    NotAllowed,
    SecondFactorRequired,
    UserExists,
    UserNotFound,
    WeakPassword,
)
from kernel.errors import LiveStateUnavailable
from recorder.errors import StorageUnavailable
from recorder.review_errors import ReviewError, ReviewInvalid, ReviewNotFound, ReviewRefused
from rooms.errors import ControlRefused, InspectionInvalid, LessonRefused, RoomsError
from scheduler.errors import ImportFailed
from web.deps import get_lang
from web.i18n import Lang, translate
from web.pages import render
from web.pdf import PdfUnavailable
from web.report_scope import ReportRefused
from web.schedule import ScheduleRequestInvalid


class NotFound(Exception):
    """The object named in the request does not exist."""


@dataclass(frozen=True)
class Problem:
    status: int
    code: str
    message: str
    headers: dict[str, str] | None = None


def problem_for(exc: Exception, lang: Lang) -> Problem:
    """The HTTP status, error code and translated message for a domain error."""

    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    match exc:
        case LoginThrottled():
            seconds = exc.retry_after
            return Problem(
                429,
                "throttled",
                t("error.throttled", seconds=seconds),
                {"Retry-After": str(seconds)},
            )
        case SecondFactorRequired():
            return Problem(401, "second_factor_required", t("error.second_factor"))
        case InvalidCredentials():
            return Problem(401, "invalid_credentials", t("error.credentials"))
        case NotAllowed(reason="login"):
            return Problem(401, "login_required", t("error.login"))
        case NotAllowed():
            return Problem(403, f"forbidden_{exc.reason}", t(f"error.{exc.reason}"))
        case WeakPassword():
            return Problem(422, "weak_password", t("error.weak_password"))
        case InvalidUser():
            return Problem(422, "invalid", t("error.invalid", field=exc.field, detail=str(exc)))
        case UserExists():
            return Problem(409, "user_exists", t("error.user_exists"))
        case UserNotFound() | NotFound():
            return Problem(404, "not_found", t("error.not_found"))
        case CurrentPasswordWrong():
            return Problem(422, "current_password", t("error.current_password"))
        case InvalidTotpCode():
            return Problem(422, "totp_code", t("error.totp_code"))
        case LiveStateUnavailable():
            return Problem(503, "live_state_unavailable", t("error.live_state"))
        case ImportFailed():
            return Problem(422, "import_failed", t("schedule.error.import_failed",
                                                   count=len(exc.problems)))  # fmt: skip
        case ScheduleRequestInvalid(code="no_plan"):
            return Problem(404, "not_found", t("schedule.error.no_plan", **exc.values))
        case ScheduleRequestInvalid():
            return Problem(422, f"schedule_{exc.code}", t(f"schedule.error.{exc.code}",
                                                          **exc.values))  # fmt: skip
        case LessonRefused(code="no_lesson"):
            return Problem(404, "no_lesson", t("lesson.error.no_lesson"))
        case LessonRefused(code="login"):
            return Problem(401, "login_required", t("error.login"))
        case LessonRefused(code="not_open" | "ended" | "cancelled" | "not_live"):
            return Problem(409, exc.code, t(f"lesson.error.{exc.code}"))
        case LessonRefused():
            return Problem(403, exc.code, t(f"lesson.error.{exc.code}"))
        case ControlRefused() | InspectionInvalid():
            return Problem(422, exc.code, t(f"lesson.error.{exc.code}"))
        case RoomsError():
            return Problem(422, exc.code, t("lesson.error.bad_report"))
        case ReviewInvalid():
            return Problem(422, f"invalid_{exc.field}", t(f"review.invalid.{exc.field}"))
        case ReviewRefused():
            return Problem(403, exc.code, t(f"review.refused.{exc.code}"))
        case ReviewNotFound():
            return Problem(404, "not_found", t("review.not_found"))
        case ReportRefused(code="other_region" | "other_school"):
            return Problem(403, exc.code, t(f"report.refused.{exc.code}"))
        case ReportRefused():
            return Problem(400, exc.code, t(f"report.refused.{exc.code}"))
        case PdfUnavailable():
            return Problem(503, "pdf_unavailable", t("report.error.pdf"))
        case StorageUnavailable():
            return Problem(503, "storage_unavailable", t("error.storage"))
    return Problem(500, "internal", "internal error")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def install(app: FastAPI) -> None:
    """Register the handlers for every domain error Sanke maps."""

    async def handle(request: Request, exc: Exception) -> Response:
        lang = get_lang(request)
        problem = problem_for(exc, lang)
        if _is_api(request):
            body: dict[str, object] = {"error": problem.code, "message": problem.message}
            if isinstance(exc, ImportFailed):  # every problem, where a person can find it
                body["problems"] = [vars(p) for p in exc.problems]
            return JSONResponse(
                body,
                status_code=problem.status,
                headers=problem.headers,
            )
        if problem.code == "login_required":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        response = render(
            request, "error.html", lang, status_code=problem.status, message=problem.message
        )
        for key, value in (problem.headers or {}).items():
            response.headers[key] = value
        return response

    for error in (IdentityError, LiveStateUnavailable, NotFound, ImportFailed,
                  ScheduleRequestInvalid, RoomsError, ReviewError, ReportRefused,
                  PdfUnavailable, StorageUnavailable):  # fmt: skip
        app.add_exception_handler(error, handle)
