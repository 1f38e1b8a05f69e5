"""Deleting recordings, and the log that keeps an account of it (``recording_deletions``,
on SQLite and PostgreSQL alike).

``purge`` deletes everything stored of one recording, its segments
(``recordings/<recording>/``) and its built assets (``assets/<recording>/``), then logs
one row saying who deleted it, why, and how much went; a row is logged even when nothing
was stored, since the decision itself is worth keeping. A purge cut short by an error
logs nothing; deleting is idempotent, so it is simply done again. ``apply_retention``
purges what a ``RetentionPolicy`` no longer keeps, as the actor ``"retention"``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Row

from recorder.archive_tables import recording_deletions as deletions
from recorder.errors import RecorderError, StorageKeyInvalid
from recorder.retention import RecordingFacts, RetentionPolicy, due
from recorder.storage import Storage

logger = logging.getLogger(__name__)

RETENTION = "retention"  # the actor of deletions made by the retention policy
RECORDINGS, ASSETS = "recordings", "assets"  # the store's top folders
RETENTION_LIMIT = 100
NAME_LENGTH = 64  # of the recording and actor columns
_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's bound parameters


@dataclass(frozen=True)
class Deletion:
    """One logged deletion: ``objects`` objects holding ``bytes`` bytes were removed."""

    id: int
    recording: str
    at: datetime
    actor: str
    reason: str
    objects: int
    bytes: int


class DeletionLog:
    """The log of deletions over ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        recording: str,
        *,
        at: datetime,
        actor: str,
        reason: str,
        objects: int,
        bytes: int,
    ) -> Deletion:
        """Log one deletion and return it as stored. ``ValueError`` for a recording id
        or an actor longer than the log holds (64 characters)."""
        _check_names(recording, actor)
        with self.engine.begin() as conn:
            created = conn.execute(
                insert(deletions).values(
                    recording=recording, at=at, actor=actor, reason=reason, objects=objects,
                    bytes=bytes,
                )
            )  # fmt: skip
        key = created.inserted_primary_key
        assert key is not None
        return Deletion(int(key[0]), recording, at.astimezone(UTC), actor, reason, objects,
                        bytes)  # fmt: skip

    def of(self, recording: str) -> list[Deletion]:
        """Every deletion of ``recording``, oldest first."""
        query = select(deletions).where(deletions.c.recording == recording)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(deletions.c.at, deletions.c.id)).all()
        return [_deletion(row) for row in rows]

    def since(self, at: datetime) -> list[Deletion]:
        """Every deletion made at ``at`` or later, oldest first."""
        query = select(deletions).where(deletions.c.at >= at)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(deletions.c.at, deletions.c.id)).all()
        return [_deletion(row) for row in rows]

    def deleted(self, recordings: Collection[str]) -> set[str]:
        """Those of ``recordings`` that have been deleted at least once."""
        wanted = sorted(set(recordings))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                found.update(
                    conn.execute(
                        select(deletions.c.recording)
                        .where(deletions.c.recording.in_(chunk))
                        .distinct()
                    ).scalars()
                )
        return found


def purge(
    storage: Storage,
    log: DeletionLog,
    recording: str,
    reason: str,
    actor: str,
    now: datetime,
) -> Deletion:
    """Delete the segments and assets of ``recording`` from ``storage`` and log it, as
    done by ``actor`` at ``now`` for ``reason``. ``StorageKeyInvalid`` if ``recording``
    is not a single key part (holds a ``/``, say), ``ValueError`` if the log could not
    hold it or ``actor``; in both cases before anything is deleted."""
    if "/" in recording:
        raise StorageKeyInvalid(recording, "a recording id cannot hold '/'")
    _check_names(recording, actor)
    objects = size = 0
    for top in (RECORDINGS, ASSETS):
        removed = storage.delete_prefix(f"{top}/{recording}/")
        objects += removed.count
        size += removed.bytes
    deletion = log.record(
        recording, at=now, actor=actor, reason=reason, objects=objects, bytes=size
    )
    logger.info("Purge(%s) by %s (%s): %d objects, %d bytes", recording, actor, reason,
                objects, size)  # fmt: skip
    return deletion


def apply_retention(
    storage: Storage,
    log: DeletionLog,
    facts: Iterable[RecordingFacts],
    policy: RetentionPolicy,
    now: datetime,
    limit: int = RETENTION_LIMIT,
) -> list[Deletion]:
    """Purge the recordings that ``policy`` no longer keeps at ``now``, oldest first and
    at most ``limit`` of them (the rest wait for the next run); the deletions made.

    A recording already in the log is not purged again: the facts may well still list
    it (the lesson stays in the timetable), and every run would log it anew. A purge
    that fails is logged here and left for the next run; the others go on.
    """
    candidates = due(facts, policy, now)
    done = log.deleted([item.recording for item in candidates])
    made: list[Deletion] = []
    for item in [item for item in candidates if item.recording not in done][:limit]:
        try:
            made.append(purge(storage, log, item.recording, item.reason, RETENTION, now))
        except (OSError, RecorderError):
            logger.exception("Retention could not purge %s", item.recording)
    return made


def _check_names(recording: str, actor: str) -> None:
    for name, value in (("recording", recording), ("actor", actor)):
        if not value or len(value) > NAME_LENGTH:
            raise ValueError(f"a deletion's {name} has 1 to {NAME_LENGTH} characters")


def _deletion(row: Row[Any]) -> Deletion:
    data = row._mapping
    return Deletion(
        id=data["id"], recording=data["recording"], at=data["at"], actor=data["actor"],
        reason=data["reason"], objects=data["objects"], bytes=data["bytes"],
    )  # fmt: skip
