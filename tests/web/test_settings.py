"""Settings: one clear line per wrong value, generated secrets, placeholders refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from web.settings import Environment, SettingsError, load_settings, secret_key


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SANKE_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"SANKE_PORT": "eighty"},
            "SANKE_PORT: expected a port number from 1 to 65535, got 'eighty'",
        ),
        ({"SANKE_PORT": "70000"}, "SANKE_PORT: expected a port number from 1 to 65535"),
        ({"SANKE_ENV": "staging"}, "SANKE_ENV: expected 'development' or 'production'"),
        ({"SANKE_DATABASE_URL": "mysql://db"}, "SANKE_DATABASE_URL: expected sqlite:///PATH or"),
        ({"SANKE_REDIS_URL": "localhost:6379"}, "SANKE_REDIS_URL: expected redis://HOST:PORT/DB"),
        ({"SANKE_MEDIA_BACKEND": "janus"}, "SANKE_MEDIA_BACKEND: expected 'embedded' or 'livekit'"),
        ({"SANKE_MEDIA_BACKEND": "livekit"}, "SANKE_LIVEKIT_URL: expected wss://HOST"),
        ({"SANKE_SECRET_KEY": "change-me"}, "SANKE_SECRET_KEY: expected a random string of at"),
        ({"SANKE_SECRET_KEY": "short-but-not-placeholder"}, "SANKE_SECRET_KEY: expected"),
    ],
)
def test_a_wrong_setting_gives_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message
    if "SECRET" in expected:
        assert "change-me" not in message and "short-but" not in message


def test_placeholder_secrets_are_accepted_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANKE_ENV", "development")
    monkeypatch.setenv("SANKE_SECRET_KEY", "change-me")
    assert load_settings().env is Environment.DEVELOPMENT


def test_postgres_urls_get_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANKE_DATABASE_URL", "postgres://u:p@db:5432/sanke")
    assert load_settings().effective_database_url == "postgresql+psycopg://u:p@db:5432/sanke"


def test_the_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'sanke.db'}"


def test_a_fresh_install_generates_and_keeps_its_secret(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    first = secret_key(settings)
    assert len(first) >= 32
    path = tmp_path / "data" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(load_settings(data_dir=tmp_path / "data")) == first


def test_a_configured_secret_wins(tmp_path: Path) -> None:
    key = "k" * 40
    assert secret_key(load_settings(data_dir=tmp_path, secret_key=key)) == key
    assert not (tmp_path / "secrets.json").exists()


def test_a_corrupt_secrets_file_is_reported_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text("{not json")
    with pytest.raises(SettingsError, match="secrets are unreadable"):
        secret_key(load_settings(data_dir=tmp_path))
    assert (tmp_path / "secrets.json").read_text() == "{not json"


def test_a_bad_url_is_shown_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANKE_DATABASE_URL", "mysql://root:hunter2@db/sanke")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value) and "root:***@db" in str(caught.value)


def test_a_too_short_stored_secret_is_reported(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text('{"secret_key": "short"}')
    with pytest.raises(SettingsError, match="shorter than 32"):
        secret_key(load_settings(data_dir=tmp_path))


def test_workers_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings = load_settings(data_dir=tmp_path / "fresh")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: secret_key(settings), range(32)))
    assert len(keys) == 1
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == ["secrets.json"]


def test_the_metrics_token_is_empty_by_default_and_no_placeholder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SANKE_METRICS_TOKEN", "")
    assert load_settings().metrics_token is None  # loopback only
    monkeypatch.setenv("SANKE_METRICS_TOKEN", "change-me")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("SANKE_METRICS_TOKEN: expected a bearer token")
    assert "change-me" not in str(caught.value)
    monkeypatch.setenv("SANKE_ENV", "development")
    assert load_settings().metrics_token is not None
