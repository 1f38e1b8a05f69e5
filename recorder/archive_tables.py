"""The archive's tables: the log of deleted recordings."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from kernel.metadata import UtcDateTime, new_metadata

metadata = new_metadata()

# One row per deletion of a recording's objects, by the retention policy (actor
# "retention") or by a user (their username); kept after the recording is gone.
recording_deletions = Table(
    "recording_deletions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recording", String(64), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("objects", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
)
