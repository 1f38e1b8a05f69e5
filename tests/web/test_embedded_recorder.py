"""One machine, one process: ``sanke demo`` with ``SANKE_RECORD=1`` records its live
lessons itself (the recorder is a hidden subscriber of the app's own SFU), and the
recordings list shows them as being recorded."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2 as httpx
import pytest

from recorder.segments import SegmentWriter
from tests.conftest import free_port
from tests.web.processes import sanke_env, sanke_server
from web.demo import DEMO_PASSWORD

pytestmark = pytest.mark.slow


def segments(data: Path) -> dict[str, int]:
    """Finished segments per recorded lesson."""
    found = {}
    for manifest in (data / "recordings").glob("*/recording.json"):
        folder = manifest.parent
        names = {p.name.split(".timeline")[0] for p in folder.glob("*.timeline.jsonl")}
        found[folder.name] = sum(len(SegmentWriter.read_timeline(folder, n)) for n in names)
    return found


def test_the_demo_records_its_live_lessons_in_process(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port), SANKE_RECORD="1")
    with sanke_server("demo", env=env, port=port):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # bounded: a minute
            found = segments(tmp_path)
            if len(found) == 2 and all(n >= 4 for n in found.values()):
                break
            time.sleep(1)
        assert len(found) == 2 and all(n >= 4 for n in found.values()), found
        login = {"username": "zhou.jiaoyan", "password": DEMO_PASSWORD}
        token = httpx.post(f"{url}/api/v1/auth/token", json=login)
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        listed = httpx.get(f"{url}/api/v1/recordings", headers=headers).json()
        states = {row["recording"]: row["state"] for row in listed}
        assert set(found) <= set(states) and {states[r] for r in found} == {"recording"}
