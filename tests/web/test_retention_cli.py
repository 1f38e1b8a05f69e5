"""Retention as ``sanke record`` and ``sanke retention`` run it: what the policy no longer
keeps is listed, then deleted through the storage and logged; exemplary recordings stay,
and a deleted recording no longer exists for its readers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from recorder.deletions import DeletionLog
from recorder.retention import RetentionPolicy
from tests.web.conftest import ACCOUNTS, bearer
from tests.web.review_fixtures import recorded_lesson
from web.archive import run_retention
from web.services import Services

pytestmark = pytest.mark.slow

MONTH = RetentionPolicy(delivery_days=30, master_days=30, open_days=30)


def test_retention_deletes_what_is_due_keeps_the_exemplary_and_logs_it(
    app: FastAPI, client: TestClient, engine: Engine, recorded_assets: Path
) -> None:
    services: Services = app.state.services
    reviews = services.reviews
    lesson = recorded_lesson(engine, services.settings.data_dir, recorded_assets)
    soon = datetime.now(UTC) + timedelta(days=10)
    assert run_retention(reviews, MONTH, soon, apply=True) == {"due": [], "deleted": []}
    later = datetime.now(UTC) + timedelta(days=31)
    reviews.store.mark_exemplary(lesson, True, "admin", datetime.now(UTC))
    assert run_retention(reviews, MONTH, later, apply=True)["due"] == []  # kept for ever
    reviews.store.mark_exemplary(lesson, False, "admin", datetime.now(UTC))
    listed = run_retention(reviews, MONTH, later, apply=False)
    assert [d["recording"] for d in listed["due"]] == [lesson] and listed["deleted"] == []
    done = run_retention(reviews, MONTH, later, apply=True)
    assert [d["recording"] for d in done["deleted"]] == [lesson]
    assert done["deleted"][0]["objects"] > 10 and done["deleted"][0]["bytes"] > 100_000
    assert not (services.settings.data_dir / "assets" / lesson).exists()
    assert [d.actor for d in DeletionLog(engine).of(lesson)] == ["retention"]
    assert run_retention(reviews, MONTH, later, apply=True) == {"due": [], "deleted": []}
    researcher = bearer(client, ACCOUNTS["researcher"])
    assert client.get(f"/api/v1/recordings/{lesson}", headers=researcher).status_code == 404
    assert all(r["recording"] != lesson
               for r in client.get("/api/v1/recordings", headers=researcher).json())  # fmt: skip
