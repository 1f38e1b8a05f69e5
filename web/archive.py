"""The archive's retention run: which recordings the policy (setting ``retention``) no
longer keeps, and their purge through the storage port, each deletion logged. Run by
``sanke record`` every hour and on demand by ``sanke retention``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from recorder.deletions import apply_retention
from recorder.retention import RecordingFacts, RetentionPolicy, due
from recorder.worker import ASSETS
from web.reviews import Reviews


def retention_facts(reviews: Reviews) -> list[RecordingFacts]:
    """Every processed recording whose lesson is still in the timetable, with what the
    policy weighs: mode, end of the lesson, exemplary, held by a session or a clip."""
    recordings = {job.recording for job in reviews.jobs.of_kind(ASSETS)}
    views = reviews.views(recordings)
    exemplary = reviews.store.exemplary(views)
    held = reviews.store.held()
    return [
        RecordingFacts(
            view.id, view.mode.value, view.ends_at, view.id in exemplary, view.id in held
        )  # fmt: skip
        for view in views.values()
    ]


def run_retention(
    reviews: Reviews, policy: RetentionPolicy, now: datetime, *, apply: bool
) -> dict[str, Any]:
    """What is due at ``now`` and, with ``apply``, what was deleted."""
    facts = retention_facts(reviews)
    pending = [d for d in due(facts, policy, now)
               if d.recording not in reviews.deletions.deleted([d.recording])]  # fmt: skip
    deleted = (
        apply_retention(reviews.storage, reviews.deletions, facts, policy, now) if apply else []
    )
    return {
        "due": [{"recording": d.recording, "reason": d.reason,
                 "kept_until": d.kept_until.isoformat()} for d in pending],
        "deleted": [{"recording": d.recording, "objects": d.objects, "bytes": d.bytes,
                     "reason": d.reason} for d in deleted],
    }  # fmt: skip
