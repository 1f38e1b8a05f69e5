"""Every text a page asks for exists in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.requests import Request

from identity.audit import Outcome
from identity.roles import Role
from web.i18n import MESSAGES, pick_lang, translate
from web.pages import switch_url

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def test_every_literal_key_in_the_templates_is_translated() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""t\(\s*["']([a-z_.]+)["']""", template.read_text()))
    assert used, "no keys found: the pattern is stale"
    literal = {key for key in used if not key.endswith(".")}  # "role." ~ x: see below
    assert sorted(literal - MESSAGES.keys()) == []


def test_dynamic_keys_cover_every_role_and_outcome() -> None:
    for role in Role:
        assert f"role.{role.value}" in MESSAGES
    for outcome in Outcome:
        assert f"outcome.{outcome.value}" in MESSAGES


def test_both_languages_are_filled_and_placeholders_agree() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh and en, key
        assert set(re.findall(r"\{(\w+)\}", zh)) == set(re.findall(r"\{(\w+)\}", en)), key
        assert re.search(r"[\u4e00-\u9fff]", zh) or key == "lang.switch", key


def test_language_choice() -> None:
    assert pick_lang(None, None) == "zh-CN"
    assert pick_lang("en", "zh-CN") == "en"
    assert pick_lang(None, "en") == "en"
    assert pick_lang("fr", None) == "zh-CN"
    assert translate("en", "error.throttled", seconds=5).endswith("5 s.")
    assert translate("zh-CN", "no.such.key") == "no.such.key"


def test_the_language_switch_keeps_the_page_where_it_is() -> None:
    scope = {"type": "http", "query_string": b"region=349921101&group=school&lang=zh-CN"}
    assert switch_url(Request(scope), "en") == "?region=349921101&group=school&lang=en"
    assert switch_url(Request({"type": "http", "query_string": b""}), "zh-CN") == "?lang=zh-CN"
