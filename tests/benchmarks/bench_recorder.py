"""Benchmark: the recorder writing N live 720p+Opus streams from the SFU (JSON on stdout).

    sanke bench recorder [--streams 10,50,100] [--seconds 10] [--lesson-minutes 45] [--json]

N rooms, each with one teacher publishing a camera (pre-encoded 720p30 H.264, ~1.5 Mbit/s)
and a microphone (Opus) over WHIP: a stream is what one lesson gives the recorder, and N
rooms make the recorder run N ``RoomRecorder``s (N sockets, N peer connections), as
``sanke record`` does for N live lessons. Processes on loopback: the SFU (media.http
behind uvicorn), the publishers (aiortc, ``sfu_media.PacedPackets``, a few per process),
and the recorder (``RecorderAgent``, its own process, whose CPU /proc measures alone:
``streams_per_core`` is N over it, given only when the load was reached, that is when
the recorder recorded ≥ 95 % of the video frames the publishers sent; ``--profile P``
also writes a cProfile of the recorder in the window to ``P.N``, to see where it goes).
Two steps of ending a segment are timed by wrapping them in the recorder process of this
benchmark only: ``SegmentWriter._finish``, what the event loop spends on it
(``segment_write_ms_*``), and ``SegmentWriter._make_durable`` (close, fsync, rename,
timeline line), which the recorder does in a thread (``segment_durable_ms_*``).
Afterwards one recorded camera track is assembled and cut into HLS; so is a synthetic
lesson of ``--lesson-minutes`` made of the recorded segments repeated, which gives
``hls_seconds_per_lesson_minute``.
Bounded: N ≤ 200, S ≤ 300 s, every child stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx2 as httpx  # noqa: E402

from media.grants import sign_grant  # noqa: E402
from rooms.media_grants import media_grant  # noqa: E402
from tests.benchmarks.bench_sfu import stop_children  # noqa: E402
from tests.benchmarks.sfu_media import ensure_media  # noqa: E402

PER_PROCESS = 10  # publishers per process: aiortc packetizes in Python
CLK_TCK = os.sysconf("SC_CLK_TCK")
WORKDIR = Path("var/bench/recorder")
LOAD_REACHED = 0.95  # of the publishers' video frames recorded, for streams_per_core


def _token(secret: str, room: str, role: str) -> str:
    now = datetime.now(UTC)
    return sign_grant(media_grant(room, f"{role}:{room}", role, "录制", now), secret, now)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def _p99(values: list[float]) -> float | None:
    return round(sorted(values)[int(0.99 * (len(values) - 1))], 2) if values else None


def _max(values: list[float]) -> float | None:
    return round(max(values), 2) if values else None


# --- roles (each runs in its own process) ---------------------------------------


def role_server(args: argparse.Namespace) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from media.aiortc_tap import use_loopback_candidates
    from media.http import MediaHttp
    from media.sfu import Sfu

    use_loopback_candidates()
    app = Starlette(routes=[Mount("/media", MediaHttp(Sfu(), args.secret).app())])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off",
                ws="websockets-sansio", loop="uvloop")  # fmt: skip


async def _publishers(args: argparse.Namespace) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from media.aiortc_tap import peer_connection, use_loopback_candidates
    from tests.benchmarks.sfu_media import PacedPackets, load_packets, prefer_h264

    use_loopback_candidates()
    video_path, audio_path = ensure_media()
    video_packets, audio_packets = load_packets(video_path), load_packets(audio_path)
    window = (args.start, args.end)
    tracks: list[PacedPackets] = []
    peers: list[RTCPeerConnection] = []

    async def one(room: str, token: str, client: httpx.AsyncClient) -> None:
        start = time.time() + 0.5
        video = PacedPackets("video", video_packets, start, 90000, window)
        audio = PacedPackets("audio", audio_packets, start, 48000, window)
        pc = peer_connection()
        prefer_h264(pc.addTransceiver(video, direction="sendonly"))
        pc.addTransceiver(audio, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        response = await client.post(
            f"{args.url}/whip/{room}", content=pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
        )  # fmt: skip
        response.raise_for_status()
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        tracks.append(video)
        peers.append(pc)

    rooms: dict[str, str] = json.loads(Path(args.tokens).read_text())
    async with httpx.AsyncClient(timeout=20) as client:
        await asyncio.gather(*(one(room, token, client) for room, token in rooms.items()))
    await asyncio.sleep(max(0.0, args.end - time.time() + 1.0))
    Path(args.out).write_text(json.dumps({"video_frames_sent": [t.sent_in_window for t in tracks]}))
    for pc in peers:
        await pc.close()


async def _recorder(args: argparse.Namespace) -> None:
    from media.aiortc_tap import use_loopback_candidates
    from recorder.agent import RecorderAgent
    from recorder.segments import SegmentWriter

    use_loopback_candidates()
    timings: dict[str, list[tuple[float, float]]] = {"finish": [], "durable": []}

    def timed(name: str, step: Any) -> Any:
        def run(*args: Any) -> None:
            started = time.perf_counter()
            step(*args)  # when the step raises, it is not timed
            timings[name].append((time.time(), (time.perf_counter() - started) * 1000.0))

        return run

    SegmentWriter._finish = timed("finish", SegmentWriter._finish)  # type: ignore[method-assign]
    SegmentWriter._make_durable = timed(  # type: ignore[method-assign]
        "durable", SegmentWriter._make_durable
    )
    rooms = [f"room-{i}" for i in range(args.count)]
    ws_url = args.url.replace("http://", "ws://") + "/ws"
    agent = RecorderAgent(
        ws_url, lambda: rooms, lambda room: _token(args.secret, room, "recorder"), Path(args.root)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(max(0.0, args.end - time.time() + 0.5), stop.set)
    profile = cProfile.Profile() if args.profile else None
    if profile is not None:  # the window only: not the imports, not the negotiation
        loop.call_later(max(0.0, args.start - time.time()), profile.enable)
        loop.call_later(max(0.0, args.end - time.time()), profile.disable)
    await agent.run(stop)
    if profile is not None:
        profile.dump_stats(args.profile)
    in_window = {
        f"{name}_ms": [ms for when, ms in values if args.start <= when <= args.end]
        for name, values in timings.items()
    }
    Path(args.out).write_text(json.dumps({**in_window, "segments": len(timings["durable"])}))


# --- orchestration ------------------------------------------------------------------


def _spawn(role: str, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--role", role, *extra]
    return subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2])


def _wait_port(port: int, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the SFU did not listen on {port} within {seconds} s")


def run(count: int, seconds: float, workdir: Path, profile: str = "") -> dict[str, Any]:
    secret, port = secrets.token_hex(32), _free_port()
    url = f"http://127.0.0.1:{port}/media"
    root = workdir / f"rec-{count}"
    shutil.rmtree(root, ignore_errors=True)
    children = [_spawn("server", "--port", str(port), "--secret", secret)]
    try:
        _wait_port(port, 20)
        setup = 6.0 + count * 0.15
        start = time.time() + setup + 4.0  # warm-up: every recorder joined, a segment cut
        end = start + seconds
        window = ["--start", str(start), "--end", str(end)]
        rooms = [f"room-{i}" for i in range(count)]
        pub_outs = []
        for k in range(0, count, PER_PROCESS):
            tokens = workdir / f"pub-{count}-{k}.tokens"
            tokens.write_text(json.dumps({r: _token(secret, r, "teacher")
                                          for r in rooms[k:k + PER_PROCESS]}))  # fmt: skip
            pub_outs.append(workdir / f"pub-{count}-{k}.json")
            pub_outs[-1].unlink(missing_ok=True)
            children.append(_spawn("publishers", "--url", url, "--tokens", str(tokens),
                                   "--out", str(pub_outs[-1]), *window))  # fmt: skip
        time.sleep(min(setup, 2.0 + count * 0.05))
        rec_out = workdir / f"rec-{count}.json"
        rec_out.unlink(missing_ok=True)
        recorder = _spawn("recorder", "--url", url, "--secret", secret, "--count", str(count),
                          "--root", str(root), "--out", str(rec_out), *window,
                          *(["--profile", profile] if profile else []))  # fmt: skip
        children.append(recorder)
        while time.time() < start:
            time.sleep(0.05)
        cpu0 = _cpu_seconds(recorder.pid)
        time.sleep(max(0.0, end - time.time()))
        cpu1 = _cpu_seconds(recorder.pid)
        for child in children[1:]:
            child.wait(timeout=60 + count)
    finally:
        stop_children(children)
    user_percent = 100.0 * (cpu1[0] - cpu0[0]) / seconds
    system_percent = 100.0 * (cpu1[1] - cpu0[1]) / seconds
    cpu_percent = user_percent + system_percent
    sent = [n for out in pub_outs for n in json.loads(out.read_text())["video_frames_sent"]]
    written = json.loads(rec_out.read_text())
    frames = _frames_in_window(root, start, end)
    ratio = frames / sum(sent) if sum(sent) else 0.0
    # Below this the recorder was not given N streams' load (the SFU or the publishers ran
    # out of CPU first, as they do at 100 streams on two cores): its CPU says nothing then.
    reached = ratio >= LOAD_REACHED and len(sent) == count
    return {
        "streams": count,
        "load_reached": reached,
        "recorder_cpu_percent": round(cpu_percent, 1),
        "recorder_user_percent": round(user_percent, 1),
        "recorder_system_percent": round(system_percent, 1),
        "streams_per_core": round(count / (cpu_percent / 100.0))
        if cpu_percent > 0 and reached
        else None,
        "segment_write_ms_p99": _p99(written["finish_ms"]),
        "segment_write_ms_max": _max(written["finish_ms"]),
        "segment_durable_ms_p99": _p99(written["durable_ms"]),
        "segment_durable_ms_max": _max(written["durable_ms"]),
        "segments_written": written["segments"],
        "publishers_connected": len(sent),
        "video_frames_sent": sum(sent),
        "video_frames_recorded": frames,
        "video_frames_recorded_ratio": round(ratio, 4),
    }


def _frames_in_window(root: Path, start: float, end: float) -> int:
    """Video frames recorded within the window (camera tracks; a segment's frames counted
    in proportion to how much of it lies in the window)."""
    from recorder.segments import SegmentWriter

    total = 0.0
    for timeline in root.glob("*/*_camera.timeline.jsonl"):
        track = timeline.name.removesuffix(".timeline.jsonl")
        for info in SegmentWriter.read_timeline(timeline.parent, track):
            inside = min(end, info.wall + info.seconds) - max(start, info.wall)
            if inside > 0 and info.seconds > 0:
                total += info.frames * inside / info.seconds
    return round(total)


def hls_timing(workdir: Path, lesson_minutes: float) -> dict[str, Any]:
    """Assemble + HLS of an H.264 track (the clip of ``sfu_media`` written by the recorder's
    ``SegmentWriter``, as it would be recorded), and of a synthetic lesson made of its
    segments repeated (hard links, a timeline written to match) to ``lesson_minutes``."""
    from recorder.assemble import assemble_track, hls
    from recorder.frames import Frame
    from recorder.segments import SegmentInfo, SegmentWriter
    from tests.benchmarks.sfu_media import load_packets

    folder, track = workdir / "h264", "camera"
    shutil.rmtree(folder, ignore_errors=True)
    writer = SegmentWriter(folder, track, "h264", 90000)
    wall = time.time()
    for offset, data, key in load_packets(ensure_media()[0]):
        writer.write(Frame(data, round(offset * 90000), key, wall + offset), wall + offset)
    writer.close()
    result: dict[str, Any] = {}
    lessons = [("recorded", folder, track)]
    recorded = SegmentWriter.read_timeline(folder, track)
    if lesson_minutes > 0 and recorded:
        synthetic = workdir / "lesson"
        shutil.rmtree(synthetic, ignore_errors=True)
        synthetic.mkdir(parents=True)
        lines, wall, ts, i = [], recorded[0].wall, 0, 0
        while wall - recorded[0].wall < lesson_minutes * 60 and i < 100_000:
            info = recorded[i % len(recorded)]
            name = f"lesson-{i:06d}{Path(info.segment).suffix}"
            os.link(folder / info.segment, synthetic / name)
            span = info.last_ts - info.first_ts
            lines.append(json.dumps(asdict(SegmentInfo(name, ts, ts + span, wall, info.frames,
                                                       info.seconds))))  # fmt: skip
            wall, ts, i = wall + info.seconds, ts + round(info.seconds * 90000), i + 1
        (synthetic / "lesson.timeline.jsonl").write_text("\n".join(lines) + "\n")
        lessons.append(("lesson", synthetic, "lesson"))
    for label, source, name in lessons:
        out = workdir / f"assets-{label}"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        asset = assemble_track(source, name, out)
        assembled = time.perf_counter()
        playlist = hls(asset, out)
        done = time.perf_counter()
        minutes = asset.duration / 60.0
        result[label] = {
            "minutes": round(minutes, 2), "codec": asset.codec,
            "assemble_s": round(assembled - started, 2), "hls_s": round(done - assembled, 2),
            "hls_segments": playlist.segments if playlist else None,
            "seconds_per_minute": round((done - started) / minutes, 3) if minutes else None,
        }  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", default="10,50,100", help="comma-separated counts")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lesson-minutes", type=float, default=45.0, help="0: skip")
    parser.add_argument("--json", action="store_true", help="JSON output (the only format)")
    parser.add_argument(
        "--profile",
        default="",
        help="cProfile the recorder in the window into PROFILE.N "
        "(N streams; read with pstats; it slows the recorder: not for the figures)",
    )
    parser.add_argument("--role", default=None, help=argparse.SUPPRESS)
    for name in ("--port", "--secret", "--url", "--tokens", "--out", "--count", "--root",
                 "--start", "--end"):  # fmt: skip
        parser.add_argument(name, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        args.port = int(args.port) if args.port else None
        args.count = int(args.count) if args.count else None
        args.start = float(args.start) if args.start else None
        args.end = float(args.end) if args.end else None
        if args.role == "server":
            role_server(args)
        elif args.role == "publishers":
            import uvloop

            uvloop.run(_publishers(args))
        elif args.role == "recorder":
            asyncio.run(_recorder(args))  # as ``sanke record`` runs it
        return
    counts = [int(x) for x in args.streams.split(",") if x]
    if any(not 1 <= n <= 200 for n in counts) or not 1 <= args.seconds <= 300:
        parser.error("streams must be 1..200 and seconds 1..300")
    if not 0 <= args.lesson_minutes <= 120:
        parser.error("lesson-minutes must be 0..120")
    ensure_media()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for count in counts:
        profile = f"{args.profile}.{count}" if args.profile else ""
        row = run(count, args.seconds, WORKDIR, profile)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    timing = hls_timing(WORKDIR, args.lesson_minutes)
    figure = timing.get("lesson", timing["recorded"])["seconds_per_minute"]
    for row in rows:
        row["hls_seconds_per_lesson_minute"] = figure
    print(json.dumps({"rows": rows, "hls": timing}))


if __name__ == "__main__":
    main()
