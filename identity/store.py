"""SQL storage for identity (SQLite or PostgreSQL through SQLAlchemy Core)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, case, insert, literal, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from identity.audit import AuditEntry, Outcome
from identity.errors import UserExists
from identity.roles import Role
from identity.scope import Scope, region_prefix
from identity.sessions import Session, SessionKind
from identity.tables import audit_log, login_failures, sessions, users
from identity.throttle import FailureWindow, ThrottlePolicy
from identity.users import NewUser, User
from kernel.metadata import UtcDateTime


@dataclass(frozen=True)
class Credentials:
    """A user with what login needs to check."""

    user: User
    password_hash: str
    totp_secret: str | None
    totp_last_counter: int
    totp_pending_secret: str | None


def _dialect_insert(conn: Connection) -> Any:
    """INSERT … ON CONFLICT is dialect-specific in SQLAlchemy; both our databases have it."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        scope=Scope(region=row.scope_region, school=row.scope_school),
        home_region=row.home_region,
        active=row.active,
        totp_enabled=row.totp_enabled,
        created_at=row.created_at,
        teacher_id=row.teacher_id,
    )


class IdentityStore:
    """Users, sessions, login failures and the audit log."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # users -------------------------------------------------------------
    def add_user(
        self, spec: NewUser, password_hash: str, home_region: str | None, now: datetime
    ) -> User:
        values = {
            "username": spec.username,
            "display_name": spec.display_name.strip(),
            "password_hash": password_hash,
            "role": spec.role.value,
            "scope_region": spec.scope.region,
            "scope_school": spec.scope.school,
            "home_region": home_region,
            "teacher_id": spec.teacher_id,
            "active": True,
            "totp_enabled": False,
            "totp_last_counter": -1,
            "created_at": now,
            "password_changed_at": now,
        }
        try:
            with self._engine.begin() as conn:
                row = conn.execute(insert(users).values(values).returning(users)).one()
        except IntegrityError as exc:
            raise UserExists(f"username {spec.username!r} is taken") from exc
        return _user(row)

    def credentials(self, username: str) -> Credentials | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            return None
        return Credentials(
            _user(row),
            row.password_hash,
            row.totp_secret,
            row.totp_last_counter,
            row.totp_pending_secret,
        )

    def user(self, user_id: int) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def claim_totp_step(self, user_id: int, step: int) -> bool:
        """Record ``step`` as used unless it (or a later one) already was: one use per code."""
        with self._engine.begin() as conn:
            done = conn.execute(
                update(users)
                .where(users.c.id == user_id, users.c.totp_last_counter < step)
                .values(totp_last_counter=step)
            )
        return done.rowcount == 1

    def users_in(self, scope: Scope) -> list[User]:
        query = select(users).order_by(users.c.username)
        if scope.school is not None:
            query = query.where(users.c.scope_school == scope.school)
        else:
            assert scope.region is not None
            query = query.where(users.c.home_region.startswith(region_prefix(scope.region)))
        with self._engine.connect() as conn:
            return [_user(row) for row in conn.execute(query)]

    def update_user(self, user_id: int, **values: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(**values))

    # sessions ----------------------------------------------------------
    def add_session(
        self,
        user_id: int,
        digest: str,
        kind: SessionKind,
        now: datetime,
        address: str | None,
        user_agent: str | None,
    ) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    token_digest=digest,
                    user_id=user_id,
                    kind=kind.value,
                    created_at=now,
                    last_seen_at=now,
                    address=address,
                    user_agent=(user_agent or "")[:255],
                )
            )

    def session(self, digest: str) -> tuple[Session, User] | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.token_digest == digest)).first()
            if row is None:
                return None
            user_row = conn.execute(select(users).where(users.c.id == row.user_id)).one()
        session = Session(
            id=row.id,
            user_id=row.user_id,
            kind=SessionKind(row.kind),
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            revoked=row.revoked_at is not None,
        )
        return session, _user(user_row)

    def touch_session(self, session_id: int, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(sessions).where(sessions.c.id == session_id).values(last_seen_at=now)
            )

    def revoke_session(self, digest: str, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.token_digest == digest, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def revoke_user_sessions(self, user_id: int, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def purge_sessions(self, created_before: datetime, revoked_before: datetime) -> int:
        with self._engine.begin() as conn:
            done = conn.execute(
                sessions.delete().where(
                    (sessions.c.created_at < created_before)
                    | (sessions.c.revoked_at < revoked_before)
                )
            )
        return done.rowcount

    # login failures ----------------------------------------------------
    def count_attempt(self, key: str, policy: ThrottlePolicy, now: datetime) -> FailureWindow:
        """Count one attempt for ``key`` atomically (one upsert), starting a new window
        when the last one is over; returns the window including this attempt."""
        table = login_failures
        stale = (table.c.started <= now - policy.window) & (
            table.c.locked_until.is_(None) | (table.c.locked_until <= now)
        )
        at = literal(now, UtcDateTime())
        with self._engine.begin() as conn:
            upsert = _dialect_insert(conn)(table).values(
                key=key, failures=1, started=now, locked_until=None
            )
            row = conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[table.c.key],
                    set_={
                        "failures": case((stale, 1), else_=table.c.failures + 1),
                        "started": case((stale, at), else_=table.c.started),
                        "locked_until": case((stale, null()), else_=table.c.locked_until),
                    },
                ).returning(table)
            ).one()
        return FailureWindow(row.key, row.failures, row.started, row.locked_until)

    def lock(self, key: str, until: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(login_failures).where(login_failures.c.key == key).values(locked_until=until)
            )

    def forgive_attempt(self, key: str) -> None:
        """Un-count one attempt (it succeeded)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(login_failures)
                .where(login_failures.c.key == key, login_failures.c.failures > 0)
                .values(failures=login_failures.c.failures - 1)
            )

    def clear_failure_window(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.key == key))

    def purge_failure_windows(self, started_before: datetime, now: datetime) -> int:
        with self._engine.begin() as conn:
            done = conn.execute(
                login_failures.delete().where(
                    login_failures.c.started < started_before,
                    (login_failures.c.locked_until.is_(None))
                    | (login_failures.c.locked_until < now),
                )
            )
        return done.rowcount

    # audit -------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(audit_log).values(
                    at=entry.at,
                    action=entry.action,
                    outcome=entry.outcome.value,
                    target=entry.target[:255],
                    actor_id=entry.actor_id,
                    actor=entry.actor,
                    region=entry.region,
                    address=entry.address,
                    detail=dict(entry.detail),
                )
            )

    def audit_entries(self, region: str | None, limit: int = 200) -> list[AuditEntry]:
        """Newest first; ``region`` limits to entries whose actor lives in it."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if region is not None:
            query = query.where(audit_log.c.region.startswith(region_prefix(region)))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                at=row.at,
                action=row.action,
                outcome=Outcome(row.outcome),
                target=row.target,
                actor_id=row.actor_id,
                actor=row.actor,
                region=row.region,
                address=row.address,
                detail=row.detail,
            )
            for row in rows
        ]
