"""HTML to PDF through the real headless Chromium, and the errors when it cannot be had."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import services_required
from web.pdf import PdfUnavailable, html_to_pdf

CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<style>@page { size: A4; } body { font-family: sans-serif; }</style></head>
<body><h1>青溪县三个课堂应用进展报告</h1>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" role="img" aria-label="开课率">
<rect width="150" height="20" fill="#2f7d32"/><text x="155" y="15">75.0%</text></svg>
<p style="break-before: page">第二页</p></body></html>"""


def test_chromium_prints_the_page_to_pdf() -> None:
    if shutil.which("chromium") is None:
        if services_required():
            pytest.fail("Chromium is not installed")
        pytest.skip("Chromium is not installed")
    data = html_to_pdf(PAGE, chromium=CHROMIUM)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 1000
    assert b"/Count 2" in data  # the page tree: the CSS page break made two A4 pages


def test_a_missing_chromium_is_reported(tmp_path: Path) -> None:
    with pytest.raises(PdfUnavailable, match="cannot run Chromium"):
        html_to_pdf(PAGE, chromium=str(tmp_path / "chromium"))


def test_a_chromium_that_prints_nothing_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'no display' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(PdfUnavailable, match="printed no PDF"):
        html_to_pdf(PAGE, chromium=str(fake))


def test_a_chromium_that_hangs_is_stopped(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nsleep 60 &\nwait\n")  # a helper process, as Chromium has
    fake.chmod(0o755)
    with pytest.raises(PdfUnavailable, match="took more than"):
        html_to_pdf(PAGE, chromium=str(fake), timeout=1)
