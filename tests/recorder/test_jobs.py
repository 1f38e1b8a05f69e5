"""recorder.jobs on SQLite and PostgreSQL: idempotent enqueue, one claim per job, retries
with backoff, and a crashed worker's lease running out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from recorder.jobs import LOST, JobQueue, JobState

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=30)


def queue(engine: Engine, **options: Any) -> JobQueue:
    return JobQueue(engine, **options)


def test_enqueue_is_idempotent_per_recording_and_kind(engine: Engine) -> None:
    jobs = queue(engine)
    first = jobs.enqueue("lesson-1", "assets", T0)
    assert jobs.enqueue("lesson-1", "assets", T0 + timedelta(minutes=1)) == first
    other = jobs.enqueue("lesson-1", "composite", T0)
    assert other != first
    assert [j.kind for j in jobs.for_recording("lesson-1")] == ["assets", "composite"]
    job = jobs.get(first)
    assert job is not None
    assert (job.state, job.attempts, job.progress, job.run_after) == (JobState.QUEUED, 0, 0, T0)
    assert jobs.get(99_999) is None


def test_a_delayed_job_is_not_claimed_before_it_is_due(engine: Engine) -> None:
    jobs = queue(engine)
    jobs.enqueue("lesson-1", "assets", T0, delay=timedelta(seconds=30))
    assert jobs.claim("w1", T0 + timedelta(seconds=29), LEASE) is None
    assert jobs.claim("w1", T0 + timedelta(seconds=30), LEASE) is not None


def test_a_job_is_claimed_by_one_worker_only(engine: Engine) -> None:
    jobs = queue(engine)
    job_id = jobs.enqueue("lesson-1", "assets", T0)
    claimed = jobs.claim("w1", T0, LEASE)
    assert claimed is not None
    assert (claimed.id, claimed.state, claimed.worker, claimed.attempts) == (
        job_id, JobState.RUNNING, "w1", 1,
    )  # fmt: skip
    assert claimed.lease_until == T0 + LEASE
    assert jobs.claim("w2", T0 + timedelta(minutes=1), LEASE) is None


def test_racing_workers_share_the_jobs_without_overlap(engine: Engine) -> None:
    jobs = queue(engine)
    ids = {jobs.enqueue(f"lesson-{n}", "assets", T0) for n in range(6)}
    won: dict[str, list[int]] = {f"w{n}": [] for n in range(4)}
    start = threading.Barrier(len(won))

    def work(worker: str) -> None:
        start.wait()
        while (job := jobs.claim(worker, T0, LEASE)) is not None:
            won[worker].append(job.id)

    threads = [threading.Thread(target=work, args=(w,)) for w in won]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    taken = [job_id for ids_ in won.values() for job_id in ids_]
    assert sorted(taken) == sorted(ids)  # each job once, none left


def test_progress_and_done(engine: Engine) -> None:
    jobs = queue(engine)
    jobs.enqueue("lesson-1", "assets", T0)
    job = jobs.claim("w1", T0, LEASE)
    assert job is not None
    assert jobs.progress(job, 40, T0 + timedelta(minutes=1), extend=LEASE)
    running = jobs.get(job.id)
    assert running is not None
    assert (running.progress, running.lease_until) == (40, T0 + timedelta(minutes=1) + LEASE)
    assert jobs.done(job, {"tracks": 3}, T0 + timedelta(minutes=2))
    finished = jobs.get(job.id)
    assert finished is not None
    assert (finished.state, finished.progress, finished.result) == (
        JobState.DONE, 100, {"tracks": 3},
    )  # fmt: skip
    assert finished.lease_until is None
    assert jobs.enqueue("lesson-1", "assets", T0 + timedelta(hours=1)) == job.id
    again = jobs.get(job.id)
    assert again is not None and again.state is JobState.DONE  # done stays done
    assert jobs.claim("w2", T0 + timedelta(hours=2), LEASE) is None


def test_failures_are_retried_with_exponential_backoff_then_the_job_fails(engine: Engine) -> None:
    jobs = queue(engine, max_attempts=3, backoff=timedelta(seconds=10))
    job_id = jobs.enqueue("lesson-1", "assets", T0)
    now = T0
    waits = []
    for attempt in (1, 2):
        job = jobs.claim("w1", now, LEASE)
        assert job is not None and job.attempts == attempt
        assert jobs.fail(job, f"ffmpeg exited ({attempt})", now) is JobState.QUEUED
        queued = jobs.get(job_id)
        assert queued is not None
        assert queued.error == f"ffmpeg exited ({attempt})"
        waits.append(queued.run_after - now)
        assert jobs.claim("w1", queued.run_after - timedelta(seconds=1), LEASE) is None
        now = queued.run_after
    assert waits == [timedelta(seconds=10), timedelta(seconds=20)]
    job = jobs.claim("w1", now, LEASE)
    assert job is not None and job.attempts == 3
    assert jobs.fail(job, "ffmpeg exited (3)", now) is JobState.FAILED
    failed = jobs.get(job_id)
    assert failed is not None and failed.state is JobState.FAILED
    assert jobs.claim("w1", now + timedelta(days=1), LEASE) is None
    # Enqueueing a job that failed for good starts it over.
    assert jobs.enqueue("lesson-1", "assets", now + timedelta(days=1)) == job_id
    fresh = jobs.get(job_id)
    assert fresh is not None
    assert (fresh.state, fresh.attempts, fresh.error) == (JobState.QUEUED, 0, "")


def test_a_failure_that_retrying_cannot_help_fails_at_once(engine: Engine) -> None:
    jobs = queue(engine)
    jobs.enqueue("lesson-1", "assets", T0)
    job = jobs.claim("w1", T0, LEASE)
    assert job is not None
    assert jobs.fail(job, "no usable segment", T0, retry=False) is JobState.FAILED


def test_a_crashed_workers_lease_runs_out_and_the_job_is_claimed_again(engine: Engine) -> None:
    jobs = queue(engine, max_attempts=2)
    job_id = jobs.enqueue("lesson-1", "assets", T0)
    lost = jobs.claim("w1", T0, LEASE)
    assert lost is not None
    assert jobs.claim("w2", T0 + LEASE - timedelta(seconds=1), LEASE) is None
    later = T0 + LEASE + timedelta(seconds=1)
    taken = jobs.claim("w2", later, LEASE)
    assert taken is not None
    assert (taken.id, taken.worker, taken.attempts) == (job_id, "w2", 2)
    # The first worker, back from the dead, can no longer touch the job.
    assert not jobs.progress(lost, 50, later)
    assert not jobs.done(lost, {}, later)
    assert jobs.fail(lost, "late", later) is JobState.RUNNING
    # The second dies too: with no attempt left the job fails instead of being claimed.
    gone = later + LEASE + timedelta(seconds=1)
    assert jobs.claim("w3", gone, LEASE) is None
    failed = jobs.get(job_id)
    assert failed is not None
    assert (failed.state, failed.error) == (JobState.FAILED, LOST)


def test_counts_by_state_and_kind(engine: Engine) -> None:
    jobs = queue(engine)
    assert jobs.counts(JobState.QUEUED) == {}
    for lesson in ("lesson-1", "lesson-2"):
        jobs.enqueue(lesson, "assets", T0)
    jobs.enqueue("lesson-1", "clip:7", T0)
    claimed = jobs.claim("w1", T0, LEASE)
    assert claimed is not None
    jobs.fail(claimed, "ffmpeg exited 1", T0, retry=False)
    assert jobs.counts(JobState.QUEUED, JobState.FAILED) == {
        (JobState.QUEUED, "assets"): 1,
        (JobState.QUEUED, "clip:7"): 1,
        (JobState.FAILED, "assets"): 1,
    }
