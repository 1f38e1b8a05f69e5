"""``/api/v1/schedule``: import, background solve with progress (SSE), plans, publish,
repair, dated lessons, exports."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from identity.audit import Outcome
from identity.authorize import Principal
from identity.roles import Action
from identity.service import Actor
from kernel.errors import LiveStateUnavailable
from scheduler.errors import ImportFailed
from scheduler.files import MAX_BYTES
from scheduler.plan import REASON_ZH, Lesson, Parameters
from scheduler.plan_store import Changes, StoredPlan
from web.deps import ServicesDep
from web.errors import NotFound
from web.rights import allowed
from web.schedule import Imported, Repaired, ScheduleRequestInvalid, change_events
from web.services import Services

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/schedule")

Reader = Annotated[Principal, allowed(Action.SCHEDULE_READ)]
Manager = Annotated[Principal, allowed(Action.SCHEDULE_MANAGE)]
SSE_POLL_SECONDS = 0.5
SSE_MAX_SECONDS = 3600  # a stream ends after an hour at most; EventSource reconnects
MEDIA = {
    "timetable.csv": "text/csv; charset=utf-8",
    "unmet.csv": "text/csv; charset=utf-8",
    "workload.csv": "text/csv; charset=utf-8",
    "timetable.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "calendars.zip": "application/zip",
}


class SolveRequest(BaseModel):
    time_limit: float = Field(30.0, gt=0, le=600)
    max_receivers: int = Field(4, ge=1, le=12)
    min_overlap_minutes: int = Field(35, ge=1, le=120)
    kbps_per_lesson: int = Field(1500, ge=100, le=20_000)

    def params(self) -> Parameters:
        return Parameters(
            max_receivers=self.max_receivers,
            min_overlap_minutes=self.min_overlap_minutes,
            kbps_per_lesson=self.kbps_per_lesson,
        )


class PublishRequest(BaseModel):
    term_start: date
    term_end: date


class RepairRequest(BaseModel):
    absent: list[str] = Field(min_length=1, max_length=50)
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    time_limit: float = Field(1.0, gt=0, le=60)


def lesson_json(le: Lesson) -> dict[str, Any]:
    return {
        "lesson_id": le.id, "day": le.day, "period": le.period, "teacher_id": le.teacher_id,
        "output_classroom_id": le.output_classroom_id, "subject": le.subject,
        "grade": le.grade, "class_ids": list(le.class_ids),
    }  # fmt: skip


def plan_summary(stored: StoredPlan) -> dict[str, Any]:
    t = stored.timetable
    return {
        "id": stored.id, "kind": stored.kind, "parent_id": stored.parent_id,
        "note": stored.note, "status": t.status, "demand": t.demand, "scheduled": t.scheduled,
        "unmet": t.demand - t.scheduled, "objective": t.objective, "bound": t.bound,
        "seconds": round(t.seconds, 3), "published": stored.published,
        "term_start": stored.term_start, "term_end": stored.term_end,
    }  # fmt: skip


def audit(
    services: Services,
    request: Request,
    principal: Principal,
    action: str,
    target: str,
    detail: dict[str, Any],
    outcome: Outcome = Outcome.SUCCESS,
) -> None:
    """Every change to the directory or the timetable goes into the audit log."""
    address = request.client.host if request.client else None
    actor = Actor(principal, principal.username, address)
    services.identity.record(actor, action, target, principal.scope.region, outcome,
                             services.now(), detail)  # fmt: skip


async def import_upload(
    services: Services, request: Request, principal: Principal, files: list[UploadFile]
) -> Imported:
    """Read at most one byte past the limit of each file, then import all or nothing."""
    received = [(f.filename or "", await f.read(MAX_BYTES + 1)) for f in files if f.filename]
    try:
        imported = await run_in_threadpool(services.schedule.import_files, received)
    except ImportFailed as exc:
        audit(services, request, principal, "schedule.import", "directory",
              {"problems": len(exc.problems)}, Outcome.FAILURE)  # fmt: skip
        raise
    audit(services, request, principal, "schedule.import", "directory", vars(imported))
    return imported


async def announce(services: Services, changes: Changes, *, repaired: bool = False) -> bool:
    """Publish the change events; the dated lessons are stored either way."""
    live = services.live
    if live is None:
        return False
    try:
        for event in change_events(changes, services.now(), repaired=repaired):
            await live.bus.publish(event)
    except LiveStateUnavailable:
        logger.warning("Timetable change stored but not announced: live state is down")
        return False
    return True


async def publish(
    services: Services, request: Request, principal: Principal, plan_id: int, first: date,
    last: date,
) -> Changes:  # fmt: skip
    changes = await run_in_threadpool(services.schedule.publish, plan_id, first, last)
    audit(services, request, principal, "schedule.publish", f"plan:{plan_id}",
          {"term_start": first.isoformat(), "term_end": last.isoformat(),
           "added": len(changes.added), "cancelled": len(changes.cancelled)})  # fmt: skip
    return changes


async def repair(
    services: Services, request: Request, principal: Principal, plan_id: int,
    absent: list[str], first: date, last: date, time_limit: float = 1.0,
) -> Repaired:  # fmt: skip
    done = await run_in_threadpool(
        services.schedule.repair, plan_id, absent, first, last, time_limit
    )
    audit(services, request, principal, "schedule.repair", f"plan:{plan_id}",
          {"absent": absent, "from": first.isoformat(), "to": last.isoformat(),
           "repair_plan": done.plan_id, "dated_added": len(done.changes.added),
           "dated_cancelled": len(done.changes.cancelled)})  # fmt: skip
    return done


@router.post("/import")
async def import_directory(
    request: Request, services: ServicesDep, principal: Manager, files: list[UploadFile]
) -> dict[str, int]:
    """CSV files named after the tables, or one XLSX workbook. All or nothing."""
    return vars(await import_upload(services, request, principal, files))


@router.post("/solve", status_code=202)
def start_solve(
    request: Request, body: SolveRequest, services: ServicesDep, principal: Manager
) -> dict[str, Any]:
    run_id = services.schedule.start_solve(principal.username, body.params(), body.time_limit)
    audit(services, request, principal, "schedule.solve", f"run:{run_id}", body.model_dump())
    return {"run_id": run_id, "events": f"/api/v1/schedule/runs/{run_id}/events"}


@router.get("/runs/{run_id}")
def get_run(run_id: int, services: ServicesDep, principal: Reader) -> dict[str, Any]:
    run = services.schedule.runs.get(run_id, services.now())
    if run is None:
        raise NotFound(f"no run {run_id}")
    return run.as_json()


@router.get("/runs/{run_id}/events")
async def run_events(
    run_id: int, request: Request, services: ServicesDep, principal: Reader
) -> StreamingResponse:
    """Server-sent events: ``progress`` whenever the run's state changes, then ``done``."""
    if services.schedule.runs.get(run_id, services.now()) is None:
        raise NotFound(f"no run {run_id}")

    async def stream() -> AsyncIterator[str]:
        sent: dict[str, Any] | None = None
        waited = 0.0
        yield "retry: 2000\n\n"
        while waited < SSE_MAX_SECONDS and not await request.is_disconnected():
            run = await run_in_threadpool(services.schedule.runs.get, run_id, services.now())
            if run is None:
                return
            doc = run.as_json()
            if doc != sent:
                kind = "done" if run.finished else "progress"
                yield f"event: {kind}\ndata: {json.dumps(doc)}\n\n"
                sent = doc
            if run.finished:
                return
            await asyncio.sleep(SSE_POLL_SECONDS)
            waited += SSE_POLL_SECONDS

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/plans")
def list_plans(services: ServicesDep, principal: Reader) -> list[dict[str, Any]]:
    return [plan_summary(p) for p in services.schedule.plans.summaries()]


@router.get("/plans/{plan_id}")
def get_plan(plan_id: int, services: ServicesDep, principal: Reader) -> dict[str, Any]:
    stored = services.schedule.plan(plan_id)
    return plan_summary(stored) | {
        "lessons": [lesson_json(le) for le in stored.timetable.lessons],
        "unmet_needs": [
            {
                "class_id": u.class_id,
                "subject": u.subject,
                "periods_unmet": u.periods,
                "reason": u.reason.value,
                "reason_zh": REASON_ZH[u.reason],
            }
            for u in stored.timetable.unmet
        ],  # fmt: skip
    }


@router.post("/plans/{plan_id}/publish")
async def publish_plan(
    plan_id: int,
    request: Request,
    body: PublishRequest,
    services: ServicesDep,
    principal: Manager,
) -> dict[str, Any]:
    changes = await publish(services, request, principal, plan_id, body.term_start, body.term_end)
    announced = await announce(services, changes)
    return {"added": len(changes.added), "cancelled": len(changes.cancelled),
            "announced": announced}  # fmt: skip


@router.post("/plans/{plan_id}/repair")
async def repair_plan(
    plan_id: int,
    request: Request,
    body: RepairRequest,
    services: ServicesDep,
    principal: Manager,
) -> dict[str, Any]:
    done = await repair(services, request, principal, plan_id, body.absent, body.start,
                        body.end, body.time_limit)  # fmt: skip
    announced = await announce(services, done.changes, repaired=True)
    return {
        "plan_id": done.plan_id,
        "removed": [lesson_json(le) for le in done.removed],
        "added": [lesson_json(le) for le in done.added],
        "dated_added": len(done.changes.added),
        "dated_cancelled": len(done.changes.cancelled),
        "announced": announced,
    }


@router.get("/plans/{plan_id}/files/{name}")
def export_plan(plan_id: int, name: str, services: ServicesDep, principal: Reader) -> Response:
    data = services.schedule.export(plan_id, name)
    headers = {"Content-Disposition": f'attachment; filename="plan{plan_id}-{name}"'}
    return Response(data, media_type=MEDIA[name], headers=headers)


@router.get("/lessons")
def dated_lessons(
    services: ServicesDep,
    principal: Reader,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> JSONResponse:
    if end < start or (end - start).days > 62:
        raise ScheduleRequestInvalid("range")
    found = services.schedule.plans.occurrences(start, end)
    return JSONResponse(
        [
            {"id": o.id, "plan_id": o.plan_id, "date": o.day.isoformat(),
             "start": o.start.strftime("%H:%M"), "end": o.end.strftime("%H:%M"),
             **lesson_json(o.lesson)}
            for o in found
        ]
    )  # fmt: skip
