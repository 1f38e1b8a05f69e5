"""HTML to PDF with headless Chromium: the adapter the printable reports use.

The page is written to a temporary directory and printed from ``file://``, with its own
throw-away profile and every host name unresolvable, so it must carry everything it shows
(inline CSS and SVG, no external URLs). Chromium prints exactly what a person gets from
the browser's "print to PDF", page breaks and ``@page`` size included.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-pdf-header-footer",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing outside the file: no network at all
)


class PdfUnavailable(Exception):
    """No PDF could be made: Chromium is missing, failed or took too long."""


def html_to_pdf(html: str, *, chromium: str = "/usr/bin/chromium", timeout: float = 60) -> bytes:
    """The PDF Chromium prints of ``html``; raises :class:`PdfUnavailable`."""
    with tempfile.TemporaryDirectory(prefix="sanke-pdf-") as folder:
        page, out = Path(folder) / "page.html", Path(folder) / "page.pdf"
        page.write_text(html, encoding="utf-8")
        command = [chromium, *FLAGS, f"--user-data-dir={Path(folder) / 'profile'}",
                   f"--print-to-pdf={out}", page.as_uri()]  # fmt: skip
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a time-out ends its helpers too
            )
        except OSError as error:
            raise PdfUnavailable(f"cannot run Chromium at {chromium}: {error}") from error
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise PdfUnavailable(f"Chromium took more than {timeout:g} s to print") from error
        if process.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            tail = output.decode(errors="replace").strip().splitlines()[-3:]
            logger.warning("Chromium (%s) printed no PDF, exit %s: %s", chromium,
                           process.returncode, " | ".join(tail))  # fmt: skip
            raise PdfUnavailable(f"Chromium at {chromium} printed no PDF "
                                 f"(exit status {process.returncode})")  # fmt: skip
        return out.read_bytes()
