"""Report pages (报表), all drawn on the server: the indicators dashboard (``/reports``), the
lessons behind a figure (``/reports/lessons``) and the printable progress report
(``/reports/progress``, and its PDF ``/reports/progress.pdf``).

Query parameters: ``from``, ``to`` (ISO dates, Beijing; default the last four weeks),
``region`` (division code), ``school``, ``subject``, ``teacher``, ``group`` (default one
level below what the filter covers) and, for the lesson list, ``status``. The reader's
scope bounds them (``web.report_scope``); a request outside it is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from identity.authorize import Principal
from identity.roles import Action
from reports.facts import Status
from reports.store import Filter
from web.deps import LangDep, ServicesDep
from web.i18n import Lang
from web.pages import BEIJING, render
from web.pdf import html_to_pdf
from web.report_scope import ReportRefused, default_group, default_period, report_filter
from web.report_views import PAGE_GROUPS, ReportView
from web.rights import allowed
from web.services import Services

router = APIRouter()

Reader = Annotated[Principal, allowed(Action.REPORT_READ)]


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise ReportRefused("bad_date", f"not a date: {raw!r}") from error


class Params:
    """The filters every report page takes; empty form fields count as absent."""

    def __init__(
        self,
        first: Annotated[str | None, Query(alias="from")] = None,
        last: Annotated[str | None, Query(alias="to")] = None,
        region: str | None = None,
        school: str | None = None,
        subject: str | None = None,
        teacher: str | None = None,
        group: str | None = None,
        status: str | None = None,
    ) -> None:
        self.first, self.last = first, last
        self.region, self.school, self.subject, self.teacher = region, school, subject, teacher
        self.group, self.status = group or None, status or None

    def filter(self, services: Services, principal: Principal) -> Filter:
        today = services.now().astimezone(BEIJING).date()
        first, last = default_period(today)
        return report_filter(
            principal, services.directory, first=_day(self.first) or first,
            last=_day(self.last) or last, region=self.region or None,
            school_id=self.school or None, subject=self.subject or None,
            teacher_id=self.teacher or None,
        )  # fmt: skip

    def view(self, services: Services, principal: Principal, lang: Lang) -> ReportView:
        flt = self.filter(services, principal)
        group = self.group or default_group(flt)
        if group not in PAGE_GROUPS:
            raise ReportRefused("bad_group", f"group must be one of {', '.join(PAGE_GROUPS)}")
        return ReportView(services.indicators, services.indicators.directory(), principal, flt,
                          group, lang)  # fmt: skip


Query_ = Annotated[Params, Depends()]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, services: ServicesDep, lang: LangDep, principal: Reader, params: Query_
) -> Any:
    view = params.view(services, principal, lang)
    return render(request, "reports.html", lang, **view.dashboard())


@router.get("/reports/lessons", response_class=HTMLResponse)
def report_lessons_page(
    request: Request, services: ServicesDep, lang: LangDep, principal: Reader, params: Query_
) -> Any:
    if params.status and params.status not in {s.value for s in Status}:
        raise ReportRefused("bad_status", f"no lesson status {params.status!r}")
    view = params.view(services, principal, lang)
    rows = services.indicators.lessons(view.flt, params.status)
    return render(request, "report_lessons.html", lang, **view.common(), status=params.status,
                  statuses=[s.value for s in Status], lessons=view.lesson_rows(rows),
                  limit=500, back_url=view.back_url())  # fmt: skip


def _progress(request: Request, services: Services, lang: Lang, view: ReportView,
              pdf: bool) -> Response:  # fmt: skip
    return render(request, "report_progress.html", lang, pdf=pdf,
                  **view.progress(services.now()))  # fmt: skip


@router.get("/reports/progress", response_class=HTMLResponse)
def report_progress_page(
    request: Request, services: ServicesDep, lang: LangDep, principal: Reader, params: Query_
) -> Any:
    return _progress(request, services, lang, params.view(services, principal, lang), False)


@router.get("/reports/progress.pdf", response_class=Response)
def report_progress_pdf(
    request: Request, services: ServicesDep, lang: LangDep, principal: Reader, params: Query_
) -> Response:
    view = params.view(services, principal, lang)
    page = _progress(request, services, lang, view, True)
    data = html_to_pdf(bytes(page.body).decode(), chromium=services.settings.pdf_chromium)
    name = f"progress-{view.flt.first:%Y%m%d}-{view.flt.last:%Y%m%d}.pdf"
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
