"""Solve runs in SQL: progress, completion, and a run whose process died."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from web.solve_runs import DONE, FAILED, QUEUED, RUNNING, STALE_AFTER, SolveRuns

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def test_a_run_reports_progress_then_its_plan(engine: Engine) -> None:
    runs = SolveRuns(engine)
    run_id = runs.create("admin", 30.0, NOW)
    assert runs.get(run_id, NOW).state == QUEUED  # type: ignore[union-attr]
    runs.update(run_id, NOW, state=RUNNING, phase="cover", percent=40, unmet=3, demand=90)
    seen = runs.get(run_id, NOW + timedelta(seconds=1))
    assert seen is not None and (seen.state, seen.percent, seen.unmet) == (RUNNING, 40, 3)
    runs.update(run_id, NOW, state=DONE, percent=100, plan_id=5)
    done = runs.get(run_id, NOW + STALE_AFTER * 10)
    assert done is not None and done.finished and done.as_json()["plan_id"] == 5
    assert [r.id for r in runs.recent(NOW)] == [run_id]


def test_a_run_that_stopped_reporting_reads_as_interrupted(engine: Engine) -> None:
    runs = SolveRuns(engine)
    run_id = runs.create("admin", 30.0, NOW)
    runs.update(run_id, NOW, state=RUNNING)
    assert runs.get(run_id, NOW + STALE_AFTER / 2).state == RUNNING  # type: ignore[union-attr]
    late = runs.get(run_id, NOW + STALE_AFTER * 2)
    assert late is not None and late.state == FAILED and late.error == "interrupted"
    assert runs.get(424242, NOW) is None
