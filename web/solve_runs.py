"""Solve runs: a background solve's state and progress, in SQL.

Kept in the database rather than in memory so a page served by another app
instance follows the same run, and a run cut off by a restart is seen as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    Row,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from kernel.metadata import UtcDateTime, new_metadata

metadata = new_metadata()

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STALE_AFTER = timedelta(minutes=2)  # a running solve reports at least every few seconds

solve_runs = Table(
    "solve_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(16), nullable=False),
    Column("phase", String(16), nullable=False, default=""),
    Column("percent", Integer, nullable=False, default=0),
    Column("objective", Float),
    Column("bound", Float),
    Column("demand", Integer),
    Column("unmet", Integer),
    Column("time_limit", Float, nullable=False),
    Column("plan_id", Integer),  # plans live in the scheduler's tables
    Column("error", Text, nullable=False, default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class SolveRun:
    id: int
    state: str
    phase: str
    percent: int
    objective: float | None
    bound: float | None
    demand: int | None
    unmet: int | None
    time_limit: float
    plan_id: int | None
    error: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "state": self.state, "phase": self.phase, "percent": self.percent,
            "objective": self.objective, "bound": self.bound, "demand": self.demand,
            "unmet": self.unmet, "plan_id": self.plan_id, "error": self.error,
        }  # fmt: skip


class SolveRuns:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, created_by: str, time_limit: float, now: datetime) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(
                insert(solve_runs).values(
                    state=QUEUED, phase="", percent=0, time_limit=time_limit, error="",
                    created_by=created_by, created_at=now, updated_at=now,
                )
            )  # fmt: skip
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])

    def update(self, run_id: int, now: datetime, **values: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(solve_runs).where(solve_runs.c.id == run_id).values(updated_at=now, **values)
            )

    def get(self, run_id: int, now: datetime) -> SolveRun | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(solve_runs).where(solve_runs.c.id == run_id)).first()
        return None if row is None else _run(row, now)

    def recent(self, now: datetime, limit: int = 10) -> list[SolveRun]:
        query = select(solve_runs).order_by(solve_runs.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [_run(row, now) for row in conn.execute(query)]


def _run(row: Row[Any], now: datetime) -> SolveRun:
    run = SolveRun(**row._asdict())
    if not run.finished and now - run.updated_at > STALE_AFTER:
        # its process stopped (a restart, a crash): say so rather than spin forever
        return SolveRun(**(row._asdict() | {"state": FAILED, "error": "interrupted"}))
    return run
