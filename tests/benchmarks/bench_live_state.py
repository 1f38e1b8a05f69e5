"""Benchmark: event-bus latency and throughput, in-process vs Redis (JSON on stdout).

    sanke bench live_state [--events N] [--redis-url URL]

Publishes N events to one subscriber on each adapter and reports publish→receive
latency percentiles and events per second. Bounded: N ≤ 100,000, 60 s per adapter.
Compare the two adapters within one run; absolute numbers vary with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from redis.asyncio import Redis  # noqa: E402

from kernel.events import Event, EventBus  # noqa: E402
from kernel.health import LiveStateHealth  # noqa: E402
from kernel.memory_bus import MemoryEventBus  # noqa: E402
from kernel.redis_bus import RedisEventBus  # noqa: E402


@dataclass(frozen=True, kw_only=True)
class Tick(Event):
    TYPE = "bench.tick"
    sent: float
    room: str = "R1"

    @property
    def key(self) -> str:
        return self.room


async def measure(bus: EventBus, events: int) -> dict[str, float]:
    latencies: list[float] = []
    now = datetime.now(UTC)
    async with bus.subscribe("bench.tick/*") as sub:
        started = time.perf_counter()
        for _ in range(events):
            await bus.publish(Tick(at=now, sent=time.perf_counter()))
            got = await sub.get(timeout=5)
            if not isinstance(got, Tick):
                raise RuntimeError("lost an event")
            latencies.append((time.perf_counter() - got.sent) * 1e6)
            if time.perf_counter() - started > 60:
                break
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "events": len(latencies),
        "events_per_s": round(len(latencies) / elapsed, 1),
        "latency_p50_us": round(statistics.median(latencies), 1),
        "latency_p95_us": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "latency_p99_us": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--json", action="store_true", help="(output is always JSON)")
    args = parser.parse_args()
    events = max(100, min(args.events, 100_000))
    result: dict[str, object] = {"benchmark": "live_state", "round_trip": "publish to subscriber"}
    result["memory"] = await measure(MemoryEventBus(), events)
    client = Redis.from_url(args.redis_url)
    bus = RedisEventBus(client, LiveStateHealth("redis"), prefix="bench:")
    try:
        result["redis"] = await measure(bus, events)
    except OSError as exc:
        result["redis"] = {"error": f"Redis unreachable: {exc}"}
    finally:
        await bus.aclose()
        await client.aclose()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
