"""The recorder's tables: the persistent queue of post-processing jobs."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint

from kernel.metadata import UtcDateTime, new_metadata

metadata = new_metadata()

# One job per (recording, kind); ``lease_until`` is a worker's claim, which expires so a
# crashed worker's job is taken up again; ``run_after`` holds a failed attempt's backoff.
recording_jobs = Table(
    "recording_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recording", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("progress", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("result", JSON),
    Column("worker", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("run_after", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    UniqueConstraint("recording", "kind"),
    Index("ix_recording_jobs_state_run_after", "state", "run_after"),
)
