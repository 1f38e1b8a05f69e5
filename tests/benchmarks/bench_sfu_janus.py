"""The Janus VideoRoom row of ``sanke bench sfu --peer janus``.

Janus (Debian's package, run as a plain child process) does not gather loopback
candidates, so Janus, the publisher and the subscribers run in a network namespace
of our own with a private address (tests/benchmarks/netns.py). The publisher and the
subscribers are the same aiortc peers as in Sanke's row; only signalling differs.
Janus's CPU is read from /proc; packets out are what the subscribers received.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx2

from tests.benchmarks import janus_videoroom as janus
from tests.benchmarks import netns

ROOM = 4242
NAMESPACE = "sanke-bench"
_session: janus.JanusSession | None = None


async def _room(base_url: str) -> janus.VideoRoom:
    global _session
    if _session is None:
        client = httpx2.AsyncClient(trust_env=False, timeout=30)
        _session = await janus.JanusSession.create(client, base_url)
    return janus.VideoRoom(_session)


async def publish(base_url: str, offer_sdp: str, feed_file: Path) -> str:
    rooms = await _room(base_url)
    try:
        await rooms.create_room(room=ROOM, publishers=10)
    except janus.JanusApiError:
        pass  # already there
    answer, feed, _handle = await rooms.publish(ROOM, offer_sdp)
    feed_file.write_text(str(feed))
    return answer


async def subscribe(base_url: str, connection: Any, feed_file: Path) -> None:
    rooms = await _room(base_url)
    deadline = time.time() + 30
    while not feed_file.exists():
        if time.time() > deadline:
            raise RuntimeError("the publisher never joined Janus")
        await asyncio.sleep(0.1)
    offer, handle = await rooms.subscribe(ROOM, int(feed_file.read_text()))
    answer = await connection.answer(offer, set())
    await rooms.start(handle, answer)


def run_janus(count: int, seconds: float, workdir: Path) -> dict[str, object]:
    from tests.benchmarks.bench_sfu import _cpu_seconds, _row, _rss_mb, _spawn, stop_children

    space = netns.create(NAMESPACE)
    prefix = netns.exec_prefix(NAMESPACE)
    children = []
    try:
        with janus.JanusServer(bind_ip=space.ip, ice_ip=space.ip, argv_prefix=prefix) as server:
            base = server.base_url
            feed_file = workdir / "janus-feed"
            feed_file.unlink(missing_ok=True)
            setup = 8.0 + count * 0.1
            start = time.time() + setup + 3.0
            end = start + seconds
            window = ["--start", str(start), "--end", str(end), "--peer", "janus"]
            pub_out, sub_out = (
                workdir / f"janus-pub-{count}.json",
                workdir / f"janus-sub-{count}.json",
            )
            for stale in (pub_out, sub_out):
                stale.unlink(missing_ok=True)
            common = ["--url", base, "--feed-file", str(feed_file)]
            children.append(
                _spawn("publisher", *common, "--out", str(pub_out), *window, prefix=prefix)
            )
            tokens = workdir / "janus-tokens.json"
            tokens.write_text(json.dumps([""] * count))
            children.append(
                _spawn(
                    "subscribers",
                    *common,
                    "--count",
                    str(count),
                    "--tokens",
                    str(tokens),
                    "--out",
                    str(sub_out),
                    *window,
                    prefix=prefix,
                )
            )
            while time.time() < start:
                time.sleep(0.05)
            cpu0 = _cpu_seconds(server.pid)
            time.sleep(seconds)
            cpu1 = _cpu_seconds(server.pid)
            rss = _rss_mb(server.pid)
            for child in children:
                child.wait(timeout=60 + count)
            received = json.loads(sub_out.read_text())
            stats = {
                "out_packets": sum(received["packets_in_window"]),
                "out_bytes": sum(received["bytes_in_window"]),
            }
            return _row(
                "janus",
                count,
                seconds,
                (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]),
                stats,
                {"out_packets": 0, "out_bytes": 0},
                rss,
                pub_out,
                [sub_out],
            )
    finally:
        stop_children(children)
        netns.delete(NAMESPACE)
