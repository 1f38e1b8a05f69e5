"""The identity package's tables: users, sessions, login throttling, audit log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from kernel.metadata import UtcDateTime, new_metadata

metadata = new_metadata()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("scope_region", String(9)),
    Column("scope_school", String(64)),
    Column("home_region", String(9), index=True),
    Column("teacher_id", String(64)),  # the directory's teacher a teacher account stands for
    Column("active", Boolean, nullable=False, default=True),
    Column("totp_secret", String(64)),
    Column("totp_pending_secret", String(64)),  # enrolment in progress; active on confirm
    Column("totp_enabled", Boolean, nullable=False, default=False),
    Column("totp_last_counter", BigInteger, nullable=False, default=-1),
    Column("created_at", UtcDateTime, nullable=False),
    Column("password_changed_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("address", String(64)),
    Column("user_agent", String(255)),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("started", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("target", String(255), nullable=False),
    Column("actor_id", Integer),
    Column("actor", String(64)),
    Column("region", String(9)),
    Column("address", String(64)),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_log_region_at", "region", "at"),
)
