"""Which lessons a reader's report covers: the request's filters within their scope.

A region-scoped reader (电教, inspector, researcher) sees their region and may narrow
it to a sub-region or a school in it; a school-scoped reader sees their school only.
A request for a region or school outside the scope is refused, not silently widened.
"""

from __future__ import annotations

from datetime import date, timedelta

from identity.authorize import Principal
from identity.errors import InvalidUser
from identity.scope import region_prefix, validate_region_code
from reports.store import Filter
from scheduler.store import DirectoryStore

MAX_DAYS = 400  # a report covers at most a school year and a bit


class ReportRefused(Exception):
    """The filters ask for what the reader may not see, or make no sense."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def report_filter(
    principal: Principal,
    directory: DirectoryStore,
    *,
    first: date,
    last: date,
    region: str | None = None,
    school_id: str | None = None,
    subject: str | None = None,
    teacher_id: str | None = None,
) -> Filter:
    if last < first:
        raise ReportRefused("bad_period", "the period ends before it starts")
    if last - first > timedelta(days=MAX_DAYS):
        raise ReportRefused("period_too_long", f"a report covers at most {MAX_DAYS} days")
    prefix: str | None = None
    if region:
        try:
            prefix = region_prefix(validate_region_code(region))
        except InvalidUser as error:
            raise ReportRefused("bad_region", str(error)) from error
    scope = principal.scope
    if scope.school is not None:
        if school_id not in (None, "", scope.school):
            raise ReportRefused("other_school", "this school is outside your scope")
        school_id = scope.school
    elif scope.region is not None:
        mine = region_prefix(scope.region)
        if prefix is not None and not prefix.startswith(mine):
            raise ReportRefused("other_region", "this region is outside your scope")
        prefix = prefix or mine
        if school_id:
            school = directory.school(school_id)
            if school is None or not school.region.startswith(mine):
                raise ReportRefused("other_school", "this school is outside your scope")
    return Filter(first, last, prefix, school_id or None, subject or None, teacher_id or None)


def default_period(today: date) -> tuple[date, date]:
    """The last four weeks, today included."""
    return today - timedelta(days=27), today


def default_group(flt: Filter) -> str:
    """One level below what the filter covers: a county's report lists its townships."""
    if flt.school_id:
        return "teacher"
    prefix = flt.region or ""
    return {0: "city", 2: "city", 4: "county", 6: "township"}.get(len(prefix), "school")
