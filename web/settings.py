"""Sanke's settings, read once from ``SANKE_*`` environment variables.

Only ``web`` reads them; everything below receives plain values. A fresh install
generates its own secret key and keeps it in the data directory; a placeholder
secret is refused outside development.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recorder.retention import parse_policy
from recorder.rubrics import parse_rubrics
from rooms.inspections import CHECKLIST


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class MediaBackend(StrEnum):
    EMBEDDED = "embedded"
    LIVEKIT = "livekit"


class SettingsError(Exception):
    """A setting is wrong or missing; the message is one line naming it."""


_PLACEHOLDERS = {"", "change-me", "changeme", "secret", "dev", "development", "test", "sanke"}
MIN_SECRET_LENGTH = 32


class SankeSettings(BaseSettings):
    """Every setting, with what it expects (shown when a value is wrong)."""

    model_config = SettingsConfigDict(env_prefix="SANKE_", extra="ignore", frozen=True)

    env: Environment = Field(Environment.PRODUCTION, description="'development' or 'production'")
    data_dir: Path = Field(Path("var"), description="a writable directory")
    database_url: str | None = Field(
        None, description="sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB"
    )
    redis_url: str | None = Field(None, description="redis://HOST:PORT/DB, or empty")
    media_backend: MediaBackend = Field(
        MediaBackend.EMBEDDED, description="'embedded' or 'livekit'"
    )
    secret_key: SecretStr | None = Field(
        None, description=f"a random string of at least {MIN_SECRET_LENGTH} characters"
    )
    host: str = Field("127.0.0.1", description="an address to listen on")
    port: int = Field(8000, ge=1, le=65535, description="a port number from 1 to 65535")
    public_url: str | None = Field(
        None, description="the URL people open, e.g. https://sanke.example.edu.cn"
    )
    media_ice_servers: list[str] = Field(
        default_factory=list,
        description="STUN/TURN URLs the embedded SFU uses, e.g. turn:turn.example.edu.cn:3478",
    )
    media_loopback: bool = Field(
        False, description="gather media candidates on 127.0.0.1 only (tests on one machine)"
    )
    patrol_checklist: list[str] = Field(
        default_factory=lambda: list(CHECKLIST),
        min_length=1,
        max_length=20,
        description='the items inspectors score 1-5, e.g. ["教学准备","师生互动"]',
    )
    demo_live: bool = Field(
        False, description="keep demo lessons live now, with simulated classrooms (sanke demo)"
    )
    record: bool = Field(
        False,
        description="record lessons and build their assets inside this process "
        "(one machine; otherwise run `sanke record` beside it)",
    )
    review_rubrics: dict[str, Any] = Field(
        default_factory=dict,
        description='observation scales: {"default": RUBRIC, "regions": {"3415": RUBRIC}}, '
        'RUBRIC = {"id","name","items":[{"id","label","scale":[[1,"差"],...]}]}',
    )
    retention: dict[str, Any] = Field(
        default_factory=dict,
        description='days recordings are kept: {"days": {"delivery": 180, "master": 365, '
        '"open": 365}, "exemplary_days": null (for ever), "min_days": 30}',
    )
    livekit_url: str | None = Field(None, description="wss://HOST of the LiveKit server")
    livekit_api_key: str | None = Field(None, description="the LiveKit API key")
    livekit_api_secret: SecretStr | None = Field(None, description="the LiveKit API secret")
    s3_url: str | None = Field(
        None,
        description="the endpoint of the S3-compatible store that keeps recordings, "
        "e.g. https://s3.example.edu.cn, or empty (recordings stay under SANKE_DATA_DIR)",
    )
    s3_bucket: str | None = Field(None, description="the bucket recordings go into")
    s3_access_key: str | None = Field(None, description="the S3 access key")
    s3_secret_key: SecretStr | None = Field(None, description="the S3 secret key")
    s3_region: str = Field("us-east-1", description="the S3 region name (MinIO: us-east-1)")
    pdf_chromium: str = Field(
        "/usr/bin/chromium", description="the Chromium that prints reports to PDF (a path)"
    )
    metrics_token: SecretStr | None = Field(
        None,
        description=f"a bearer token of at least {MIN_SECRET_LENGTH} characters for scraping "
        "/metrics from another machine, or empty (loopback only)",
    )

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    @field_validator("review_rubrics")
    @classmethod
    def _review_rubrics(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_rubrics(value)  # RubricInvalid (a ValueError's cousin) says what is wrong
        return value

    @field_validator("retention")
    @classmethod
    def _retention(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_policy(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        for prefix, driver in (
            ("postgres://", "postgresql+psycopg://"),
            ("postgresql://", "postgresql+psycopg://"),
        ):
            if value.startswith(prefix):
                return driver + value[len(prefix) :]
        if value.startswith(("sqlite:///", "postgresql+psycopg://")):
            return value
        raise ValueError("unsupported database")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("not a redis:// URL")
        return value

    @field_validator("public_url", "s3_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> SankeSettings:
        if self.secret_key is not None and self.env is not Environment.DEVELOPMENT:
            key = self.secret_key.get_secret_value()
            if key.strip().lower() in _PLACEHOLDERS or len(key) < MIN_SECRET_LENGTH:
                raise ValueError("secret_key: a placeholder secret is refused outside development")
        if self.metrics_token is not None and self.env is not Environment.DEVELOPMENT:
            token = self.metrics_token.get_secret_value()
            if token.strip().lower() in _PLACEHOLDERS or len(token) < MIN_SECRET_LENGTH:
                raise ValueError("metrics_token: a placeholder is refused outside development")
        if self.media_backend is MediaBackend.LIVEKIT:
            for name in ("livekit_url", "livekit_api_key", "livekit_api_secret"):
                if not getattr(self, name):
                    raise ValueError(f"{name}: required when SANKE_MEDIA_BACKEND=livekit")
        if self.s3_url:
            for name in ("s3_bucket", "s3_access_key", "s3_secret_key"):
                if not getattr(self, name):
                    raise ValueError(f"{name}: required when SANKE_S3_URL is set")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sanke.db').resolve()}"

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return self.public_url or f"http://{host}:{self.port}"


def _env_name(field: str) -> str:
    return f"SANKE_{field.upper()}"


def load_settings(**overrides: object) -> SankeSettings:
    """Read settings from the environment; raise ``SettingsError`` with one clear line."""
    try:
        return SankeSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


def _redacted(value: str) -> str:
    """Hide the password in ``scheme://user:password@host`` (settings errors get logged)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", value)


def describe(exc: ValidationError) -> str:
    """One line: which setting, what it expects, what it got."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    message = str(error.get("msg", "invalid"))
    if loc:
        field = loc[0]
    else:  # a model-level rule: the message starts with the field name
        field, _, message = message.removeprefix("Value error, ").partition(": ")
    info = SankeSettings.model_fields.get(field)
    expected = info.description if info is not None and info.description else "a valid value"
    got = error.get("input")
    shown = "" if got is None or isinstance(got, dict) else f", got {_redacted(str(got))!r}"
    if field in ("secret_key", "livekit_api_secret", "metrics_token", "s3_secret_key"):
        shown = ""
    reason = message.removeprefix("Value error, ")
    return f"{_env_name(field)}: expected {expected}{shown} ({reason})"


def secret_key(settings: SankeSettings) -> str:
    """The configured secret key, or the one this install generated and stored.

    Several workers may start at once: the key is written to a private temporary
    file and linked into place, so exactly one key wins and nobody reads half a file.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secrets.json"
    stored = _stored_key(path)
    if stored is not None:
        return stored
    key = secrets.token_urlsafe(48)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=settings.data_dir, prefix=".secrets-")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp makes it mode 600
                json.dump({"secret_key": key}, handle)
                handle.flush()
                os.fsync(handle.fileno())  # a power cut must not leave an empty file
            os.link(temporary, path)
        except FileExistsError:
            pass  # another worker was first; use its key
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise SettingsError(f"SANKE_DATA_DIR: expected a writable directory ({exc})") from None
    found = _stored_key(path)
    assert found is not None
    return found


def _stored_key(path: Path) -> str | None:
    try:
        stored = json.loads(path.read_text())
        key = str(stored["secret_key"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise SettingsError(
            f"{path}: the stored secrets are unreadable ({exc}); restore or delete the file"
        ) from None
    if len(key) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"{path}: the stored secret key is shorter than {MIN_SECRET_LENGTH} characters; "
            "restore or delete the file"
        )
    return key
