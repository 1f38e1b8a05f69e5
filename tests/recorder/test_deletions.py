"""recorder.deletions on SQLite and PostgreSQL, over a real local store: the log, purging
one recording, and applying a retention policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from recorder.archive_tables import metadata
from recorder.deletions import RETENTION, Deletion, DeletionLog, apply_retention, purge
from recorder.errors import StorageKeyInvalid
from recorder.retention import RecordingFacts, RetentionPolicy
from recorder.storage import LocalStorage

T0 = datetime(2027, 6, 30, 3, 0, tzinfo=UTC)
POLICY = RetentionPolicy()


@pytest.fixture
def log(bare_engine: Engine) -> DeletionLog:
    metadata.create_all(bare_engine)
    return DeletionLog(bare_engine)


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


def stored(store: LocalStorage, recording: str, segments: int = 2) -> None:
    """A recording's segments and assets, 10 bytes per segment and 5 for assets.json."""
    for n in range(1, segments + 1):
        store.put_bytes(f"recordings/{recording}/teacher-camera-{n:06d}.mkv", b"0123456789")
    store.put_bytes(f"assets/{recording}/assets.json", b"{...}")


def keys(store: LocalStorage) -> list[str]:
    return [item.key for item in store.list("")]


def test_the_log_records_and_reads_back(log: DeletionLog) -> None:
    beijing = timezone(timedelta(hours=8))
    first = log.record("lesson-1", at=T0, actor="retention", reason="old", objects=3,
                       bytes=5_000_000_000)  # fmt: skip
    second = log.record("lesson-2", at=(T0 + timedelta(hours=1)).astimezone(beijing),
                        actor="zhang.wei", reason="asked by the school", objects=0,
                        bytes=0)  # fmt: skip
    third = log.record("lesson-1", at=T0 + timedelta(days=1), actor="li.na", reason="again",
                       objects=1, bytes=1)  # fmt: skip
    assert first == Deletion(first.id, "lesson-1", T0, "retention", "old", 3, 5_000_000_000)
    assert second.at == T0 + timedelta(hours=1) and second.at.tzinfo == UTC
    assert log.of("lesson-1") == [first, third]
    assert log.of("lesson-2") == [second]
    assert log.of("lesson-3") == []
    assert log.since(T0 + timedelta(hours=1)) == [second, third]
    assert log.since(T0) == [first, second, third]
    assert log.since(T0 + timedelta(days=2)) == []
    assert log.deleted(["lesson-1", "lesson-3", "lesson-2", "lesson-1"]) == {
        "lesson-1", "lesson-2",
    }  # fmt: skip
    assert log.deleted([]) == set()


def test_the_log_checks_what_it_cannot_hold(log: DeletionLog) -> None:
    with pytest.raises(ValueError, match="actor has 1 to 64 characters"):
        log.record("lesson-1", at=T0, actor="x" * 65, reason="", objects=0, bytes=0)
    with pytest.raises(ValueError, match="recording has 1 to 64 characters"):
        log.record("", at=T0, actor="retention", reason="", objects=0, bytes=0)
    assert log.since(T0 - timedelta(days=1)) == []


def test_deleted_answers_for_many_recordings(log: DeletionLog) -> None:
    for n in range(0, 1200, 7):
        log.record(f"lesson-{n}", at=T0, actor=RETENTION, reason="old", objects=0, bytes=0)
    asked = [f"lesson-{n}" for n in range(1200)]
    assert log.deleted(asked) == {f"lesson-{n}" for n in range(0, 1200, 7)}


def test_purge_deletes_segments_and_assets_and_logs_it(
    log: DeletionLog, store: LocalStorage
) -> None:
    stored(store, "lesson-1", segments=3)
    stored(store, "lesson-10")
    deletion = purge(store, log, "lesson-1", "asked by the school", "zhang.wei", T0)
    assert (deletion.recording, deletion.actor, deletion.reason, deletion.at) == (
        "lesson-1", "zhang.wei", "asked by the school", T0,
    )  # fmt: skip
    assert (deletion.objects, deletion.bytes) == (4, 35)
    assert log.of("lesson-1") == [deletion]
    assert keys(store) == [
        "assets/lesson-10/assets.json",
        "recordings/lesson-10/teacher-camera-000001.mkv",
        "recordings/lesson-10/teacher-camera-000002.mkv",
    ]


def test_purging_nothing_is_logged_too(log: DeletionLog, store: LocalStorage) -> None:
    deletion = purge(store, log, "lesson-9", "never recorded", "li.na", T0)
    assert (deletion.objects, deletion.bytes) == (0, 0)
    assert log.of("lesson-9") == [deletion]


@pytest.mark.parametrize(
    ("recording", "actor", "error"),
    [
        ("..", "li.na", StorageKeyInvalid),
        ("lesson-1/..", "li.na", StorageKeyInvalid),
        ("a/b", "li.na", StorageKeyInvalid),
        (".", "li.na", StorageKeyInvalid),
        ("", "li.na", ValueError),
        ("lesson-1" + "0" * 60, "li.na", ValueError),  # too long for the log
        ("lesson-1", "", ValueError),
    ],
)
def test_purge_refuses_what_it_could_not_log_before_deleting(
    log: DeletionLog, store: LocalStorage, recording: str, actor: str, error: type[Exception]
) -> None:
    stored(store, "lesson-1")
    stored(store, "lesson-1" + "0" * 60, segments=0)
    with pytest.raises(error):
        purge(store, log, recording, "bad", actor, T0)
    assert len(keys(store)) == 4
    assert log.since(T0 - timedelta(days=1)) == []


def test_apply_retention_purges_what_is_due_oldest_first(
    log: DeletionLog, store: LocalStorage
) -> None:
    facts = [
        RecordingFacts("young", "delivery", T0 - timedelta(days=180), False, False),
        RecordingFacts("old-delivery", "delivery", T0 - timedelta(days=200), False, False),
        RecordingFacts("old-open", "open", T0 - timedelta(days=400), False, False),
        RecordingFacts("model", "open", T0 - timedelta(days=900), True, False),
        RecordingFacts("in-review", "master", T0 - timedelta(days=900), False, True),
    ]
    for item in facts:
        stored(store, item.recording)
    made = apply_retention(store, log, facts, POLICY, T0)
    assert [(d.recording, d.actor, d.reason, d.objects, d.bytes, d.at) for d in made] == [
        ("old-open", RETENTION, "open lesson older than 365 days", 3, 25, T0),
        ("old-delivery", RETENTION, "delivery lesson older than 180 days", 3, 25, T0),
    ]
    assert log.since(T0) == made
    assert sorted({key.split("/")[1] for key in keys(store)}) == ["in-review", "model", "young"]


def test_apply_retention_does_at_most_limit_and_never_twice(
    log: DeletionLog, store: LocalStorage
) -> None:
    facts = [
        RecordingFacts(f"lesson-{n}", "delivery", T0 - timedelta(days=300 - n), False, False)
        for n in range(5)
    ]
    for item in facts:
        stored(store, item.recording, segments=1)
    first = apply_retention(store, log, facts, POLICY, T0, limit=2)
    assert [d.recording for d in first] == ["lesson-0", "lesson-1"]
    later = T0 + timedelta(days=1)
    second = apply_retention(store, log, facts, POLICY, later, limit=2)
    assert [d.recording for d in second] == ["lesson-2", "lesson-3"]
    third = apply_retention(store, log, facts, POLICY, later, limit=2)
    assert [d.recording for d in third] == ["lesson-4"]
    assert apply_retention(store, log, facts, POLICY, later) == []  # nothing logged again
    assert len(log.since(T0)) == 5
    assert keys(store) == []
