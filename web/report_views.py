"""What the report pages show: the figures of :class:`web.indicators.Indicators` arranged
for a page, with the drill-down links, the charts, the filter form's choices and the list
of problems of the progress report.

Nothing here reads a clock or a request: the router hands in the filter, the reader, the
directory and the language, and gets plain values for the templates. Figures are
formatted here, once, so the dashboard, the printed report and its PDF agree.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup

from identity.authorize import Principal
from identity.scope import region_prefix
from reports.charts import bar_chart, line_chart, percent
from reports.facts import Policy, Reason, Status
from reports.store import Filter
from reports.totals import Coverage, PatrolItems
from scheduler.model import Directory, SchoolKind
from web.i18n import Lang, translate
from web.indicators import Indicators, Row
from web.pages import BEIJING

#: How the dashboard may group its table (reports.store.GROUPS less the periods).
PAGE_GROUPS = ("city", "county", "township", "school", "teacher", "subject")
DASHBOARD_GROUPS = ("total", "week", "school", "teacher")  # besides the page's own group
MEDIAN_GROUPS = ("school",)  # the dashboard shows median loss and RTT per teaching point
#: The group one level below a region prefix of this length (web.report_scope agrees).
BELOW = {2: "city", 4: "county", 6: "township", 9: "school"}
DRILL = {"city": "county", "county": "township", "township": "school"}
#: Colours of a rate: good at or above the first share, fair at or above the second.
RATE_GRADES = (0.95, 0.85)
#: Reception a little below what it should be (the policy's bar is "poor").
FAIR_FREEZE_FREE, FAIR_LOSS, FAIR_RTT_MS = 0.98, 0.02, 200.0
WORST = 10  # coverage rows on the dashboard
LISTED = 30  # problems of each kind listed in the progress report
SCANNED = 5000  # lessons with patrol problems read at most


def pct(value: float | None) -> str:
    return "—" if value is None else percent(value)


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def rate_grade(value: float | None) -> str:
    if value is None:
        return "nodata"
    good, fair = RATE_GRADES
    return "good" if value >= good else "fair" if value >= fair else "poor"


def quality(figures: Mapping[str, Any], policy: Policy) -> str:
    """``good``, ``fair``, ``poor`` or ``nodata`` for a teaching point's (or a lesson's)
    reception: poor below the policy's bar or when the problem is chronic."""
    if not figures.get("video_minutes"):
        return "nodata"
    free, loss, rtt = (figures.get(k) for k in ("freeze_free_share", "median_loss",
                                                 "median_rtt_ms"))  # fmt: skip
    if (
        figures.get("chronic")
        or (free is not None and free < policy.poor_freeze_free)
        or (loss is not None and loss > policy.poor_loss)
        or (rtt is not None and rtt > policy.poor_rtt_ms)
    ):
        return "poor"
    if (
        (free is not None and free < FAIR_FREEZE_FREE)
        or (loss is not None and loss > FAIR_LOSS)
        or (rtt is not None and rtt > FAIR_RTT_MS)
    ):
        return "fair"
    return "good"


def full_code(prefix: str) -> str:
    """A region prefix as its division code: ``3499`` → ``349900``."""
    return prefix.ljust(6, "0") if len(prefix) < 6 else prefix


def link(path: str, params: Mapping[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{path}?{query}" if query else path


def _svg(markup: str) -> Markup:
    return Markup(markup)  # noqa: S704 - built by reports.charts, every text escaped


@dataclass
class ReportView:
    """One report request: its filter and group, the reader, the directory, the language."""

    indicators: Indicators
    directory: Directory
    principal: Principal
    flt: Filter
    group: str
    lang: Lang

    def __post_init__(self) -> None:
        self.t: Callable[..., str] = partial(translate, self.lang)
        self.regions = {r.code: r for r in self.directory.regions}
        self.schools = {s.id: s for s in self.directory.schools}
        self.teachers = {t.id: t for t in self.directory.teachers}
        self.classes = {c.id: c for c in self.directory.classes}
        self._rows: dict[str, list[Row]] = {}
        self._coverage: Future[list[Coverage]] | None = None
        self._patrol: Future[PatrolItems] | None = None

    def rows(self, group: str) -> list[Row]:
        if group not in self._rows:
            self._rows[group] = self.indicators.rows(self.flt, group)
        return self._rows[group]

    def prefetch(self) -> None:
        """Ask for every grouping the dashboard shows at once (one scan per table), with
        coverage and patrol read beside them."""
        self._coverage = self.indicators.background(partial(self.indicators.coverage, self.flt))
        self._patrol = self.indicators.background(partial(self.indicators.patrol, self.flt))
        wanted = [g for g in DASHBOARD_GROUPS + (self.group,) if g not in self._rows]
        self._rows.update(
            self.indicators.rows_by(self.flt, list(dict.fromkeys(wanted)), MEDIAN_GROUPS)
        )

    # links and names -----------------------------------------------------------------
    def base(self) -> dict[str, str | None]:
        """The query of the current filter, for links that keep it."""
        flt = self.flt
        return {"from": flt.first.isoformat(), "to": flt.last.isoformat(),
                "region": full_code(flt.region) if flt.region else None,
                "school": flt.school_id, "subject": flt.subject,
                "teacher": flt.teacher_id}  # fmt: skip

    def region_name(self, prefix: str) -> str:
        region = self.regions.get(full_code(prefix))
        return region.name if region else prefix

    def school_name(self, school_id: str) -> str:
        school = self.schools.get(school_id)
        return school.name if school else school_id

    def teacher_name(self, teacher_id: str) -> str:
        teacher = self.teachers.get(teacher_id)
        return teacher.name if teacher else teacher_id

    def drill(self, group: str, key: str) -> str | None:
        """Where a row of ``group`` leads: the next level down, or the lessons."""
        base = self.base()
        if group in DRILL:
            return link("/reports", {**base, "region": full_code(key), "school": None,
                                     "group": DRILL[group]})  # fmt: skip
        if group == "school":
            school = self.schools.get(key)
            region = school.region if school else base["region"]
            return link("/reports", {**base, "region": region, "school": key, "group": "teacher"})
        if group == "teacher":
            return link("/reports/lessons", {**base, "teacher": key})
        if group == "subject":
            return link("/reports", {**base, "subject": key, "group": self.group})
        return None

    def back_url(self) -> str:
        """From the lesson list back to the dashboard of its school or region."""
        return link("/reports", {**self.base(), "teacher": None})

    def lessons_url(self, status: str | None = None) -> str:
        return link("/reports/lessons", {**self.base(), "status": status})

    def trail(self) -> list[dict[str, str | None]]:
        """From the reader's scope down to what the report covers; the last is current."""
        flt, scope = self.flt, self.principal.scope
        keep = {"from": flt.first.isoformat(), "to": flt.last.isoformat(), "subject": flt.subject}
        crumbs: list[dict[str, str | None]] = []
        if scope.region is not None:
            root = region_prefix(scope.region)
            current = flt.region or root
            for size in (2, 4, 6, 9):
                if len(root) <= size <= len(current):
                    prefix = current[:size]
                    crumbs.append({"name": self.region_name(prefix), "url": link(
                        "/reports", {**keep, "region": full_code(prefix),
                                     "group": BELOW[size]})})  # fmt: skip
        if flt.school_id:
            school = self.schools.get(flt.school_id)
            crumbs.append({"name": self.school_name(flt.school_id), "url": link(
                "/reports", {**keep, "region": school.region if school and scope.region else None,
                             "school": flt.school_id, "group": "teacher"})})  # fmt: skip
        if flt.teacher_id:
            crumbs.append({"name": self.teacher_name(flt.teacher_id), "url": None})
        if crumbs:
            crumbs[-1]["url"] = None
        return crumbs

    def area(self) -> str:
        names = [c["name"] or "" for c in self.trail() if c["name"]]
        return names[-1] if names else self.t("report.all")

    # the filter form -----------------------------------------------------------------
    def choices(self) -> dict[str, Any]:
        scope, flt = self.principal.scope, self.flt
        if scope.school is not None:
            school = self.schools.get(scope.school)
            return {"regions": [], "schools": [("", [(scope.school, self.school_name(
                scope.school))])] if school else [], "subjects": self._subjects(),
                "groups": self._groups(9), "fixed_school": True}  # fmt: skip
        root = region_prefix(scope.region or "")
        regions = []
        for code in sorted(self.regions):
            prefix = region_prefix(code)
            if prefix.startswith(root):
                depth = (2, 4, 6, 9).index(len(prefix)) - (2, 4, 6, 9).index(len(root))
                regions.append({"code": code, "name": "\u3000" * depth + self.regions[code].name,
                                "selected": prefix == flt.region})  # fmt: skip
        by_township: dict[str, list[tuple[str, str]]] = {}
        for school in sorted(
            self.schools.values(), key=lambda s: (s.region, s.kind != SchoolKind.CENTRAL, s.name)
        ):
            if school.region.startswith(root):
                by_township.setdefault(self.region_name(school.region), []).append(
                    (school.id, school.name))  # fmt: skip
        return {"regions": regions, "schools": list(by_township.items()),
                "subjects": self._subjects(), "groups": self._groups(len(root)),
                "fixed_school": False}  # fmt: skip

    def _subjects(self) -> list[str]:
        subjects = {n.subject for n in self.directory.needs}
        subjects |= {s for t in self.directory.teachers for s in t.subjects}
        return sorted(subjects)

    def _groups(self, depth: int) -> list[tuple[str, str]]:
        deeper = {"city": 2, "county": 4, "township": 6, "school": 6}
        return [(g, self.t("report.by_group", group=self.t(f"report.group.{g}")))
                for g in PAGE_GROUPS if deeper.get(g, 9) >= depth]  # fmt: skip

    # the figures ---------------------------------------------------------------------
    def total(self) -> tuple[dict[str, Any], dict[str, Any]]:
        rows = self.rows("total")
        return (rows[0].lessons, rows[0].receivers) if rows else ({}, {})

    def has_data(self) -> bool:
        lessons, receivers = self.total()
        return bool(lessons.get("scheduled") or receivers.get("expected"))

    def figures(self) -> list[dict[str, str]]:
        t = self.t
        lessons, receivers = self.total()
        score = lessons.get("mean_score")
        return [
            {"id": "rate", "label": t("report.figure.rate"), "value": pct(lessons.get("rate")),
             "grade": rate_grade(lessons.get("rate")),
             "detail": t("report.figure.rate_detail", held=lessons.get("held", 0),
                         scheduled=lessons.get("scheduled", 0))},
            {"id": "on_time", "label": t("report.figure.on_time"),
             "value": pct(receivers.get("on_time_rate")),
             "grade": rate_grade(receivers.get("on_time_rate")),
             "detail": t("report.figure.on_time_detail", on_time=receivers.get("on_time", 0),
                         expected=receivers.get("expected", 0))},
            {"id": "freeze_free", "label": t("report.figure.freeze_free"),
             "value": pct(receivers.get("freeze_free_share")),
             "grade": rate_grade(receivers.get("freeze_free_share")),
             "detail": t("report.figure.freeze_free_detail",
                         minutes=receivers.get("video_minutes", 0))},
            {"id": "freezes", "label": t("report.figure.freezes"),
             "value": num(receivers.get("freezes_per_hour"), 2), "grade": "plain",
             "detail": t("report.figure.freezes_detail")},
            {"id": "patrol", "label": t("report.figure.patrol"),
             "value": pct(lessons.get("inspected_share")), "grade": "plain",
             "detail": t("report.figure.patrol_detail", inspected=lessons.get("inspected", 0),
                         problems=lessons.get("problems", 0))},
            {"id": "research", "label": t("report.figure.research"),
             "value": t("report.figure.reviewed", n=lessons.get("reviewed", 0)),
             "grade": "plain",
             "detail": t("report.figure.research_detail", comments=lessons.get("comments", 0),
                         score=num(score, 1))},
        ]  # fmt: skip

    def trend_chart(self) -> Markup:
        t = self.t
        weeks = [(f"{date.fromisoformat(r.key).month}/{date.fromisoformat(r.key).day}", r)
                 for r in self.rows("week")]  # fmt: skip
        return _svg(line_chart(
            [(t("report.series.rate"), [(label, r.lessons.get("rate")) for label, r in weeks]),
             (t("report.series.on_time"),
              [(label, r.receivers.get("on_time_rate")) for label, r in weeks])],
            title=t("report.chart.trend"), none_label=t("report.none"),
        ))  # fmt: skip

    def group_rows(self) -> list[dict[str, Any]]:
        out = []
        for row in self.rows(self.group):
            lessons, receivers = row.lessons, row.receivers
            out.append({
                "key": row.key, "name": self._row_name(row), "url": self.drill(self.group, row.key),
                "scheduled": lessons.get("scheduled"), "held": lessons.get("held"),
                "rate": pct(lessons.get("rate")), "rate_grade": rate_grade(lessons.get("rate")),
                "on_time": pct(receivers.get("on_time_rate")),
                "freeze_free": pct(receivers.get("freeze_free_share")),
                "patrolled": pct(lessons.get("inspected_share")),
                "reviewed": lessons.get("reviewed"),
                "hours": num(lessons.get("teacher_hours"), 1) if lessons else "—",
            })  # fmt: skip
        return out

    def _row_name(self, row: Row) -> str:
        return self.teacher_name(row.key) if self.group == "teacher" else row.name

    def group_chart(self) -> Markup | None:
        items = [(self._row_name(r), r.lessons.get("rate")) for r in self.rows(self.group)
                 if r.lessons.get("scheduled")]  # fmt: skip
        if not items:
            return None
        group = self.t(f"report.group.{self.group}")
        title = self.t("report.chart.groups", group=group)
        return _svg(bar_chart(items, title=title, none_label=self.t("report.none"),
                              thresholds=RATE_GRADES))  # fmt: skip

    def reasons(self) -> list[dict[str, Any]]:
        lessons, _ = self.total()
        scheduled = lessons.get("scheduled") or 0
        counts: dict[str, int] = lessons.get("not_held") or {}
        order = [r.value for r in Reason]
        return [
            {"reason": reason, "label": self.reason_label(reason), "count": count,
             "share": pct(count / scheduled if scheduled else None),
             "width": round(100 * count / scheduled, 1) if scheduled else 0}
            for reason, count in sorted(counts.items(), key=lambda kv: (
                -kv[1], order.index(kv[0]) if kv[0] in order else len(order)))
        ]  # fmt: skip

    def reason_label(self, reason: str) -> str:
        key = f"report.reason.{reason}"
        text = self.t(key)
        return reason if text == key else text

    def points(self) -> list[dict[str, Any]]:
        """Teaching points (receiving schools), worst reception first."""
        policy = self.indicators.policy
        order = ("poor", "fair", "good", "nodata")
        keyed: list[tuple[tuple[bool, int, float, str], dict[str, Any]]] = []
        for row in self.rows("school"):
            r = row.receivers
            if not r.get("expected"):
                continue
            school = self.schools.get(row.key)
            grade = quality(r, policy)
            rtt = r.get("median_rtt_ms")
            point = {
                "key": row.key, "name": row.name, "url": self.drill("school", row.key),
                "township": self.region_name(school.region) if school else "",
                "expected": r.get("expected"), "on_time": pct(r.get("on_time_rate")),
                "freeze_free": pct(r.get("freeze_free_share")),
                "freezes": num(r.get("freezes_per_hour"), 2), "loss": pct(r.get("median_loss")),
                "rtt": "—" if rtt is None else self.t("report.ms", n=num(rtt, 0)),
                "quality": grade, "chronic": bool(r.get("chronic")),
            }  # fmt: skip
            sort = (not r.get("chronic"), order.index(grade), r.get("freeze_free_share") or 0.0,
                    row.name)  # fmt: skip
            keyed.append((sort, point))
        return [point for _, point in sorted(keyed, key=lambda k: k[0])]

    def patrol(self) -> dict[str, Any]:
        items = self._patrol.result() if self._patrol else self.indicators.patrol(self.flt)
        means = list(items.means.items())
        chart = None
        if means:
            chart = _svg(bar_chart(
                means, title=self.t("report.chart.patrol"), scale=5.0,
                fmt=lambda v: self.t("report.score", n=f"{v:.1f}"), thresholds=(0.8, 0.6),
                none_label=self.t("report.none"),
            ))  # fmt: skip
        return {"lessons": items.lessons, "means": means, "chart": chart}

    def coverage(self, worst: int = WORST) -> dict[str, Any]:
        found = self._coverage.result() if self._coverage else self.indicators.coverage(self.flt)
        rows = [c for c in found if c.needed > 0]
        met = sum(1 for c in rows if c.rate is not None and c.rate >= 1)
        short = sorted((c for c in rows if c.rate is None or c.rate < 1),
                       key=lambda c: (c.rate or 0.0, c.delivered - c.needed, c.class_id,
                                      c.subject))  # fmt: skip
        weeks = rows[0].weeks if rows else 0
        return {"total": len(rows), "met": met, "share": pct(met / len(rows) if rows else None),
                "weeks": weeks, "short": len(short),
                "worst": [self._coverage_row(c) for c in short[:worst]]}  # fmt: skip

    def _coverage_row(self, c: Coverage) -> dict[str, Any]:
        cls = self.classes.get(c.class_id)
        name = (self.t("report.class_name", school=self.school_name(cls.school_id),
                       grade=cls.grade) if cls else c.class_id)  # fmt: skip
        return {"name": name, "subject": c.subject, "per_week": c.need_per_week,
                "weeks": c.weeks, "needed": c.needed, "scheduled": c.scheduled,
                "delivered": c.delivered, "rate": pct(c.rate),
                "grade": rate_grade(c.rate)}  # fmt: skip

    def workload(self) -> list[dict[str, Any]]:
        rows = self.indicators.workload(self.flt, self.rows("teacher"))
        return [{**w, "name": self.teacher_name(w["teacher_id"]), "hours": num(w["hours"], 1),
                 "url": self.drill("teacher", w["teacher_id"])} for w in rows]  # fmt: skip

    # lessons -------------------------------------------------------------------------
    def lesson_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        policy = self.indicators.policy
        out = []
        for row in rows:
            starts: datetime = row["starts_at"]
            if starts.tzinfo is None:  # SQLite hands back what was stored, in UTC
                starts = starts.replace(tzinfo=UTC)
            detail = row.get("receivers_detail") or []
            video = sum(r["video_minutes"] for r in detail)
            frozen = sum(r["frozen_minutes"] for r in detail)
            losses = [r["median_loss"] for r in detail if r["median_loss"] is not None]
            rtts = [r["median_rtt_ms"] for r in detail if r["median_rtt_ms"] is not None]
            figures = {"video_minutes": video,
                       "freeze_free_share": (video - frozen) / video if video else None,
                       "median_loss": statistics.median(losses) if losses else None,
                       "median_rtt_ms": statistics.median(rtts) if rtts else None}  # fmt: skip
            poor = sum(1 for r in detail if r["poor"])
            status = row["status"]
            label = self.t(f"report.status.{status}")
            if status == Status.NOT_HELD.value and row["reason"]:
                label = f"{label}：{self.reason_label(row['reason'])}"
            scores = row.get("inspection_scores") or {}
            out.append({
                "lesson": row["lesson"], "day": row["day"].isoformat(),
                "time": starts.astimezone(BEIJING).strftime("%H:%M"),
                "subject": row["subject"],
                "grade": self.t("report.grade", grade=row["grade"]),
                "teacher": self.teacher_name(row["teacher_id"]),
                "school": self.school_name(row["school_id"]),
                "status": status, "status_label": label,
                "teacher_live": self.t("report.minutes_of",
                                       n=round(row["teacher_seconds"] / 60),
                                       of=round(row["period_seconds"] / 60)),
                "on_time": f"{row['receivers_on_time']} / {row['receivers']}",
                "freeze_free": pct(figures["freeze_free_share"]),
                "quality": "poor" if poor else quality(figures, policy), "poor": poor,
                "inspections": row["inspections"], "problems": row["problems"],
                "low_items": [f"{item} {value:g}" for item, value in scores.items()
                              if value <= 2],
                "review_url": f"/review/{quote(row['lesson'], safe='')}"
                if row["recorded"] else None,
            })  # fmt: skip
        return out

    # the progress report ---------------------------------------------------------------
    def problems(self, listed: int = LISTED) -> dict[str, Any]:
        not_held = self.lesson_rows(self.indicators.lessons(self.flt, Status.NOT_HELD.value))
        chronic = [p for p in self.points() if p["chronic"]]
        inspected = self.lesson_rows(
            self.indicators.lessons(self.flt, problems_only=True, limit=SCANNED)
        )
        coverage = self.coverage(worst=listed)
        return {
            "not_held": not_held[:listed], "not_held_more": max(0, len(not_held) - listed),
            "not_held_count": len(not_held),
            "chronic": chronic,
            "inspections": inspected[:listed],
            "inspections_more": max(0, len(inspected) - listed),
            "inspections_count": len(inspected),
            "coverage": coverage["worst"], "coverage_count": coverage["short"],
            "coverage_more": max(0, coverage["short"] - listed),
        }  # fmt: skip

    # pages ---------------------------------------------------------------------------
    def common(self) -> dict[str, Any]:
        flt = self.flt
        return {"flt": flt, "group": self.group, "trail": self.trail(),
                "query": self.base(), "choices": self.choices(),
                "period": self.t("report.period", first=flt.first.isoformat(),
                                 last=flt.last.isoformat()),
                "export_url": link("/api/v1/indicators/export.xlsx",
                                   {**self.base(), "group": self.group}),
                "progress_url": link("/reports/progress", {**self.base(), "group": self.group}),
                "pdf_url": link("/reports/progress.pdf", {**self.base(), "group": self.group}),
                "dashboard_url": link("/reports", {**self.base(), "group": self.group}),
                "lessons_url": self.lessons_url()}  # fmt: skip

    def dashboard(self) -> dict[str, Any]:
        self.prefetch()
        if not self.has_data():
            return {**self.common(), "has_data": False}
        return {
            **self.common(), "has_data": True, "figures": self.figures(),
            "trend_chart": self.trend_chart(), "group_chart": self.group_chart(),
            "group_name": self.t(f"report.group.{self.group}"), "rows": self.group_rows(),
            "reasons": self.reasons(), "not_held_url": self.lessons_url(Status.NOT_HELD.value),
            "points": self.points(), "patrol": self.patrol(), "coverage": self.coverage(),
            "workload": self.workload(),
        }  # fmt: skip

    def progress(self, generated: datetime) -> dict[str, Any]:
        view = self.dashboard()
        view.update(
            area=self.area(), generated=generated.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        )
        if view["has_data"]:
            view["problems"] = self.problems()
        return view
