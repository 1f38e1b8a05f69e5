"""The indicators over HTTP: ``/api/v1/indicators/{name}`` for each indicator, the lessons
behind them, the XLSX export, and a recompute for operators.

Query parameters of every indicator: ``from``, ``to`` (ISO dates, Beijing; default the
last four weeks), ``region`` (division code), ``school``, ``subject``, ``teacher``,
``group`` (``total``, ``city``, ``county``, ``township``, ``school``, ``teacher``,
``subject``, ``lesson``, ``day``, ``week``, ``month``; default one level below the
region). The reader's scope bounds what they get (``web.report_scope``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from identity.authorize import Principal
from identity.roles import Action
from reports.store import GROUPS, Filter
from reports.workbook import indicators_workbook
from web.deps import ServicesDep
from web.indicators import Row
from web.report_scope import default_group, default_period, report_filter
from web.rights import allowed
from web.services import Services

router = APIRouter()

Reader = Annotated[Principal, allowed(Action.REPORT_READ)]
Operator = Annotated[Principal, allowed(Action.SYSTEM_OPERATE)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Indicator → the figures of a row it returns (from the lessons' or the classrooms' side).
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "held": ("lessons", ("scheduled", "held", "rate", "not_held", "repaired", "teacher_hours")),
    "attendance": ("receivers", ("expected", "on_time", "on_time_rate", "joined_rate",
                                 "present_share", "present_minutes")),
    "quality": ("receivers", ("video_minutes", "freeze_free_share", "freezes_per_hour",
                              "median_loss", "median_rtt_ms", "poor", "poor_share", "chronic")),
    "patrol": ("lessons", ("scheduled", "inspected", "inspected_share", "inspections",
                           "problems")),
    "research": ("lessons", ("recorded", "reviewed", "comments", "mean_score", "sessions")),
}  # fmt: skip
NAMES = (*FIELDS, "coverage", "workload", "lessons")


class Params:
    """The filter parameters every indicator takes."""

    def __init__(
        self,
        first: Annotated[date | None, Query(alias="from")] = None,
        last: Annotated[date | None, Query(alias="to")] = None,
        region: str | None = None,
        school: str | None = None,
        subject: str | None = None,
        teacher: str | None = None,
        group: str | None = None,
    ) -> None:
        self.first, self.last = first, last
        self.region, self.school, self.subject, self.teacher = region, school, subject, teacher
        self.group = group

    def filter(self, services: Services, principal: Principal) -> Filter:
        today = services.schedule.today()
        first, last = default_period(today)
        return report_filter(
            principal, services.directory, first=self.first or first, last=self.last or last,
            region=self.region, school_id=self.school, subject=self.subject,
            teacher_id=self.teacher,
        )  # fmt: skip

    def grouping(self, flt: Filter) -> str:
        group = self.group or default_group(flt)
        if group not in GROUPS:
            raise HTTPException(400, f"group must be one of: {', '.join(GROUPS)}")
        return group


def _filter_json(flt: Filter, group: str) -> dict[str, Any]:
    return {"from": flt.first.isoformat(), "to": flt.last.isoformat(), "region": flt.region,
            "school": flt.school_id, "subject": flt.subject, "teacher": flt.teacher_id,
            "group": group}  # fmt: skip


def _row(row: Row, side: str, fields: tuple[str, ...]) -> dict[str, Any]:
    figures = row.lessons if side == "lessons" else row.receivers
    return {"key": row.key, "name": row.name, **{f: figures.get(f) for f in fields}}


@router.get("/api/v1/indicators")
def list_indicators(principal: Reader) -> dict[str, Any]:
    return {"indicators": list(NAMES), "groups": list(GROUPS)}


@router.get("/api/v1/indicators/export.xlsx")
def export_indicators(
    principal: Reader, services: ServicesDep, params: Annotated[Params, Depends()]
) -> Response:
    flt = params.filter(services, principal)
    group = params.grouping(flt)
    indicators = services.indicators
    rows = [asdict(r) for r in indicators.rows(flt, group)]
    title = f"三个课堂应用指标 {flt.first.isoformat()} 至 {flt.last.isoformat()}"
    data = indicators_workbook(
        title, rows, [asdict(c) for c in indicators.coverage(flt)],
        indicators.workload(flt), indicators.patrol(flt).means,
    )  # fmt: skip
    name = f"indicators-{flt.first:%Y%m%d}-{flt.last:%Y%m%d}.xlsx"
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post("/api/v1/indicators/recompute")
def recompute_indicators(
    principal: Operator, services: ServicesDep, params: Annotated[Params, Depends()]
) -> dict[str, Any]:
    flt = params.filter(services, principal)
    lessons = services.indicators.recompute(flt.first, flt.last)
    return {"from": flt.first.isoformat(), "to": flt.last.isoformat(), "lessons": lessons}


@router.get("/api/v1/indicators/{name}")
def indicator(
    name: str, principal: Reader, services: ServicesDep, params: Annotated[Params, Depends()]
) -> dict[str, Any]:
    if name not in NAMES:
        raise HTTPException(404, f"no indicator {name!r}; one of: {', '.join(NAMES)}")
    flt = params.filter(services, principal)
    indicators = services.indicators
    if name == "coverage":
        rows: list[dict[str, Any]] = [asdict(c) for c in indicators.coverage(flt)]
        return {"indicator": name, "filter": _filter_json(flt, ""), "rows": rows}
    if name == "lessons":
        lessons = indicators.lessons(flt)
        return {"indicator": name, "filter": _filter_json(flt, "lesson"),
                "rows": [_lesson_json(r) for r in lessons]}  # fmt: skip
    group = params.grouping(flt)
    if name == "workload":
        return {"indicator": name, "filter": _filter_json(flt, "teacher"),
                "rows": indicators.workload(flt)}  # fmt: skip
    side, fields = FIELDS[name]
    doc: dict[str, Any] = {
        "indicator": name, "filter": _filter_json(flt, group),
        "rows": [_row(r, side, fields) for r in indicators.rows(flt, group)
                 if (r.lessons if side == "lessons" else r.receivers.get("expected"))],
    }  # fmt: skip
    if name == "patrol":
        doc["items"] = indicators.patrol(flt).means
    return doc


def _lesson_json(row: dict[str, Any]) -> dict[str, Any]:
    skip = {"updated_at", "receivers_detail"}
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
           for k, v in row.items() if k not in skip}  # fmt: skip
    out["receivers_detail"] = [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
        for r in row["receivers_detail"]
    ]
    return out
