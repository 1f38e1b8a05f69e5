"""Benchmark: the embedded SFU forwarding one publisher to N subscribers (JSON on stdout).

    sanke bench sfu [--subscribers 10,50,100] [--seconds 10] [--peer janus] [--json]

Three kinds of process on loopback: the SFU (media.http behind uvicorn), one aiortc
publisher sending pre-encoded 720p30 H.264 (~1.5 Mbit/s) + Opus through WHIP, and one
process of N aiortc subscribers (WHEP) that never decode: they count packets and whole
frames and measure latency from the SFU-translated sender reports (the publisher's
wall clock → each frame's arrival). SFU CPU and memory come from /proc.
Bounded: N ≤ 500, S ≤ 300 s, every child killed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx2 as httpx  # noqa: E402
import uvloop  # noqa: E402

from media.grants import MediaGrant, sign_grant  # noqa: E402

ROOM = "bench"
SUBSCRIBER_PROCESSES = 2  # one Python process cannot decrypt 27,000 packets/s without queueing
_HEADER = struct.Struct("!BHII")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _token(secret: str, identity: str, publish: bool) -> str:
    grant = MediaGrant(
        room=ROOM,
        identity=identity,
        role="teacher" if publish else "viewer",
        can_publish=frozenset({"camera", "microphone"}) if publish else frozenset(),
        can_subscribe=not publish,
        hidden=False,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    return sign_grant(grant, secret, datetime.now(UTC))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- roles (each runs in its own process) ---------------------------------------


def role_server(args: argparse.Namespace) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from media.aiortc_tap import use_loopback_candidates
    from media.http import MediaHttp
    from media.sfu import Sfu

    use_loopback_candidates()

    class TimedSfu(Sfu):
        """Measures fan-out: from having a publisher's packet to having sent it to all."""

        fanout: list[float] = []

        def _on_rtp(self, participant: Any, data: bytes, now_ms: float) -> None:
            started = time.perf_counter()
            super()._on_rtp(participant, data, now_ms)
            if participant.ups_by_mid:
                self.fanout.append(time.perf_counter() - started)

    sfu = TimedSfu()
    gc_pauses: list[float] = []  # seconds, every collection of the garbage collector
    gc_started = [0.0]

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(gc_timer)

    async def stats(request: Request) -> JSONResponse:
        fanout = sorted(sfu.fanout)
        sfu.fanout = []
        pauses = sorted(gc_pauses)
        gc_pauses.clear()
        packets = bytes_ = 0
        for room in sfu.rooms.values():
            for participant in room.participants.values():
                if participant.connection is not None and participant.downs_by_mid:
                    packets += participant.connection.sent_packets
                    bytes_ += participant.connection.sent_bytes
        return JSONResponse(
            {
                "out_packets": packets,
                "out_bytes": bytes_,
                "fanout_ms_p50": round(fanout[len(fanout) // 2] * 1000, 3) if fanout else None,
                "fanout_ms_p99": round(fanout[int(len(fanout) * 0.99)] * 1000, 3)
                if fanout
                else None,
                "gc_collections": len(pauses),
                "gc_ms_max": round(pauses[-1] * 1000, 3) if pauses else None,
            }
        )

    app = Starlette(
        routes=[Route("/bench/stats", stats), Mount("/media", MediaHttp(sfu, args.secret).app())]
    )
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", loop="uvloop"
    )


async def _publisher(args: argparse.Namespace) -> None:
    from aiortc import RTCSessionDescription

    from media.aiortc_tap import peer_connection
    from tests.benchmarks.sfu_media import PacedPackets, ensure_media, load_packets, prefer_h264

    video_path, audio_path = ensure_media()
    start = time.time() + 0.5
    window = (args.start, args.end)
    video = PacedPackets("video", load_packets(video_path), start, 90000, window)
    audio = PacedPackets("audio", load_packets(audio_path), start, 48000, window)
    pc = peer_connection()
    prefer_h264(pc.addTransceiver(video, direction="sendonly"))
    pc.addTransceiver(audio, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    if args.peer == "janus":
        from tests.benchmarks import bench_sfu_janus

        answer = await bench_sfu_janus.publish(
            args.url, pc.localDescription.sdp, Path(args.feed_file)
        )
    else:
        async with httpx.AsyncClient(timeout=20) as client:
            response = await client.post(
                args.url,
                content=pc.localDescription.sdp,
                headers={
                    "Content-Type": "application/sdp",
                    "Authorization": f"Bearer {args.token}",
                },
            )
            response.raise_for_status()
            answer = response.text
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await asyncio.sleep(max(0.0, args.end - time.time() + 1.0))
    Path(args.out).write_text(
        json.dumps(
            {"video_frames_sent": video.sent_in_window, "audio_packets_sent": audio.sent_in_window}
        )
    )
    await pc.close()


class _Counter:
    """What one subscriber saw of the video: whole frames and their latency."""

    def __init__(self, window: tuple[float, float]) -> None:
        self.window = window
        self.video_ssrc: int | None = None
        self.sr: tuple[float, int] | None = None  # publisher wall time, RTP timestamp
        self.frames: dict[
            int, list[int]
        ] = {}  # timestamp -> [first seq, last seq, packets, marker]
        self.latencies: list[float] = []
        self.complete = 0
        self.packets = 0
        self.window_packets = 0
        self.window_bytes = 0

    def on_rtp(self, data: bytes, now_ms: float) -> None:
        self.packets += 1
        if self.window[0] <= time.time() <= self.window[1]:
            self.window_packets += 1
            self.window_bytes += len(data) + 16  # + the SRTP trailer, as sent
        marker_pt, sequence, timestamp, ssrc = _HEADER.unpack_from(data, 1)
        if ssrc != self.video_ssrc:
            return
        frame = self.frames.get(timestamp)
        if frame is None:
            frame = self.frames[timestamp] = [sequence, sequence, 0, 0]
            if len(self.frames) > 300:
                self.frames.pop(next(iter(self.frames)))
        frame[1] = sequence
        frame[2] += 1
        if marker_pt & 0x80 and self.sr is not None:
            captured = (
                self.sr[0]
                + ((timestamp - self.sr[1] + (1 << 31)) % (1 << 32) - (1 << 31)) / 90000.0
            )
            if self.window[0] <= captured <= self.window[1]:
                self.latencies.append((time.time() - captured) * 1000.0)
                if (frame[1] - frame[0]) % 65536 + 1 == frame[2]:
                    self.complete += 1

    def on_rtcp(self, data: bytes) -> None:
        from media.rtp import rtcp

        try:
            items = rtcp.parse_rtcp(data)
        except ValueError:
            return
        for item in items:
            if isinstance(item, rtcp.SenderReport) and item.ssrc == self.video_ssrc:
                seconds = (item.ntp >> 32) - 2_208_988_800 + (item.ntp & 0xFFFFFFFF) / 2**32
                self.sr = (seconds, item.rtp_timestamp)


async def _subscribers(args: argparse.Namespace) -> None:
    from media.aiortc_tap import Connection, use_loopback_candidates

    if args.peer != "janus":
        use_loopback_candidates()
    tokens = json.loads(Path(args.tokens).read_text())
    window = (args.start, args.end)
    counters: list[_Counter] = []
    connections: list[Connection] = []

    async def one(index: int, client: httpx.AsyncClient) -> None:
        counter = _Counter(window)
        connection = Connection(counter.on_rtp, counter.on_rtcp)
        if args.peer == "janus":
            from tests.benchmarks import bench_sfu_janus

            await bench_sfu_janus.subscribe(args.url, connection, Path(args.feed_file))
        else:
            offer = await connection.offer([("video", "recvonly"), ("audio", "recvonly")])
            response = await client.post(
                args.url,
                content=offer,
                headers={
                    "Content-Type": "application/sdp",
                    "Authorization": f"Bearer {tokens[index]}",
                },
            )
            response.raise_for_status()
            await connection.accept(response.text)
        video = [s for s in connection.sections() if s.kind == "video"]
        counter.video_ssrc = video[0].remote_ssrc if video else None
        counters.append(counter)
        connections.append(connection)

    async with httpx.AsyncClient(timeout=30) as client:
        for batch in range(0, args.count, 10):
            await asyncio.gather(
                *(one(i, client) for i in range(batch, min(args.count, batch + 10)))
            )
    Path(args.out + ".ready").write_text("ready")
    await asyncio.sleep(max(0.0, args.end - time.time() + 1.0))
    result = {
        "frames_complete": [c.complete for c in counters],
        "latencies": [round(x, 3) for c in counters for x in c.latencies],
        "packets": [c.packets for c in counters],
        "packets_in_window": [c.window_packets for c in counters],
        "bytes_in_window": [c.window_bytes for c in counters],
    }
    Path(args.out).write_text(json.dumps(result))
    for connection in connections:
        await connection.close()


# --- orchestration ------------------------------------------------------------------


def _spawn(role: str, *extra: str, prefix: list[str] | None = None) -> subprocess.Popen[bytes]:
    command = [*(prefix or []), sys.executable, __file__, "--role", role, *extra]
    return subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2])


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def run_sanke(count: int, seconds: float, workdir: Path) -> dict[str, object]:
    secret = secrets.token_hex(32)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _spawn("server", "--port", str(port), "--secret", secret)
    children = [server]
    try:
        _wait_http(f"{base}/bench/stats", 20)
        everyone = [_token(secret, f"viewer-{i}", False) for i in range(count)]
        processes = SUBSCRIBER_PROCESSES if count >= 20 else 1
        shares = [everyone[k::processes] for k in range(processes)]
        setup = 8.0 + count * 0.08
        start = time.time() + setup + 3.0
        end = start + seconds
        window = ["--start", str(start), "--end", str(end)]
        pub_out = workdir / f"pub-{count}.json"
        sub_outs = [workdir / f"sub-{count}-{k}.json" for k in range(processes)]
        for stale in (pub_out, *sub_outs):
            stale.unlink(missing_ok=True)
        children.append(
            _spawn(
                "publisher",
                "--url",
                f"{base}/media/whip/{ROOM}",
                "--token",
                _token(secret, "teacher", True),
                "--out",
                str(pub_out),
                *window,
            )
        )
        time.sleep(2.0)
        for share, sub_out in zip(shares, sub_outs, strict=True):
            tokens = sub_out.with_suffix(".tokens")
            tokens.write_text(json.dumps(share))
            children.append(
                _spawn(
                    "subscribers",
                    "--count",
                    str(len(share)),
                    "--url",
                    f"{base}/media/whep/{ROOM}",
                    "--tokens",
                    str(tokens),
                    "--out",
                    str(sub_out),
                    *window,
                )
            )
        while time.time() < start:
            time.sleep(0.05)
        cpu0, stats0 = _cpu_seconds(server.pid), httpx.get(f"{base}/bench/stats").json()
        time.sleep(seconds)
        cpu1, stats1 = _cpu_seconds(server.pid), httpx.get(f"{base}/bench/stats").json()
        rss = _rss_mb(server.pid)
        for child in children[1:]:
            child.wait(timeout=60 + count)
        return _row(
            "sanke",
            count,
            seconds,
            (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]),
            stats1,
            stats0,
            rss,
            pub_out,
            sub_outs,
        )
    finally:
        stop_children(children)


def stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each child still running; kill it if it has not gone in 10 s."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _row(
    peer: str,
    count: int,
    seconds: float,
    cpu_split: tuple[float, float],
    stats1: dict[str, Any],
    stats0: dict[str, int],
    rss: float,
    pub_out: Path,
    sub_outs: list[Path],
) -> dict[str, object]:
    cpu = cpu_split[0] + cpu_split[1]
    published = json.loads(pub_out.read_text())
    received: dict[str, list[Any]] = {"frames_complete": [], "latencies": []}
    for sub_out in sub_outs:
        part = json.loads(sub_out.read_text())
        for key in received:
            received[key] += part[key]
    frames_sent = max(1, published["video_frames_sent"])
    complete = received["frames_complete"]
    latencies = sorted(received["latencies"])
    out_packets = stats1["out_packets"] - stats0["out_packets"]
    out_bytes = stats1["out_bytes"] - stats0["out_bytes"]
    cpu_percent = 100.0 * cpu / seconds
    return {
        "peer": peer,
        "subscribers": count,
        "sfu_cpu_percent": round(cpu_percent, 1),
        "out_packets_per_s": round(out_packets / seconds),
        "out_mbit_per_s": round(out_bytes * 8 / seconds / 1e6, 1),
        "us_per_out_packet": round(cpu * 1e6 / out_packets, 2) if out_packets else None,
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "latency_ms_p99": round(latencies[int(0.99 * (len(latencies) - 1))], 2)
        if latencies
        else None,
        "frames_received_ratio": round(statistics.mean(complete) / frames_sent, 4)
        if complete
        else 0.0,
        "subscribers_per_core": round(count / (cpu_percent / 100.0)) if cpu_percent > 0 else None,
        "sfu_rss_mb": round(rss, 1),
        "sfu_fanout_ms_p50": stats1.get("fanout_ms_p50"),
        "sfu_fanout_ms_p99": stats1.get("fanout_ms_p99"),
        "sfu_system_cpu_share": round(cpu_split[1] / cpu, 2) if cpu else None,
        "sfu_gc_collections": stats1.get("gc_collections"),
        "sfu_gc_ms_max": stats1.get("gc_ms_max"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", default="10,50,100", help="comma-separated counts")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--peer", choices=["janus"], default=None)
    parser.add_argument("--json", action="store_true", help="JSON output (the only format)")
    parser.add_argument("--role", default=None, help=argparse.SUPPRESS)
    for name in (
        "--port",
        "--secret",
        "--url",
        "--token",
        "--tokens",
        "--out",
        "--count",
        "--start",
        "--end",
        "--feed-file",
    ):
        parser.add_argument(name, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        for name in ("port", "count"):
            if getattr(args, name) is not None:
                setattr(args, name, int(getattr(args, name)))
        for name in ("start", "end"):
            if getattr(args, name) is not None:
                setattr(args, name, float(getattr(args, name)))
        if args.role == "server":
            role_server(args)
        elif args.role == "publisher":
            uvloop.run(_publisher(args))
        elif args.role == "subscribers":
            uvloop.run(_subscribers(args))
        return
    counts = [int(x) for x in args.subscribers.split(",") if x]
    if any(not 1 <= n <= 500 for n in counts) or not 1 <= args.seconds <= 300:
        parser.error("subscribers must be 1..500 and seconds 1..300")
    from tests.benchmarks.sfu_media import ensure_media

    ensure_media()
    workdir = Path("var/bench/sfu")
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for count in counts:
        rows.append(run_sanke(count, args.seconds, workdir))
        print(json.dumps(rows[-1]), file=sys.stderr)
    result: dict[str, object] = {"rows": rows}
    if args.peer == "janus":
        from tests.benchmarks.bench_sfu_janus import run_janus

        janus_rows = [run_janus(count, args.seconds, workdir) for count in counts]
        result["janus"] = janus_rows
        result["ratio_cpu_janus_over_sanke"] = [
            round(float(j["sfu_cpu_percent"]) / float(s["sfu_cpu_percent"]), 2)  # type: ignore[arg-type]
            for s, j in zip(rows, janus_rows, strict=True)
        ]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
