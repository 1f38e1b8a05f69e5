"""Identity use cases on SQLite and PostgreSQL: login, throttling, TOTP, sessions, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from identity import totp
from identity.audit import Outcome
from identity.authorize import Principal, scope_target
from identity.errors import (
    CurrentPasswordWrong,
    InvalidCredentials,
    InvalidTotpCode,
    InvalidUser,
    LoginThrottled,
    NotAllowed,
    SecondFactorRequired,
    UserExists,
    WeakPassword,
)
from identity.passwords import PasswordHasher
from identity.roles import Role
from identity.scope import Scope
from identity.service import Actor, IdentityService
from identity.sessions import SessionKind
from identity.store import IdentityStore
from identity.users import NewUser, User

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
COUNTY, SHIMEN = "349921", "349921101"


@pytest.fixture
def store(engine: Engine) -> IdentityStore:
    return IdentityStore(engine)


@pytest.fixture
def service(store: IdentityStore, hasher: PasswordHasher) -> IdentityService:
    return IdentityService(store, hasher)


def make(
    service: IdentityService,
    username: str,
    role: Role = Role.ADMIN,
    scope: Scope | None = None,
    home: str | None = COUNTY,
) -> User:
    scope = scope or Scope(region=COUNTY)
    spec = NewUser(username, username.title(), "sanke2026", role, scope)
    return service.create_user(Actor.cli(), spec, scope_target(scope, home), home, T0)


def test_login_opens_a_session_that_authenticates(service: IdentityService) -> None:
    made = make(service, "admin")
    login = service.login("Admin ", "sanke2026", T0, address="10.0.0.1")
    assert login.user == made
    assert service.authenticate(login.token, T0 + timedelta(minutes=5)) == made
    assert service.authenticate("forged-token", T0) is None


def test_wrong_password_and_unknown_account_fail_alike(service: IdentityService) -> None:
    make(service, "admin")
    with pytest.raises(InvalidCredentials) as wrong:
        service.login("admin", "sanke2027", T0)
    with pytest.raises(InvalidCredentials) as unknown:
        service.login("nobody", "sanke2026", T0)
    assert str(wrong.value) == str(unknown.value)


def test_five_failures_lock_the_account_name_even_if_it_does_not_exist(
    service: IdentityService,
) -> None:
    make(service, "admin")
    for name in ("admin", "ghost"):
        for n in range(5):
            with pytest.raises(InvalidCredentials):
                service.login(name, "wrong-1", T0 + timedelta(seconds=n), address=f"a-{name}-{n}")
        with pytest.raises(LoginThrottled) as locked:
            service.login(name, "sanke2026", T0 + timedelta(seconds=10), address="fresh")
        assert 0 < locked.value.retry_after <= 15 * 60
    assert service.login("admin", "sanke2026", T0 + timedelta(minutes=16)).user.username == "admin"


def test_fifty_failures_from_one_address_lock_that_address(service: IdentityService) -> None:
    make(service, "admin")
    for n in range(50):
        with pytest.raises(InvalidCredentials):
            service.login(f"guess{n}", "wrong-1", T0, address="192.0.2.9")
    with pytest.raises(LoginThrottled):
        service.login("admin", "sanke2026", T0, address="192.0.2.9")
    assert service.login("admin", "sanke2026", T0, address="192.0.2.10")


def test_a_success_clears_the_account_count(service: IdentityService) -> None:
    make(service, "admin")
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            service.login("admin", "wrong-1", T0)
    service.login("admin", "sanke2026", T0)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            service.login("admin", "wrong-1", T0)
    service.login("admin", "sanke2026", T0)


def test_every_login_attempt_is_audited(service: IdentityService) -> None:
    admin = make(service, "admin")
    with pytest.raises(InvalidCredentials):
        service.login("admin", "nope-1234", T0, address="10.1.1.1")
    service.login("admin", "sanke2026", T0, address="10.1.1.1")
    entries = service.audit_visible_to(admin.principal())
    logins = [e for e in entries if e.action == "login"]
    assert [(e.outcome, e.address) for e in logins] == [
        (Outcome.SUCCESS, "10.1.1.1"),
        (Outcome.FAILURE, "10.1.1.1"),
    ]
    created = [e for e in entries if e.action == "user.create"]
    assert created[0].actor == "cli" and created[0].outcome is Outcome.SUCCESS


def test_totp_enrolment_then_login_needs_a_fresh_code(service: IdentityService) -> None:
    admin = make(service, "admin")
    actor = Actor(admin.principal(), "admin")
    with pytest.raises(CurrentPasswordWrong):
        service.begin_totp(actor, admin, "not-my-password", T0)
    secret, uri = service.begin_totp(actor, admin, "sanke2026", T0)
    assert secret in uri
    with pytest.raises(InvalidTotpCode):
        service.confirm_totp(actor, admin, "000000", T0)
    service.confirm_totp(actor, admin, totp.code_at(secret, totp.counter_at(T0.timestamp())), T0)

    later = T0 + timedelta(minutes=5)
    with pytest.raises(SecondFactorRequired):
        service.login("admin", "sanke2026", later)
    code = totp.code_at(secret, totp.counter_at(later.timestamp()))
    with pytest.raises(InvalidCredentials):
        service.login("admin", "sanke2026", later, totp_code="123456" if code != "123456" else "1")
    assert service.login("admin", "sanke2026", later, totp_code=code).user.totp_enabled
    with pytest.raises(InvalidCredentials):  # the same code cannot be replayed
        service.login("admin", "sanke2026", later, totp_code=code)


def test_sessions_end_when_idle_too_long_or_logged_out(service: IdentityService) -> None:
    make(service, "admin")
    make(service, "tp-room", Role.RECEIVING_CLASSROOM, Scope(school="tp-a"), SHIMEN)
    person = service.login("admin", "sanke2026", T0).token
    device = service.login("tp-room", "sanke2026", T0).token
    api = service.login("admin", "sanke2026", T0, kind=SessionKind.API).token
    nine_hours = T0 + timedelta(hours=9)
    assert service.authenticate(person, nine_hours) is None
    assert service.authenticate(device, nine_hours) is not None  # a kiosk stays signed in
    assert service.authenticate(api, T0 + timedelta(hours=11)) is not None
    assert service.authenticate(api, T0 + timedelta(hours=13)) is None
    fresh = service.login("admin", "sanke2026", nine_hours).token
    service.logout(fresh, nine_hours, address="10.2.2.2")
    assert service.authenticate(fresh, nine_hours) is None
    admin = service.login("admin", "sanke2026", nine_hours).user
    logouts = [e for e in service.audit_visible_to(admin.principal()) if e.action == "logout"]
    assert [(e.actor, e.address) for e in logouts] == [("admin", "10.2.2.2")]


def test_activity_keeps_a_session_alive(service: IdentityService) -> None:
    make(service, "admin")
    token = service.login("admin", "sanke2026", T0).token
    for hour in range(1, 7):
        assert service.authenticate(token, T0 + timedelta(hours=hour * 1.5)) is not None


def test_changing_the_password_ends_every_session(service: IdentityService) -> None:
    admin = make(service, "admin")
    token = service.login("admin", "sanke2026", T0).token
    actor = Actor(admin.principal(), "admin")
    with pytest.raises(CurrentPasswordWrong):
        service.change_password(actor, admin, "wrong-current-1", "new-pass-2026", T0)
    assert service.authenticate(token, T0) is not None
    service.change_password(actor, admin, "sanke2026", "new-pass-2026", T0)
    assert service.authenticate(token, T0) is None
    with pytest.raises(WeakPassword):
        service.change_password(actor, admin, "new-pass-2026", "short", T0)
    assert service.login("admin", "new-pass-2026", T0)


def test_account_rules(service: IdentityService) -> None:
    make(service, "admin")
    with pytest.raises(UserExists):
        make(service, "admin")
    with pytest.raises(InvalidUser) as bad_name:
        make(service, "Admin With Spaces")
    assert bad_name.value.field == "username"
    with pytest.raises(InvalidUser) as wrong_scope:
        make(service, "teacher1", Role.TEACHER, Scope(region=COUNTY))
    assert wrong_scope.value.field == "scope"


def test_a_school_admin_may_create_teachers_of_its_school_only(service: IdentityService) -> None:
    school_admin = make(
        service, "shimen.admin", Role.SCHOOL_ADMIN, Scope(school="cs-shimen"), SHIMEN
    )
    actor = Actor(school_admin.principal(), "shimen.admin")
    own = Scope(school="cs-shimen")
    spec = NewUser("teacher1", "王晓燕", "sanke2026", Role.TEACHER, own)
    created = service.create_user(actor, spec, scope_target(own, SHIMEN), SHIMEN, T0)
    assert created.scope == own
    other = Scope(school="cs-liuhe")
    with pytest.raises(NotAllowed) as denied:
        service.create_user(
            actor,
            NewUser("teacher2", "刘芳", "sanke2026", Role.TEACHER, other),
            scope_target(other, "349921102"),
            "349921102",
            T0,
        )
    assert denied.value.reason == "scope"
    principal = Principal(1, "x", Role.ADMIN, Scope(region=COUNTY))
    denied_entries = [e for e in service.audit_visible_to(principal) if e.outcome is Outcome.DENIED]
    assert denied_entries and denied_entries[0].target == "user:teacher2"


def test_users_are_listed_within_the_readers_scope(service: IdentityService) -> None:
    admin = make(service, "admin")
    make(service, "t.shimen", Role.TEACHER, Scope(school="cs-shimen"), SHIMEN)
    make(service, "t.far", Role.TEACHER, Scope(school="cs-far"), "349922101")
    sa = make(service, "sa.shimen", Role.SCHOOL_ADMIN, Scope(school="cs-shimen"), SHIMEN)
    assert [u.username for u in service.users_visible_to(admin.principal())] == [
        "admin",
        "sa.shimen",
        "t.shimen",
    ]
    assert [u.username for u in service.users_visible_to(sa.principal())] == [
        "sa.shimen",
        "t.shimen",
    ]


def test_purge_drops_dead_sessions_and_stale_failure_counts(service: IdentityService) -> None:
    make(service, "admin")
    old = service.login("admin", "sanke2026", T0).token
    with pytest.raises(InvalidCredentials):
        service.login("admin", "wrong-2026", T0)
    later = T0 + timedelta(days=200)
    fresh = service.login("admin", "sanke2026", later).token
    assert service.purge(later) == 1  # the old session; the fresh login reset the counts
    assert service.purge(later) == 0
    assert service.purge(later + timedelta(hours=1)) == 1  # the address count, now stale
    assert service.authenticate(fresh, later) is not None
    assert service.authenticate(old, later) is None


def test_re_enrolling_keeps_the_old_second_factor_until_the_new_one_is_confirmed(
    service: IdentityService,
) -> None:
    admin = make(service, "admin")
    actor = Actor(admin.principal(), "admin")
    first, _ = service.begin_totp(actor, admin, "sanke2026", T0)
    service.confirm_totp(actor, admin, totp.code_at(first, totp.counter_at(T0.timestamp())), T0)
    service.begin_totp(actor, admin, "sanke2026", T0)  # started, never confirmed
    later = T0 + timedelta(minutes=10)
    with pytest.raises(SecondFactorRequired):
        service.login("admin", "sanke2026", later)
    code = totp.code_at(first, totp.counter_at(later.timestamp()))
    assert service.login("admin", "sanke2026", later, totp_code=code)


def test_parallel_guesses_get_at_most_the_allowed_password_checks(
    store: IdentityStore, hasher: PasswordHasher
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    checks = []

    class CountingHasher(PasswordHasher):
        def verify(self, stored: str | None, password: str) -> bool:
            checks.append(password)
            return super().verify(stored, password)

    service = IdentityService(store, CountingHasher(time_cost=1, memory_cost=1024))
    make(service, "admin")

    def guess(n: int) -> str:
        try:
            service.login("admin", f"guess-{n}-x", T0, address=f"10.9.0.{n}")
        except LoginThrottled:
            return "throttled"
        except InvalidCredentials:
            return "wrong"
        return "in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(guess, range(40)))
    assert outcomes.count("wrong") == 5 and outcomes.count("throttled") == 35
    assert len(checks) == 5


def test_a_totp_code_raced_from_two_places_works_once(service: IdentityService) -> None:
    from concurrent.futures import ThreadPoolExecutor

    admin = make(service, "admin")
    actor = Actor(admin.principal(), "admin")
    secret, _ = service.begin_totp(actor, admin, "sanke2026", T0)
    service.confirm_totp(actor, admin, totp.code_at(secret, totp.counter_at(T0.timestamp())), T0)
    later = T0 + timedelta(minutes=5)
    code = totp.code_at(secret, totp.counter_at(later.timestamp()))

    def attempt(n: int) -> bool:
        try:
            service.login("admin", "sanke2026", later, totp_code=code, address=f"10.8.0.{n}")
        except (InvalidCredentials, LoginThrottled):
            return False
        return True

    with ThreadPoolExecutor(6) as pool:
        assert sum(pool.map(attempt, range(6))) == 1


def test_a_locked_address_does_not_spill_onto_the_accounts_tried_from_it(
    service: IdentityService,
) -> None:
    """A school behind one NAT locks its address; a teacher there is not locked out at home."""
    make(service, "alice", Role.TEACHER, Scope(school="cs-shimen"), SHIMEN)
    for n in range(50):
        with pytest.raises(InvalidCredentials):
            service.login(f"typo{n}", "wrong-2026", T0, address="203.0.113.5")
    for _ in range(10):
        with pytest.raises(LoginThrottled):
            service.login("alice", "sanke2026", T0, address="203.0.113.5")
    assert service.login("alice", "sanke2026", T0, address="198.51.100.7")


def test_guessing_the_current_password_from_a_session_is_throttled(
    service: IdentityService,
) -> None:
    admin = make(service, "admin")
    actor = Actor(admin.principal(), "admin")
    for _ in range(5):
        with pytest.raises(CurrentPasswordWrong):
            service.change_password(actor, admin, "guess-2026", "taken-over-1", T0)
    with pytest.raises(LoginThrottled):
        service.change_password(actor, admin, "sanke2026", "taken-over-1", T0)
    with pytest.raises(LoginThrottled):
        service.login("admin", "sanke2026", T0)
