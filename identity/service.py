"""Identity use cases: login, sessions, accounts, second factor, audit.

Time comes in as ``now``; the store and the hasher are injected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from identity import totp
from identity.audit import AuditEntry, Outcome
from identity.authorize import Principal, may_grant, scope_target
from identity.errors import (
    CurrentPasswordWrong,
    InvalidCredentials,
    InvalidTotpCode,
    InvalidUser,
    LoginThrottled,
    NotAllowed,
    SecondFactorRequired,
    UserNotFound,
)
from identity.passwords import PasswordHasher, check_password_policy
from identity.scope import Target
from identity.sessions import (
    API,
    DEVICE,
    PEOPLE,
    TOUCH_EVERY,
    SessionKind,
    new_token,
    policy_for,
    token_digest,
)
from identity.store import IdentityStore
from identity.throttle import (
    ACCOUNT_POLICY,
    ADDRESS_POLICY,
    FailureWindow,
    ThrottlePolicy,
    lock_until,
    retry_after,
)
from identity.users import NewUser, User, validate_new_user

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Login:
    """A successful login: the user and the session token to hand out once."""

    user: User
    token: str


@dataclass(frozen=True)
class Actor:
    """Who asks for an administrative change: a principal, or a named system actor."""

    principal: Principal | None
    name: str
    address: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        return cls(None, "cli")


class IdentityService:
    def __init__(self, store: IdentityStore, hasher: PasswordHasher) -> None:
        self._store = store
        self._hasher = hasher

    # login ---------------------------------------------------------------
    def login(
        self,
        username: str,
        password: str,
        now: datetime,
        *,
        totp_code: str | None = None,
        address: str | None = None,
        user_agent: str | None = None,
        kind: SessionKind = SessionKind.PAGE,
    ) -> Login:
        """Check credentials and open a session.

        Raises ``LoginThrottled``, ``InvalidCredentials`` or ``SecondFactorRequired``.
        Failures count against both the account name and the address, whether or
        not the account exists.
        """
        username = username.strip().lower()
        counted = [
            (f"account:{username}", ACCOUNT_POLICY),
            (f"address:{address or '-'}", ADDRESS_POLICY),
        ]
        windows = [self._store.count_attempt(key, policy, now) for key, policy in counted]
        wait = max(
            retry_after(window, policy, now)
            for window, (_, policy) in zip(windows, counted, strict=True)
        )
        if wait:
            # a refused attempt is not counted: one locked key must not lock the others
            self._forgive(counted)
            self._audit_login(username, None, Outcome.DENIED, now, address, {"throttled": wait})
            raise LoginThrottled(wait)

        found = self._store.credentials(username)
        usable = found is not None and found.user.active
        stored_hash = found.password_hash if found is not None and usable else None
        if not self._hasher.verify(stored_hash, password) or found is None:
            self._fail(windows, counted, username, found.user if found else None, now, address)
            raise InvalidCredentials("wrong username or password")

        user = found.user
        if user.totp_enabled and found.totp_secret:
            if not totp_code:
                self._forgive(counted)  # the password was right
                raise SecondFactorRequired("enter the code from your authenticator app")
            step = totp.verify(
                found.totp_secret, totp_code, now.timestamp(), after=found.totp_last_counter
            )
            if step is None or not self._store.claim_totp_step(user.id, step):
                self._fail(windows, counted, username, user, now, address, "totp")
                raise InvalidCredentials("wrong username, password or code")

        self._store.clear_failure_window(counted[0][0])
        self._store.forgive_attempt(counted[1][0])
        if self._hasher.needs_rehash(found.password_hash):
            self._store.update_user(user.id, password_hash=self._hasher.hash(password))
        token = new_token()
        self._store.add_session(user.id, token_digest(token), kind, now, address, user_agent)
        self._audit_login(username, user, Outcome.SUCCESS, now, address, {"kind": kind.value})
        logger.info("Identity login %s (%s) from %s", username, kind.value, address)
        return Login(user, token)

    def _fail(
        self,
        windows: list[FailureWindow],
        counted: list[tuple[str, ThrottlePolicy]],
        username: str,
        user: User | None,
        now: datetime,
        address: str | None,
        why: str = "password",
    ) -> None:
        for window, (key, policy) in zip(windows, counted, strict=True):
            until = lock_until(window, policy, now)
            if until is not None:
                self._store.lock(key, until)
        self._audit_login(username, user, Outcome.FAILURE, now, address, {"reason": why})

    def _forgive(self, counted: list[tuple[str, ThrottlePolicy]]) -> None:
        for key, _ in counted:
            self._store.forgive_attempt(key)

    def _audit_login(
        self,
        username: str,
        user: User | None,
        outcome: Outcome,
        now: datetime,
        address: str | None,
        detail: Mapping[str, Any],
    ) -> None:
        self._store.append_audit(
            AuditEntry(
                at=now,
                action="login",
                outcome=outcome,
                target=f"user:{username}",
                actor_id=user.id if user and outcome is Outcome.SUCCESS else None,
                actor=username,
                region=user.home_region if user else None,  # so its region's admins see it
                address=address,
                detail=detail,
            )
        )

    # sessions --------------------------------------------------------------
    def authenticate(self, token: str, now: datetime) -> User | None:
        """The active user behind a session token, or ``None``."""
        found = self._store.session(token_digest(token))
        if found is None:
            return None
        session, user = found
        if not user.active or not session.alive(policy_for(user.role, session.kind), now):
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            self._store.touch_session(session.id, now)
        return user

    def purge(self, now: datetime) -> int:
        """Delete sessions no policy can revive and stale failure counts; returns rows."""
        longest = max(DEVICE.absolute, PEOPLE.absolute, API.absolute)
        removed = self._store.purge_sessions(now - longest, now - timedelta(days=1))
        windows = max(ACCOUNT_POLICY.window, ADDRESS_POLICY.window)
        return removed + self._store.purge_failure_windows(now - windows, now)

    def logout(self, token: str, now: datetime, address: str | None = None) -> None:
        user = self.authenticate(token, now)
        self._store.revoke_session(token_digest(token), now)
        if user is not None:
            actor = Actor(user.principal(), user.username, address)
            target = f"user:{user.username}"
            self.record(actor, "logout", target, user.home_region, Outcome.SUCCESS, now, {})

    # accounts ----------------------------------------------------------------
    def create_user(
        self, actor: Actor, spec: NewUser, target: Target, home_region: str | None, now: datetime
    ) -> User:
        """Create an account; ``target`` is its scope as a rights target.

        The CLI (``Actor.cli()``) may create any account; a principal only what
        ``may_grant`` allows. Every attempt is audited.
        """
        detail = {"role": spec.role.value, "scope": str(spec.scope)}
        try:
            if actor.principal is not None:
                may_grant(actor.principal, spec.role, target).enforce()
            validate_new_user(spec)
            user = self._store.add_user(spec, self._hasher.hash(spec.password), home_region, now)
        except Exception as exc:
            outcome = Outcome.DENIED if isinstance(exc, NotAllowed) else Outcome.FAILURE
            self.record(
                actor, "user.create", f"user:{spec.username}", home_region, outcome, now, detail
            )
            raise
        self.record(
            actor, "user.create", f"user:{user.username}", home_region, Outcome.SUCCESS, now, detail
        )
        return user

    def user(self, user_id: int) -> User:
        user = self._store.user(user_id)
        if user is None:
            raise UserNotFound(f"no user {user_id}")
        return user

    def users_visible_to(self, principal: Principal) -> list[User]:
        return self._store.users_in(principal.scope)

    def set_active(self, actor: Actor, user_id: int, active: bool, now: datetime) -> User:
        """Deactivate (sign out everywhere, refuse logins) or reactivate an account."""
        user = self.user(user_id)
        action = "user.activate" if active else "user.deactivate"
        self._may_manage(actor, user, action, now)
        if not active and actor.principal is not None and actor.principal.user_id == user.id:
            raise InvalidUser("active", "you cannot deactivate your own account")
        self._store.update_user(user.id, active=active)
        if not active:
            self._store.revoke_user_sessions(user.id, now)
        target = f"user:{user.username}"
        self.record(actor, action, target, user.home_region, Outcome.SUCCESS, now, {})
        return self.user(user_id)

    def reset_password(self, actor: Actor, user_id: int, new_password: str, now: datetime) -> None:
        """Set another account's password (e.g. a teacher who forgot theirs)."""
        user = self.user(user_id)
        self._may_manage(actor, user, "user.password_reset", now)
        self._set_password(actor, user, new_password, "user.password_reset", now)

    def _may_manage(self, actor: Actor, user: User, action: str, now: datetime) -> None:
        if actor.principal is None:
            return
        decision = may_grant(actor.principal, user.role, scope_target(user.scope, user.home_region))
        if not decision.allowed:
            target = f"user:{user.username}"
            self.record(actor, action, target, user.home_region, Outcome.DENIED, now, {})
            decision.enforce()

    def change_password(
        self, actor: Actor, user: User, current_password: str, new_password: str, now: datetime
    ) -> None:
        """One's own password: the current one is asked for, then every session ends."""
        self._check_current_password(actor, user, current_password, "user.password", now)
        self._set_password(actor, user, new_password, "user.password", now)

    def _set_password(
        self, actor: Actor, user: User, new_password: str, action: str, now: datetime
    ) -> None:
        check_password_policy(new_password)
        self._store.update_user(
            user.id, password_hash=self._hasher.hash(new_password), password_changed_at=now
        )
        self._store.revoke_user_sessions(user.id, now)
        target = f"user:{user.username}"
        self.record(actor, action, target, user.home_region, Outcome.SUCCESS, now, {})

    # second factor -------------------------------------------------------------
    def begin_totp(
        self, actor: Actor, user: User, current_password: str, now: datetime
    ) -> tuple[str, str]:
        """A fresh secret and its ``otpauth://`` URI, kept pending until confirmed.

        Asks for the current password, so a stolen session cannot re-enrol the
        second factor; an existing second factor stays active until the new one is
        confirmed.
        """
        self._check_current_password(actor, user, current_password, "totp.begin", now)
        secret = totp.new_secret()
        self._store.update_user(user.id, totp_pending_secret=secret)
        target = f"user:{user.username}"
        self.record(actor, "totp.begin", target, user.home_region, Outcome.SUCCESS, now, {})
        return secret, totp.provisioning_uri(secret, user.username)

    def confirm_totp(self, actor: Actor, user: User, code: str, now: datetime) -> None:
        found = self._store.credentials(user.username)
        secret = found.totp_pending_secret if found else None
        step = totp.verify(secret, code, now.timestamp()) if secret else None
        target = f"user:{user.username}"
        if step is None:
            self.record(actor, "totp.enable", target, user.home_region, Outcome.FAILURE, now, {})
            raise InvalidTotpCode("the code does not match; check the phone's clock")
        self._store.update_user(
            user.id,
            totp_secret=secret,
            totp_pending_secret=None,
            totp_enabled=True,
            totp_last_counter=step,
        )
        self.record(actor, "totp.enable", target, user.home_region, Outcome.SUCCESS, now, {})

    def _check_current_password(
        self, actor: Actor, user: User, password: str, action: str, now: datetime
    ) -> None:
        """Like a login, throttled on the account: a stolen session cannot guess on."""
        key = f"account:{user.username}"
        window = self._store.count_attempt(key, ACCOUNT_POLICY, now)
        target = f"user:{user.username}"
        wait = retry_after(window, ACCOUNT_POLICY, now)
        if wait:
            self._store.forgive_attempt(key)
            self.record(actor, action, target, user.home_region, Outcome.DENIED, now, {})
            raise LoginThrottled(wait)
        found = self._store.credentials(user.username)
        if found is None or not self._hasher.verify(found.password_hash, password):
            until = lock_until(window, ACCOUNT_POLICY, now)
            if until is not None:
                self._store.lock(key, until)
            detail = {"reason": "current password"}
            self.record(actor, action, target, user.home_region, Outcome.FAILURE, now, detail)
            raise CurrentPasswordWrong("the current password is wrong")
        self._store.forgive_attempt(key)

    # audit ---------------------------------------------------------------------
    def audit_visible_to(self, principal: Principal, limit: int = 200) -> list[AuditEntry]:
        region = principal.scope.region
        if region is None:
            return []
        return self._store.audit_entries(region, limit)

    def record(
        self,
        actor: Actor,
        action: str,
        target: str,
        region: str | None,
        outcome: Outcome,
        now: datetime,
        detail: Mapping[str, Any],
    ) -> None:
        """Audit an administrative change, this service's or another's (a directory
        import, a plan published or repaired)."""
        principal = actor.principal
        self._store.append_audit(
            AuditEntry(
                at=now,
                action=action,
                outcome=outcome,
                target=target,
                actor_id=principal.user_id if principal else None,
                actor=principal.username if principal else actor.name,
                region=region,
                address=actor.address,
                detail=detail,
            )
        )
