"""Signed file links: one file, until its expiry, under its own key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from web.file_links import Check, check_link, file_link, link_key

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def parts(link: str) -> tuple[str, str, str]:
    split = urlsplit(link)
    query = parse_qs(split.query)
    return split.path, query["exp"][0], query["sig"][0]


def test_a_link_holds_for_its_file_until_it_expires() -> None:
    key = link_key("secret")
    link = file_link(key, "P1-L1-20261124", "teacher camera.webm", NOW, timedelta(hours=1))
    path, exp, sig = parts(link)
    assert path == "/files/P1-L1-20261124/teacher%20camera.webm"
    assert int(exp) % 600 == 0 and int(exp) >= (NOW + timedelta(hours=1)).timestamp()
    assert check_link(key, "P1-L1-20261124", "teacher camera.webm", exp, sig, NOW) is Check.OK
    later = datetime.fromtimestamp(int(exp), UTC)
    assert check_link(key, "P1-L1-20261124", "teacher camera.webm", exp, sig, later) is (
        Check.EXPIRED
    )
    soon = NOW + timedelta(seconds=1)
    assert file_link(key, "P1-L1-20261124", "a", soon) == file_link(
        key, "P1-L1-20261124", "a", soon + timedelta(seconds=30)
    )  # the same within a page load, so the browser's cache holds


def test_any_change_breaks_the_signature() -> None:
    key = link_key("secret")
    _, exp, sig = parts(file_link(key, "rec", "a.webm", NOW))
    assert check_link(key, "rec", "b.webm", exp, sig, NOW) is Check.BAD
    assert check_link(key, "rec2", "a.webm", exp, sig, NOW) is Check.BAD
    assert check_link(key, "rec", "a.webm", str(int(exp) + 600), sig, NOW) is Check.BAD
    assert check_link(key, "rec", "a.webm", "soon", sig, NOW) is Check.BAD
    assert check_link(link_key("other"), "rec", "a.webm", exp, sig, NOW) is Check.BAD
