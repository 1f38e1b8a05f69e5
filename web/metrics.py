"""Prometheus metrics of one app: rooms, participants, forwarding, the recorder's job
queue, HTTP requests, and whether the database and the live state answer.

:class:`AppMetrics` reads current values when it is scraped (``collect``), from the
services the app already has; nothing is kept per event but the request counts that
:class:`RequestCounter` (ASGI middleware) adds up. The database's figures are read
off the event loop (``read_database``) just before the scrape renders, so an
unreachable database slows the scrape, never the live lessons. Each app has its own
``CollectorRegistry``: tests build many apps in one process.

Room counts are this instance's view of the timetable's unfinished rooms (every
instance holds them all); participants and forwarding are this process's SFU.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recorder.jobs import JobQueue, JobState
from recorder.worker import ASSETS, CLIP_PREFIX
from rooms.lifecycle import RoomState
from rooms.media_grants import GRANTS
from web.services import Services

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # text exposition format 0.0.4
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BACKLOG = (JobState.QUEUED, JobState.RUNNING)
#: Job kinds reported even with nothing queued, so their series always exist.
KINDS = (ASSETS, CLIP_PREFIX.rstrip(":"))


def kind_family(kind: str) -> str:
    """A job kind without its object: ``clip:17`` is a ``clip`` (labels stay few)."""
    return kind.partition(":")[0]


def method_label(method: str) -> str:
    """The request method, or ``other`` (clients choose methods: labels stay few)."""
    return method if method in METHODS else "other"


@dataclass(frozen=True)
class DatabaseReading:
    """Whether the database answered, and if so how many jobs are in each state and kind."""

    up: bool
    jobs: Mapping[tuple[JobState, str], int] = field(default_factory=dict)


class AppMetrics:
    """One app's registry and collector; ``render`` gives the text Prometheus scrapes."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._queue = JobQueue(services.engine)
        self._database = DatabaseReading(up=False)
        #: (method, status class) -> requests answered; added to by ``RequestCounter``.
        self.requests: Counter[tuple[str, str]] = Counter()
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def read_database(self) -> None:
        """Count the jobs, which tells whether the database answers. Blocking: call it
        off the event loop, before ``render``."""
        try:
            jobs = self._queue.counts(*BACKLOG, JobState.FAILED)
        except (SQLAlchemyError, OSError) as exc:
            logger.debug("AppMetrics: the database did not answer: %s", exc)
            self._database = DatabaseReading(up=False)
        else:
            self._database = DatabaseReading(up=True, jobs=jobs)

    def render(self) -> bytes:
        """Every metric in the text exposition format (calls ``collect``)."""
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """The current values (run on the event loop, which owns the SFU and the rooms)."""
        services = self._services
        rooms = services.lessons.rooms_by_state()
        yield _gauge("rooms_live", "Lesson rooms live (the teacher has published).",
                     rooms.get(RoomState.LIVE, 0))  # fmt: skip
        yield _gauge("rooms_open", "Lesson rooms open, waiting for the teacher to publish.",
                     rooms.get(RoomState.OPEN, 0))  # fmt: skip
        census = services.sfu.census()
        participants = GaugeMetricFamily(
            "sanke_participants", "Participants connected to this process's SFU, by role.",
            labels=["role"],
        )  # fmt: skip
        for role in sorted({str(role) for role in GRANTS} | set(census.participants)):
            participants.add_metric([role], census.participants.get(role, 0))
        yield participants
        yield _gauge("sfu_subscriptions", "Subscriptions of SFU participants to a source.",
                     census.subscriptions)  # fmt: skip
        yield CounterMetricFamily("sanke_sfu_forwarded_packets",
                                  "RTP packets the SFU forwarded to subscribers.",
                                  value=census.forwarded_packets)  # fmt: skip
        yield CounterMetricFamily("sanke_sfu_forwarded_bytes",
                                  "RTP bytes the SFU forwarded to subscribers.",
                                  value=census.forwarded_bytes)  # fmt: skip
        yield from self._jobs()
        requests = CounterMetricFamily(
            "sanke_http_requests", "HTTP requests answered, by method and status class.",
            labels=["method", "status"],
        )  # fmt: skip
        for (method, status), count in sorted(self.requests.items()):
            requests.add_metric([method, status], count)
        yield requests
        live = services.live
        yield _gauge("live_state_up", "1 if the live state (Redis or in-process) is healthy.",
                     int(live is not None and not live.health.degraded))  # fmt: skip
        yield _gauge("database_up", "1 if the database answered this scrape.",
                     int(self._database.up))  # fmt: skip

    def _jobs(self) -> Iterator[Metric]:
        """The job queue's figures; none while the database does not answer."""
        if not self._database.up:
            return
        backlog: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
        failed = 0
        for (state, kind), count in self._database.jobs.items():
            if state in BACKLOG:
                backlog[kind_family(kind)] += count
            elif state is JobState.FAILED:
                failed += count
        family = GaugeMetricFamily(
            "sanke_recorder_backlog", "Recording jobs queued or running, by kind.",
            labels=["kind"],
        )  # fmt: skip
        for kind, count in sorted(backlog.items()):
            family.add_metric([kind], count)
        yield family
        # A gauge despite its name: re-queueing a failed job takes it off again.
        yield _gauge("jobs_failed_total", "Recording jobs failed for good (until re-queued).",
                     failed)  # fmt: skip


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"sanke_{name}", documentation, value=value)


class RequestCounter:
    """ASGI middleware: counts each HTTP request by method and status class (``2xx``...).

    A request whose handler raised before answering counts as ``5xx``: the server's
    error middleware, outside this one, answers it with a 500.
    """

    def __init__(self, app: ASGIApp, requests: Counter[tuple[str, str]]) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.requests[(method_label(scope["method"]), f"{status // 100}xx")] += 1
