"""The persistent queue of post-processing jobs (``recording_jobs``), on SQLite and
PostgreSQL alike.

A job is one piece of work on one recording (``kind``, e.g. ``"assets"``), at most one
per (recording, kind): enqueueing again is a no-op, so whoever notices that a lesson
ended may enqueue without asking first. A worker *claims* a job with one conditional
``UPDATE`` whose ``WHERE`` repeats the conditions it was selected on and checks the row
count: of two workers racing for a row, PostgreSQL makes the second re-check the
condition once the first commits (READ COMMITTED), SQLite serialises the writers, so
exactly one wins. A claim is a lease: a worker that dies leaves a ``lease_until`` that
runs out, and the job is claimed again (counting as an attempt). A failed attempt is
retried after an exponential backoff (``run_after``) until ``max_attempts``, then the
job is ``failed`` until enqueued again. Every state change of a claimed job names the
claim (worker and attempt), so a worker whose lease ran out cannot overwrite the work of
the one that took over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from recorder.tables import recording_jobs as jobs

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BACKOFF = timedelta(seconds=30)  # before the 2nd attempt; doubled for each further one
MAX_BACKOFF = timedelta(hours=1)
LOST = "the worker's lease ran out (worker crashed or stalled)"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """One row of the queue, as read; ``worker`` and ``attempts`` identify the claim."""

    id: int
    recording: str
    kind: str
    state: JobState
    attempts: int
    max_attempts: int
    progress: int
    error: str
    result: dict[str, Any] | None
    worker: str | None
    created_at: datetime
    updated_at: datetime
    run_after: datetime
    lease_until: datetime | None


class JobQueue:
    """The queue over ``engine``; ``backoff * 2**(attempt-1)``, at most ``max_backoff``,
    separates the attempts of a job."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: timedelta = BACKOFF,
        max_backoff: timedelta = MAX_BACKOFF,
    ) -> None:
        self.engine = engine
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff

    def enqueue(
        self, recording: str, kind: str, now: datetime, *, delay: timedelta = timedelta(0)
    ) -> int:
        """The id of the job (``recording``, ``kind``), queued to run from ``now + delay``
        if there was none; a job that failed for good is queued again with fresh attempts,
        any other is left as it is."""
        existing = self._find(recording, kind)
        if existing is None:
            try:
                with self.engine.begin() as conn:
                    created = conn.execute(
                        insert(jobs).values(
                            recording=recording, kind=kind, state=JobState.QUEUED,
                            attempts=0, max_attempts=self.max_attempts, progress=0, error="",
                            result=None, worker=None, created_at=now, updated_at=now,
                            run_after=now + delay, lease_until=None,
                        )
                    )  # fmt: skip
                key = created.inserted_primary_key
                assert key is not None
                job_id = int(key[0])
                logger.info("JobQueue enqueued %s of %s as job %d", kind, recording, job_id)
                return job_id
            except IntegrityError:  # enqueued by someone else in between
                existing = self._find(recording, kind)
                assert existing is not None
        if existing.state is JobState.FAILED:
            with self.engine.begin() as conn:
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == existing.id, jobs.c.state == JobState.FAILED)
                    .values(
                        state=JobState.QUEUED, attempts=0, progress=0, error="", worker=None,
                        updated_at=now, run_after=now + delay, lease_until=None,
                    )
                )  # fmt: skip
            logger.info("JobQueue re-queued failed job %d (%s)", existing.id, kind)
        return existing.id

    def claim(self, worker: str, now: datetime, lease: timedelta) -> Job | None:
        """Take the next job that is due (queued and past its backoff, or running under a
        lease that ran out) for ``worker`` until ``now + lease``; ``None`` if there is none."""
        self._give_up_lost(now)
        claimable = or_(
            and_(jobs.c.state == JobState.QUEUED, jobs.c.run_after <= now),
            and_(
                jobs.c.state == JobState.RUNNING,
                jobs.c.lease_until < now,
                jobs.c.attempts < jobs.c.max_attempts,
            ),
        )
        with self.engine.connect() as conn:
            candidates = conn.execute(
                select(jobs.c.id).where(claimable).order_by(jobs.c.run_after, jobs.c.id).limit(8)
            ).scalars().all()  # fmt: skip
        for job_id in candidates:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, claimable)
                    .values(
                        state=JobState.RUNNING, worker=worker, attempts=jobs.c.attempts + 1,
                        progress=0, lease_until=now + lease, updated_at=now,
                    )
                )  # fmt: skip
            if taken.rowcount == 1:
                job = self.get(job_id)
                assert job is not None
                logger.info("JobQueue: %s claimed job %d (attempt %d)", worker, job_id,
                            job.attempts)  # fmt: skip
                return job
        return None

    def progress(
        self, job: Job, percent: int, now: datetime, *, extend: timedelta | None = None
    ) -> bool:
        """Record ``percent`` done (and push the lease to ``now + extend``); ``False`` when
        the claim is no longer this one's."""
        values: dict[str, Any] = {"progress": max(0, min(100, percent)), "updated_at": now}
        if extend is not None:
            values["lease_until"] = now + extend
        return self._change(job, values)

    def done(self, job: Job, result: dict[str, Any], now: datetime) -> bool:
        """Mark the claimed job done with ``result``; ``False`` if the claim was lost."""
        return self._change(job, {
            "state": JobState.DONE, "progress": 100, "result": result, "error": "",
            "lease_until": None, "updated_at": now,
        })  # fmt: skip

    def fail(self, job: Job, error: str, now: datetime, *, retry: bool = True) -> JobState:
        """Record a failed attempt: queued again after the backoff while attempts remain
        (and ``retry``), else ``failed``. Returns the job's state afterwards."""
        again = retry and job.attempts < job.max_attempts
        wait = min(self.backoff * 2 ** max(0, job.attempts - 1), self.max_backoff)
        state = JobState.QUEUED if again else JobState.FAILED
        changed = self._change(job, {
            "state": state, "error": error[-2000:], "lease_until": None, "updated_at": now,
            "run_after": now + wait if again else job.run_after,
        })  # fmt: skip
        if not changed:
            current = self.get(job.id)
            return current.state if current else JobState.FAILED
        logger.warning("JobQueue job %d attempt %d failed (%s): %s", job.id, job.attempts,
                       state, error)  # fmt: skip
        return state

    def get(self, job_id: int) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return _job(row) if row else None

    def for_recording(self, recording: str) -> list[Job]:
        """Every job of a recording, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs).where(jobs.c.recording == recording).order_by(jobs.c.id)
            ).all()
        return [_job(row) for row in rows]

    def of_kind(self, kind: str) -> list[Job]:
        """Every job of ``kind`` (e.g. every recording's assets build), newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs).where(jobs.c.kind == kind).order_by(jobs.c.created_at.desc())
            ).all()
        return [_job(row) for row in rows]

    def counts(self, *states: JobState) -> dict[tuple[JobState, str], int]:
        """How many jobs are in each of ``states``, by state and kind (one query)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs.c.state, jobs.c.kind, func.count())
                .where(jobs.c.state.in_(states))
                .group_by(jobs.c.state, jobs.c.kind)
            ).all()
        return {(JobState(state), kind): int(count) for state, kind, count in rows}

    def find(self, recording: str, kind: str) -> Job | None:
        """The job (``recording``, ``kind``), if there is one."""
        return self._find(recording, kind)

    def _find(self, recording: str, kind: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(jobs).where(jobs.c.recording == recording, jobs.c.kind == kind)
            ).first()
        return _job(row) if row else None

    def _change(self, job: Job, values: dict[str, Any]) -> bool:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(jobs)
                .where(
                    jobs.c.id == job.id,
                    jobs.c.state == JobState.RUNNING,
                    jobs.c.worker == job.worker,
                    jobs.c.attempts == job.attempts,
                )
                .values(**values)
            )
        return changed.rowcount == 1

    def _give_up_lost(self, now: datetime) -> None:
        # A job whose every attempt ended with the worker gone (a crash it causes, say).
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(
                    jobs.c.state == JobState.RUNNING,
                    jobs.c.lease_until < now,
                    jobs.c.attempts >= jobs.c.max_attempts,
                )
                .values(state=JobState.FAILED, error=LOST, lease_until=None, updated_at=now)
            )


def _job(row: Row[Any]) -> Job:
    data = row._mapping
    return Job(
        id=data["id"], recording=data["recording"], kind=data["kind"],
        state=JobState(data["state"]), attempts=data["attempts"],
        max_attempts=data["max_attempts"], progress=data["progress"], error=data["error"],
        result=data["result"], worker=data["worker"], created_at=data["created_at"],
        updated_at=data["updated_at"], run_after=data["run_after"],
        lease_until=data["lease_until"],
    )  # fmt: skip
