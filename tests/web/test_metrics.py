"""GET /metrics: what Prometheus scrapes, and who may scrape it.

A live lesson with real aiortc peers shows in the room, participant and forwarding
figures; a failed job in the queue's; anyone not on loopback, and without the
metrics token, gets what an unknown path answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from identity.passwords import PasswordHasher
from identity.service import IdentityService
from identity.store import IdentityStore
from recorder.jobs import JobQueue
from scheduler.store import DirectoryStore
from tests.conftest import free_port
from tests.media.peers import publish, subscribe
from tests.web.live_fixtures import lessons_now
from web import demo
from web.app import create_app
from web.database import make_engine
from web.services import Services
from web.settings import load_settings

TOKEN = "metrics-token-for-tests-0123456789abcdef"
LOOPBACK = ("127.0.0.1", 50000)
ELSEWHERE = ("203.0.113.7", 50000)  # TEST-NET-3: not this machine
TEACHER = "teacher:cs-qingxi-shiyan-t1"
CLASSROOM = "classroom:tp-yangshuwan-r1"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def app(engine: Engine, hasher: PasswordHasher, tmp_path: Path) -> FastAPI:
    settings = load_settings(env="development", data_dir=tmp_path, metrics_token=TOKEN)
    identity = IdentityService(IdentityStore(engine), hasher)
    demo.install(DirectoryStore(engine), identity, datetime.now(UTC))
    return create_app(settings, engine=engine, hasher=hasher)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=LOOPBACK) as test_client:
        yield test_client


def scrape(client: TestClient, headers: dict[str, str] | None = None) -> Samples:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    for name, kind in (("sanke_rooms_live", "gauge"), ("sanke_http_requests_total", "counter")):
        assert f"# HELP {name} " in answer.text and f"# TYPE {name} {kind}\n" in answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.mark.slow
def test_a_live_lesson_shows_its_room_participants_and_forwarding(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    lesson = lessons_now(engine)[0].id
    services = services_of(app)
    client.portal.call(services.lessons.step, datetime.now(UTC))  # type: ignore[union-attr]
    before = scrape(client)
    assert (value(before, "sanke_rooms_open"), value(before, "sanke_rooms_live")) == (1, 0)
    assert value(before, "sanke_participants", role="teacher") == 0
    assert value(before, "sanke_sfu_forwarded_packets_total") == 0
    assert value(before, "sanke_live_state_up") == 1
    assert value(before, "sanke_database_up") == 1

    portal = client.portal
    assert portal is not None
    sfu = services.sfu
    teacher = portal.call(publish, sfu, lesson, TEACHER)
    watch = {"video": f"{TEACHER}/camera"}
    classroom, _ = portal.call(
        partial(subscribe, sfu, lesson, CLASSROOM, watch, role="receiving_classroom")
    )
    try:
        deadline = time.monotonic() + 10
        live = scrape(client)
        while time.monotonic() < deadline and not (
            value(live, "sanke_rooms_live") == 1
            and (value(live, "sanke_sfu_forwarded_packets_total") or 0) > 0
        ):
            time.sleep(0.1)
            live = scrape(client)
        assert (value(live, "sanke_rooms_open"), value(live, "sanke_rooms_live")) == (0, 1)
        assert value(live, "sanke_participants", role="teacher") == 1
        assert value(live, "sanke_participants", role="receiving_classroom") == 1
        assert value(live, "sanke_participants", role="inspector") == 0
        assert value(live, "sanke_sfu_subscriptions") == 1
        packets = value(live, "sanke_sfu_forwarded_packets_total")
        assert packets is not None and packets > 0
        assert (value(live, "sanke_sfu_forwarded_bytes_total") or 0) > packets * 12

        portal.call(sfu.leave, lesson, CLASSROOM)
        gone = scrape(client)
        assert value(gone, "sanke_participants", role="receiving_classroom") == 0
        assert value(gone, "sanke_sfu_subscriptions") == 0
        assert (value(gone, "sanke_sfu_forwarded_packets_total") or 0) >= packets  # a counter
    finally:
        portal.call(classroom.close)
        portal.call(teacher.close)


def test_the_job_queue_shows_its_backlog_by_kind_and_its_failures(
    engine: Engine, client: TestClient
) -> None:
    empty = scrape(client)
    assert value(empty, "sanke_recorder_backlog", kind="assets") == 0
    assert value(empty, "sanke_jobs_failed_total") == 0
    jobs, now = JobQueue(engine), datetime.now(UTC)
    jobs.enqueue("P1-L1-20261123", "assets", now)
    claimed = jobs.claim("worker-1", now, timedelta(minutes=30))
    assert claimed is not None
    jobs.fail(claimed, "ffmpeg exited 1", now, retry=False)
    jobs.enqueue("P1-L2-20261123", "assets", now)
    jobs.enqueue("P1-L2-20261123", "clip:17", now)
    jobs.enqueue("P1-L2-20261123", "clip:18", now)
    samples = scrape(client)
    assert value(samples, "sanke_jobs_failed_total") == 1
    assert value(samples, "sanke_recorder_backlog", kind="assets") == 1
    assert value(samples, "sanke_recorder_backlog", kind="clip") == 2  # one label per family


def test_requests_are_counted_by_method_and_status_class(client: TestClient) -> None:
    client.get("/health")
    client.get("/no-such-page")
    samples = scrape(client)
    assert (value(samples, "sanke_http_requests_total", method="GET", status="2xx") or 0) >= 1
    assert (value(samples, "sanke_http_requests_total", method="GET", status="4xx") or 0) >= 1


@pytest.mark.parametrize("address", [LOOPBACK, ("::1", 50000)])
def test_this_machine_may_scrape_without_a_token(app: FastAPI, address: tuple[str, int]) -> None:
    scrape(TestClient(app, client=address))


def test_others_get_what_an_unknown_path_answers_unless_they_bring_the_token(
    app: FastAPI,
) -> None:
    elsewhere = TestClient(app, client=ELSEWHERE)
    unknown = elsewhere.get("/no-such-path")
    for answer in (
        elsewhere.get("/metrics"),
        elsewhere.get("/metrics", headers={"Authorization": "Bearer not-the-token"}),
        # a proxy on this machine passed it on: the request did not start here
        TestClient(app, client=LOOPBACK).get("/metrics", headers={"X-Forwarded-For": "1.2.3.4"}),
    ):
        assert (answer.status_code, answer.json()) == (404, unknown.json())
    scrape(elsewhere, headers={"Authorization": f"Bearer {TOKEN}"})


def test_without_a_token_setting_only_this_machine_may_scrape(
    engine: Engine, tmp_path: Path
) -> None:
    bare = create_app(load_settings(env="development", data_dir=tmp_path), engine=engine)
    answer = TestClient(bare, client=ELSEWHERE).get(
        "/metrics", headers={"Authorization": "Bearer "}
    )
    assert answer.status_code == 404
    scrape(TestClient(bare, client=LOOPBACK))


def test_an_unreachable_database_shows_as_down_without_job_figures(tmp_path: Path) -> None:
    nowhere = make_engine(f"postgresql+psycopg://sanke:sanke@127.0.0.1:{free_port()}/sanke")
    try:
        settings = load_settings(env="development", data_dir=tmp_path)
        samples = scrape(TestClient(create_app(settings, engine=nowhere), client=LOOPBACK))
    finally:
        nowhere.dispose()
    assert value(samples, "sanke_database_up") == 0
    assert value(samples, "sanke_rooms_live") == 0  # what the app knows in memory still shows
    assert not any(name == "sanke_recorder_backlog" for name, _ in samples)
