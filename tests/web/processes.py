"""Running ``sanke`` as a real process, as a person would."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SANKE = str(Path(sys.executable).parent / "sanke")
ROOT = Path(__file__).resolve().parents[2]


def sanke_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANKE_")}
    env.update(values)
    return env


def run_sanke(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SANKE, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def wait_http(url: str, process: subprocess.Popen[str], seconds: float = 60) -> bool:
    """True once ``url`` answers 200; False if the process exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {seconds} s")


@contextmanager
def sanke_server(*args: str, env: dict[str, str], port: int) -> Iterator[list[str]]:
    """Start ``sanke ARGS``; once /health answers, yield a list that gets its output on exit."""
    with sanke_process(*args, env=env, port=port) as (_, lines):
        yield lines


@contextmanager
def sanke_process(
    *args: str, env: dict[str, str], port: int
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """:func:`sanke_server` that also yields the process (a test may kill it); its output
    is read as it comes, so a long test cannot fill the pipe and stall the server."""
    process = subprocess.Popen(
        [SANKE, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    lines: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(
        target=lambda: lines.extend(line.rstrip("\n") for line in stdout), daemon=True
    )
    reader.start()
    try:
        if not wait_http(f"http://127.0.0.1:{port}/health", process):
            reader.join(timeout=20)
            shown = "\n".join(lines)
            pytest.fail(f"sanke exited with {process.returncode}:\n{shown}")
        yield process, lines
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=20)
        if not reader.is_alive():
            stdout.close()


@contextmanager
def media_demo(data_dir: Path, secret: str) -> Iterator[tuple[str, dict[str, str]]]:
    """``sanke demo`` with a known secret key and media candidates on loopback."""
    from tests.conftest import free_port

    port = free_port()
    env = sanke_env(
        SANKE_DATA_DIR=str(data_dir),
        SANKE_PORT=str(port),
        SANKE_SECRET_KEY=secret,
        SANKE_MEDIA_LOOPBACK="1",
    )
    with sanke_server("demo", env=env, port=port):
        yield f"http://127.0.0.1:{port}", env
