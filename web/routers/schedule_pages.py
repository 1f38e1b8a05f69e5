"""Schedule pages: import with a per-row error table, solve with a progress bar,
timetable grids per school / teacher / class, unmet needs, publish and repair."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from identity.authorize import Principal
from identity.roles import Action
from scheduler.errors import ImportFailed
from scheduler.model import Teacher
from scheduler.plan import REASON_ZH, Parameters, lesson_changes
from web.deps import LangDep, ServicesDep
from web.errors import NotFound, problem_for
from web.i18n import Lang, translate
from web.pages import render
from web.rights import allowed
from web.routers.schedule_api import announce, audit, import_upload, publish, repair
from web.schedule import ScheduleRequestInvalid, repair_note
from web.schedule_grid import DAYS, Names, grid
from web.services import Services

router = APIRouter(prefix="/schedule")

Reader = Annotated[Principal, allowed(Action.SCHEDULE_READ)]
Manager = Annotated[Principal, allowed(Action.SCHEDULE_MANAGE)]


def _note(teachers: dict[str, Teacher], note: str, lang: Lang) -> str:
    fields = repair_note(note)
    if fields is None:
        return note
    names = {t.id: t.name for t in teachers.values()}
    who = "、".join(names.get(t, t) for t in fields["absent"].split(","))
    return translate(lang, "schedule.note", teachers=who, start=fields["from"], end=fields["to"])


def _overview(
    request: Request, services: Services, lang: Lang, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    directory = services.schedule.directory.load()
    counts = {
        "schools": len(directory.schools),
        "teachers": len(directory.teachers),
        "classes": len(directory.classes),
        "periods": sum(n.periods_per_week for n in directory.needs),
    }
    plans = services.schedule.plans.summaries()
    teachers = {t.id: t for t in directory.teachers}
    notes = {p.id: _note(teachers, p.note, lang) for p in plans if p.note}
    return render(
        request, "schedule.html", lang, status_code=status_code, counts=counts,
        plans=plans, notes=notes,
        runs=services.schedule.runs.recent(services.now(), 5), **extra,
    )  # fmt: skip


@router.get("", response_class=HTMLResponse)
def overview(request: Request, services: ServicesDep, lang: LangDep, _: Reader) -> HTMLResponse:
    return _overview(request, services, lang)


@router.post("/import", response_class=HTMLResponse)
async def import_page(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    principal: Manager,
    files: list[UploadFile],
) -> HTMLResponse:
    try:
        imported = await import_upload(services, request, principal, files)
    except ImportFailed as exc:
        message = problem_for(exc, lang).message
        return _overview(request, services, lang, 422, error=message, problems=exc.problems)
    return _overview(request, services, lang, imported=imported)


@router.post("/solve")
def solve_page(
    request: Request,
    services: ServicesDep,
    principal: Manager,
    time_limit: Annotated[float, Form(gt=0, le=600)],
    max_receivers: Annotated[int, Form(ge=1, le=12)],
) -> RedirectResponse:
    params = Parameters(max_receivers=max_receivers)
    run_id = services.schedule.start_solve(principal.username, params, time_limit)
    audit(services, request, principal, "schedule.solve", f"run:{run_id}",
          {"time_limit": time_limit, "max_receivers": max_receivers})  # fmt: skip
    return RedirectResponse(f"/schedule/runs/{run_id}", status_code=303)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: int, request: Request, services: ServicesDep, lang: LangDep, _: Reader
) -> HTMLResponse:
    run = services.schedule.runs.get(run_id, services.now())
    if run is None:
        raise NotFound(f"no run {run_id}")
    return render(request, "schedule_run.html", lang, run=run)


def _plan_page(
    request: Request,
    services: Services,
    lang: Lang,
    plan_id: int,
    view: str = "",
    of: str = "",
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    stored = services.schedule.plan(plan_id)
    directory = services.schedule.directory.load()
    names = Names(directory)
    lessons = stored.timetable.lessons
    output_schools = sorted({names.teachers[le.teacher_id].school_id for le in lessons
                             if le.teacher_id in names.teachers})  # fmt: skip
    if not view and output_schools:
        view, of = "school", output_schools[0]
    parent = services.schedule.plans.get(stored.parent_id) if stored.parent_id else None
    # a repair: what it changed
    removed, added = lesson_changes(parent.timetable.lessons, lessons) if parent else ([], [])
    return render(
        request, "schedule_plan.html", lang, status_code=status_code, plan=stored,
        names=names, reasons=REASON_ZH, view=view, of=of,
        grid=grid(directory, lessons, view, of), days=DAYS, output_schools=output_schools,
        teachers=sorted({le.teacher_id for le in lessons}),
        classes=sorted(c.id for c in directory.classes),
        all_teachers=sorted(directory.teachers, key=lambda t: t.id),
        today=services.schedule.today(), parent=parent, removed=removed, added=added,
        note=_note(names.teachers, stored.note, lang),
        **extra,
    )  # fmt: skip


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(
    plan_id: int,
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    _: Reader,
    view: str = "",
    of: str = "",
    done: str = "",
    added: int = 0,
    cancelled: int = 0,
    dated: int = 0,
) -> HTMLResponse:
    flash = {"published": ("schedule.published_msg", {"added": added, "cancelled": cancelled}),
             "repaired": ("schedule.repaired_msg", {"dated": dated})}.get(done)  # fmt: skip
    return _plan_page(request, services, lang, plan_id, view, of, flash=flash)


@router.post("/plans/{plan_id}/publish", response_model=None)
async def publish_page(
    plan_id: int,
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    principal: Manager,
    term_start: Annotated[date, Form()],
    term_end: Annotated[date, Form()],
) -> HTMLResponse | RedirectResponse:
    try:
        changes = await publish(services, request, principal, plan_id, term_start, term_end)
    except ScheduleRequestInvalid as exc:
        problem = problem_for(exc, lang)
        return _plan_page(request, services, lang, plan_id, status_code=problem.status,
                          error=problem.message)  # fmt: skip
    await announce(services, changes)
    query = f"done=published&added={len(changes.added)}&cancelled={len(changes.cancelled)}"
    return RedirectResponse(f"/schedule/plans/{plan_id}?{query}", status_code=303)


@router.post("/plans/{plan_id}/repair", response_model=None)
async def repair_page(
    plan_id: int,
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    principal: Manager,
    teacher: Annotated[str, Form(max_length=64)],
    start: Annotated[date, Form(alias="from")],
    end: Annotated[date, Form(alias="to")],
) -> HTMLResponse | RedirectResponse:
    try:
        done = await repair(services, request, principal, plan_id, [teacher], start, end)
    except ScheduleRequestInvalid as exc:
        problem = problem_for(exc, lang)
        return _plan_page(request, services, lang, plan_id, status_code=problem.status,
                          error=problem.message)  # fmt: skip
    await announce(services, done.changes, repaired=True)
    query = f"done=repaired&dated={len(done.changes.added)}"
    return RedirectResponse(f"/schedule/plans/{done.plan_id}?{query}", status_code=303)
